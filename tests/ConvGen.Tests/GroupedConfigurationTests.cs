using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using ConvGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests;

/// <summary>
/// Generated grouped kernels (<c>[Conv2D]</c> with <c>Groups</c>) against <see cref="ReferenceGrouped"/> (plain loops in double
/// precision, written from the definition) over random configurations: each is written as a [Conv2D] class, compiled through the
/// generator in memory, and run on random input sizes (odd ones, smaller than the window under Same, batch 1 to 3) at 16, 8 and 4
/// floats a vector: forward, ForwardRows and the three gradients. Groups of 1 to 17 channels and 1 to 17 filters (so every
/// vector block and single-filter tail runs at every width) and sometimes 32 to 40 filters (two vectors at a time), one channel per group (the depthwise kernels, with and without a
/// multiplier), an explicit Groups = 1, strides up to 3 and dilations up to 3 are among them.
/// </summary>
[Collection(ProcessWideSettings.Name)]
[Trait(WidthsForcedInProcess.Name, WidthsForcedInProcess.Value)]
public class GroupedConfigurationTests(ITestOutputHelper output)
{
    private const int Batches = 3, PerBatch = 30; // 90 configurations in all

    public static IEnumerable<object[]> BatchIndices() => Enumerable.Range(0, Batches).Select(i => new object[] { i });

    private static GroupedConfig RandomConfig(Random rng)
    {
        int[] groupChoices = [1, 2, 2, 3, 4, 4, 5, 8];
        int groups = groupChoices[rng.Next(groupChoices.Length)];
        // One channel per group (the depthwise kernels) now and then; otherwise 1 to 17 channels and filters a group, or now and
        // then 32 to 40 filters (two vectors of 16 at a time in the forward tiles).
        int channels = rng.Next(6) == 0 ? 1 : rng.Next(1, 18), filters = rng.Next(8) == 0 ? rng.Next(32, 41) : rng.Next(1, 18);
        return new GroupedConfig(
            KH: rng.Next(1, 6), KW: rng.Next(1, 6), C: groups * channels, F: groups * filters, G: groups,
            SH: rng.Next(1, 4), SW: rng.Next(1, 4), DH: rng.Next(1, 4), DW: rng.Next(1, 4), Same: rng.Next(2) == 0, UseBias: rng.Next(4) != 0);
    }

    private static string Source(IReadOnlyList<GroupedConfig> configs)
    {
        var sb = new StringBuilder("using ConvGen;\nnamespace GroupedConfigs;\n");
        for (int i = 0; i < configs.Count; i++)
        {
            var k = configs[i];
            sb.Append($"[Conv2D({k.KH}, {k.KW}, InputChannels = {k.C}, Filters = {k.F}, Groups = {k.G}, StrideHeight = {k.SH}, StrideWidth = {k.SW}, ")
              .Append($"DilationHeight = {k.DH}, DilationWidth = {k.DW}, Padding = Padding.{(k.Same ? "Same" : "Valid")}, UseBias = {(k.UseBias ? "true" : "false")})]\n")
              .Append($"public partial class Config{i};\n");
        }
        sb.Append("public static class Harness\n{\n");
        sb.Append("    public static void Forward(int config, float[] x, int n, int h, int w, float[] k, float[] b, float[] y)\n    {\n        switch (config)\n        {\n");
        for (int i = 0; i < configs.Count; i++) sb.Append($"            case {i}: Config{i}.Forward(x, n, h, w, k, b, y); break;\n");
        sb.Append("        }\n    }\n");
        sb.Append("    public static void ForwardRows(int config, float[] x, int n, int h, int w, float[] k, float[] b, float[] y, int r0, int r1)\n    {\n        switch (config)\n        {\n");
        for (int i = 0; i < configs.Count; i++) sb.Append($"            case {i}: Config{i}.ForwardRows(x, n, h, w, k, b, y, r0, r1); break;\n");
        sb.Append("        }\n    }\n");
        sb.Append("    public static void Backward(int config, float[] x, int n, int h, int w, float[] k, float[] g, float[] dx, float[] dk, float[] db)\n    {\n        switch (config)\n        {\n");
        for (int i = 0; i < configs.Count; i++) sb.Append($"            case {i}: Config{i}.Backward(x, n, h, w, k, g, dx, dk, db); break;\n");
        sb.Append("        }\n    }\n");
        sb.Append("    public static ConvGen.Conv2DSpec Spec(int config) => config switch\n    {\n");
        for (int i = 0; i < configs.Count; i++) sb.Append($"        {i} => Config{i}.Spec,\n");
        sb.Append("        _ => default,\n    };\n");
        sb.Append("    public static ConvGen.Layer Layer(int config) => config switch\n    {\n");
        for (int i = 0; i < configs.Count; i++) sb.Append($"        {i} => new Config{i}(),\n");
        sb.Append("        _ => throw new System.ArgumentOutOfRangeException(nameof(config)),\n    };\n}\n");
        return sb.ToString();
    }

    [Theory]
    [MemberData(nameof(BatchIndices))]
    public void Generated_grouped_kernels_match_the_reference(int batchIndex)
    {
        var rng = new Random(20261206 + batchIndex);
        var configs = Enumerable.Range(0, PerBatch).Select(_ => RandomConfig(rng)).ToList();
        var assembly = InMemoryGenerator.CompileAndLoad(Source(configs), $"GroupedConfigs{batchIndex}");
        var harness = assembly.GetType("GroupedConfigs.Harness")!;
        var forward = harness.GetMethod("Forward")!.CreateDelegate<ForwardFn>();
        var rows = harness.GetMethod("ForwardRows")!.CreateDelegate<ForwardRowsFn>();
        var backward = harness.GetMethod("Backward")!.CreateDelegate<BackwardFn>();
        var spec = harness.GetMethod("Spec")!.CreateDelegate<Func<int, Conv2DSpec>>();

        int checkedCases = 0, depthwise = 0, vectorBlocks = 0, pairs = 0, rowBlocks = 0;
        for (int i = 0; i < configs.Count; i++)
        {
            var k = configs[i];
            Assert.Equal(new Conv2DSpec(k.KH, k.KW, k.C, k.F, k.SH, k.SW, k.DH, k.DW, k.Same ? Padding.Same : Padding.Valid, k.UseBias, Activation.None, k.G), spec(i));
            Assert.Equal(k.WeightCount, spec(i).WeightCount);
            if (k.GroupChannels == 1 && k.G > 1) depthwise++;
            if (k.GroupFilters >= 4 && k.GroupChannels > 1) vectorBlocks++;
            if (k.GroupFilters >= 32 && k.GroupChannels > 1) pairs++;
            for (int trial = 0; trial < 2; trial++)
            {
                int eh = (k.KH - 1) * k.DH + 1, ew = (k.KW - 1) * k.DW + 1;
                int n = rng.Next(1, 4);
                int h = k.Same ? rng.Next(1, eh + 9) : eh + rng.Next(0, 9);
                int w = k.Same ? rng.Next(1, ew + 12) : ew + rng.Next(0, 12);
                var (oh, ow, _, _) = k.Geometry(h, w);
                var x = RandomConfigurationTests.RandomArray(rng, n * h * w * k.C);
                var wt = RandomConfigurationTests.RandomArray(rng, k.WeightCount);
                // Without a bias of its own, the second trial gives the kernel one anyway (as a folded BatchNormalization does).
                var b = k.UseBias || trial == 1 ? RandomConfigurationTests.RandomArray(rng, k.F) : [];
                var g = RandomConfigurationTests.RandomArray(rng, n * oh * ow * k.F);
                var expected = ToFloat(ReferenceGrouped.Forward(k, ToDouble(x), n, h, w, ToDouble(wt), ToDouble(b)));
                var (rdx, rdk, rdb) = ReferenceGrouped.Backward(k, ToDouble(x), n, h, w, ToDouble(wt), ToDouble(g));
                int r0 = rng.Next(0, oh + 1), r1 = rng.Next(r0, oh + 1);
                // The weight gradient sweeps blocks of output rows whose gradient fits in 16 KB: more than one here?
                if (k.GroupChannels > 1 && oh > Math.Max(1, 16384 / (ow * k.F * sizeof(float)))) rowBlocks++;
                float[]? wide = null;
                foreach (int lanes in new[] { 16, 8, 4 })
                {
                    using var width = new LanesScope(lanes);
                    string where = $"config {i} {k} on n={n} h={h} w={w} at {lanes} floats a vector";

                    var y = new float[n * oh * ow * k.F];
                    y.AsSpan().Fill(float.NaN); // every output must be written
                    forward(i, x, n, h, w, wt, b, y);
                    RandomConfigurationTests.AssertClose(expected, y, k.KH * k.KW * k.GroupChannels, "forward " + where);
                    if (wide is null) wide = y;
                    else RandomConfigurationTests.AssertClose(wide, y, k.KH * k.KW * k.GroupChannels, "forward at 16 floats against " + where);

                    // Rows [r0, r1) of every sample only: the others keep their NaN.
                    var part = new float[y.Length];
                    part.AsSpan().Fill(float.NaN);
                    rows(i, x, n, h, w, wt, b, part, r0, r1);
                    for (int e = 0; e < part.Length; e++)
                    {
                        int row = e / (ow * k.F) % oh;
                        if (row >= r0 && row < r1) Assert.Equal(y[e], part[e]);
                        else Assert.True(float.IsNaN(part[e]), $"rows [{r0}, {r1}) wrote row {row}: {where}");
                    }

                    // Gradients accumulate: start from a known non-zero value and subtract it again.
                    float[] dx = Filled(x.Length, 0.5f), dk = Filled(wt.Length, 0.25f), db = Filled(k.UseBias ? k.F : 0, -1f);
                    backward(i, x, n, h, w, wt, g, dx, dk, db);
                    RandomConfigurationTests.AssertClose(ToFloat(rdx), Shift(dx, -0.5f), k.KH * k.KW * k.GroupFilters, "input gradient " + where);
                    RandomConfigurationTests.AssertClose(ToFloat(rdk), Shift(dk, -0.25f), n * oh * ow, "weight gradient " + where);
                    RandomConfigurationTests.AssertClose(k.UseBias ? ToFloat(rdb) : [], Shift(db, 1f), n * oh * ow, "bias gradient " + where);
                    checkedCases++;
                }
            }
        }
        output.WriteLine($"{configs.Count} configurations ({depthwise} with one channel per group, {vectorBlocks} with 4 or more filters a group, {pairs} with 32 or more), {checkedCases} cases at 16, 8 and 4 floats a vector, {rowBlocks} sizes whose weight gradient runs in several blocks of rows");
        Assert.True(depthwise > 0 && vectorBlocks > 0 && pairs > 0 && rowBlocks > 0, "the draw missed a family of configurations");
    }

    /// <summary>
    /// A grouped [Conv2D] class as a layer: its kernel is [KH, KW, C/G, F] with Keras' Glorot fans (in = KH * KW * C/G,
    /// out = KH * KW * F), and Forward and Backward on the model core equal the static kernels.
    /// </summary>
    [Fact]
    public void A_grouped_layer_has_the_grouped_kernel_shape_and_Keras_fans()
    {
        var k = new GroupedConfig(3, 3, 16, 32, 4, 1, 1, 1, 1, Same: true, UseBias: true);
        var assembly = InMemoryGenerator.CompileAndLoad(Source([k]), "GroupedLayer");
        var harness = assembly.GetType("GroupedConfigs.Harness")!;
        var created = (Layer)harness.GetMethod("Layer")!.Invoke(null, [0])!;
        var model = new Sequential(created).Build(new Shape(6, 5, 16), seed: 3);
        var kernel = model.NamedParameters().First(p => p.Name.EndsWith("kernel", StringComparison.Ordinal)).Tensor;
        Assert.Equal(new Shape(3, 3, 4, 32), kernel.Shape);
        float limit = MathF.Sqrt(6f / (9 * 4 + 9 * 32)), largest = 0;
        foreach (float v in kernel.Span) largest = Math.Max(largest, Math.Abs(v));
        Assert.True(largest <= limit && largest > 0.9f * limit, $"largest |w| {largest}, Glorot limit {limit}");

        // The layer on the model core equals the static kernels it wraps.
        var forward = harness.GetMethod("Forward")!.CreateDelegate<ForwardFn>();
        var rng = new Random(5);
        var x = new Tensor(new Shape(2, 6, 5, 16));
        RandomConfigurationTests.RandomArray(rng, x.Length).CopyTo(x.Span);
        var weights = kernel.Span.ToArray();
        var bias = model.NamedParameters().First(p => p.Name.EndsWith("bias", StringComparison.Ordinal)).Tensor.Span.ToArray();
        var expected = new float[2 * 6 * 5 * 32];
        forward(0, x.Span.ToArray(), 2, 6, 5, weights, bias, expected);
        Assert.Equal(expected, model.Forward(x).Span.ToArray());
    }

    /// <summary>The reference is the definition: a dense convolution (<see cref="ReferenceConv"/>) with the block-diagonal kernel gives the same.</summary>
    [Fact]
    public void The_grouped_reference_equals_a_dense_convolution_with_a_block_diagonal_kernel()
    {
        var rng = new Random(11);
        for (int i = 0; i < 20; i++)
        {
            var k = RandomConfig(rng);
            int eh = (k.KH - 1) * k.DH + 1, ew = (k.KW - 1) * k.DW + 1;
            int n = rng.Next(1, 3), h = k.Same ? rng.Next(1, eh + 5) : eh + rng.Next(0, 5), w = k.Same ? rng.Next(1, ew + 5) : ew + rng.Next(0, 5);
            var dense = new ConvConfig(k.KH, k.KW, k.C, k.F, k.SH, k.SW, k.DH, k.DW, k.Same, k.UseBias);
            var (oh, ow, _, _) = k.Geometry(h, w);
            var x = ToDouble(RandomConfigurationTests.RandomArray(rng, n * h * w * k.C));
            var wt = ToDouble(RandomConfigurationTests.RandomArray(rng, k.WeightCount));
            var b = ToDouble(RandomConfigurationTests.RandomArray(rng, k.F));
            var g = ToDouble(RandomConfigurationTests.RandomArray(rng, n * oh * ow * k.F));
            var blocks = ReferenceGrouped.BlockDiagonal(k, wt);
            AssertEqual(ReferenceConv.Forward(dense, x, n, h, w, blocks, b), ReferenceGrouped.Forward(k, x, n, h, w, wt, b), $"forward {k}");
            var (dx, dwDense, db) = ReferenceConv.Backward(dense, x, n, h, w, blocks, g);
            var (gdx, gdw, gdb) = ReferenceGrouped.Backward(k, x, n, h, w, wt, g);
            AssertEqual(dx, gdx, $"input gradient {k}");
            AssertEqual(db, gdb, $"bias gradient {k}");
            // The grouped weight gradient is the dense one read at the block-diagonal positions.
            AssertEqual(ReferenceGrouped.BlockDiagonal(k, gdw), Masked(dwDense, ReferenceGrouped.BlockDiagonal(k, Ones(k.WeightCount))), $"weight gradient {k}");
        }

        static double[] Ones(int length) => Enumerable.Repeat(1.0, length).ToArray();
        static double[] Masked(double[] values, double[] mask) => values.Select((v, i) => mask[i] == 0 ? 0 : v).ToArray();
        static void AssertEqual(double[] expected, double[] actual, string what)
        {
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * (1 + Math.Abs(expected[i])), $"{what}: element {i} is {actual[i]}, expected {expected[i]}");
        }
    }

    private static double[] ToDouble(float[] values) => Array.ConvertAll(values, v => (double)v);

    private static float[] ToFloat(double[] values) => Array.ConvertAll(values, v => (float)v);

    private static float[] Filled(int length, float value)
    {
        var a = new float[length];
        Array.Fill(a, value);
        return a;
    }

    private static float[] Shift(float[] a, float by) => Array.ConvertAll(a, v => v + by);
}
