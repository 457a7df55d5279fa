using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using ConvGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests;

/// <summary>
/// Generated depthwise kernels against <see cref="ReferenceDepthwise"/> (plain loops in double precision) over random
/// configurations: each is written as a [DepthwiseConv2D] class, compiled through the generator in memory, and run on random input
/// sizes (odd ones, smaller than the window under Same, batch 1 to 3) at 16, 8 and 4 floats a vector. Depth multipliers above 1,
/// windows of more than 64 taps (looped, not unrolled), strides and dilations up to 4 and 3 are among them.
/// </summary>
[Collection(ProcessWideSettings.Name)]
[Trait(WidthsForcedInProcess.Name, WidthsForcedInProcess.Value)]
public class DepthwiseConfigurationTests(ITestOutputHelper output)
{
    private const int Batches = 3, PerBatch = 40; // 120 configurations in all

    public static IEnumerable<object[]> BatchIndices() => Enumerable.Range(0, Batches).Select(i => new object[] { i });

    private static DepthwiseConfig RandomConfig(Random rng)
    {
        int[] channelChoices = [1, 3, 8, 17, 24, 33, 64];
        int channels = rng.Next(3) == 0 ? rng.Next(1, 41) : channelChoices[rng.Next(channelChoices.Length)];
        bool large = rng.Next(8) == 0; // 9x9 and up: more than 64 taps, looped
        return new DepthwiseConfig(
            KH: large ? rng.Next(9, 11) : rng.Next(1, 6), KW: large ? rng.Next(8, 11) : rng.Next(1, 6), C: channels, M: rng.Next(3) == 0 ? rng.Next(2, 5) : 1,
            SH: rng.Next(1, 5), SW: rng.Next(1, 5), DH: rng.Next(1, 4), DW: rng.Next(1, 4), Same: rng.Next(2) == 0, UseBias: rng.Next(4) != 0);
    }

    private static string Source(IReadOnlyList<DepthwiseConfig> configs)
    {
        var sb = new StringBuilder("using ConvGen;\nnamespace DepthwiseConfigs;\n");
        for (int i = 0; i < configs.Count; i++)
        {
            var k = configs[i];
            sb.Append($"[DepthwiseConv2D({k.KH}, {k.KW}, InputChannels = {k.C}, DepthMultiplier = {k.M}, StrideHeight = {k.SH}, StrideWidth = {k.SW}, ")
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
        sb.Append("    public static bool ForwardRowsActivated(int config, float[] x, int n, int h, int w, float[] k, float[] b, float[] y, int r0, int r1, Activation a)\n    {\n        switch (config)\n        {\n");
        for (int i = 0; i < configs.Count; i++) sb.Append($"            case {i}: return Config{i}.ForwardRowsActivated(x, n, h, w, k, b, y, r0, r1, a);\n");
        sb.Append("        }\n        return false;\n    }\n");
        sb.Append("    public static void Backward(int config, float[] x, int n, int h, int w, float[] k, float[] g, float[] dx, float[] dk, float[] db)\n    {\n        switch (config)\n        {\n");
        for (int i = 0; i < configs.Count; i++) sb.Append($"            case {i}: Config{i}.Backward(x, n, h, w, k, g, dx, dk, db); break;\n");
        sb.Append("        }\n    }\n}\n");
        return sb.ToString();
    }

    [Theory]
    [MemberData(nameof(BatchIndices))]
    public void Generated_depthwise_kernels_match_the_reference(int batchIndex)
    {
        var rng = new Random(20261205 + batchIndex);
        var configs = Enumerable.Range(0, PerBatch).Select(_ => RandomConfig(rng)).ToList();
        var assembly = InMemoryGenerator.CompileAndLoad(Source(configs), $"DepthwiseConfigs{batchIndex}");
        var harness = assembly.GetType("DepthwiseConfigs.Harness")!;
        var forward = harness.GetMethod("Forward")!.CreateDelegate<ForwardFn>();
        var rows = harness.GetMethod("ForwardRows")!.CreateDelegate<ForwardRowsFn>();
        var activated = harness.GetMethod("ForwardRowsActivated")!.CreateDelegate<ForwardActivatedFn>();
        var backward = harness.GetMethod("Backward")!.CreateDelegate<BackwardFn>();

        int checkedCases = 0, multipliers = 0, looped = 0;
        for (int i = 0; i < configs.Count; i++)
        {
            var k = configs[i];
            if (k.M > 1) multipliers++;
            if (k.KH * k.KW > 64) looped++;
            for (int trial = 0; trial < 2; trial++)
            {
                int eh = (k.KH - 1) * k.DH + 1, ew = (k.KW - 1) * k.DW + 1;
                int n = rng.Next(1, 4);
                int h = k.Same ? rng.Next(1, eh + 9) : eh + rng.Next(0, 9);
                int w = k.Same ? rng.Next(1, ew + 9) : ew + rng.Next(0, 9);
                var (oh, ow, _, _) = k.Geometry(h, w);
                int channels = k.C * k.M;
                var x = RandomConfigurationTests.RandomArray(rng, n * h * w * k.C);
                var wt = RandomConfigurationTests.RandomArray(rng, k.KH * k.KW * k.C * k.M);
                // Without a bias of its own, the second trial gives the kernel one anyway (as a folded BatchNormalization does).
                var b = k.UseBias || trial == 1 ? RandomConfigurationTests.RandomArray(rng, channels) : [];
                var g = RandomConfigurationTests.RandomArray(rng, n * oh * ow * channels);
                var expected = ToFloat(ReferenceDepthwise.Forward(k, ToDouble(x), n, h, w, ToDouble(wt), ToDouble(b)));
                var (rdx, rdk, rdb) = ReferenceDepthwise.Backward(k, ToDouble(x), n, h, w, ToDouble(wt), ToDouble(g));
                int r0 = rng.Next(0, oh + 1), r1 = rng.Next(r0, oh + 1);
                foreach (int lanes in new[] { 16, 8, 4 })
                {
                    using var width = new LanesScope(lanes);
                    string where = $"config {i} {k} on n={n} h={h} w={w} at {lanes} floats a vector";

                    var y = new float[n * oh * ow * channels];
                    y.AsSpan().Fill(float.NaN); // every output must be written
                    forward(i, x, n, h, w, wt, b, y);
                    RandomConfigurationTests.AssertClose(expected, y, k.KH * k.KW, "forward " + where);

                    // Rows [r0, r1) of every sample only: the others keep their NaN.
                    var part = new float[y.Length];
                    part.AsSpan().Fill(float.NaN);
                    rows(i, x, n, h, w, wt, b, part, r0, r1);
                    for (int e = 0; e < part.Length; e++)
                    {
                        int row = e / (ow * channels) % oh;
                        if (row >= r0 && row < r1) Assert.Equal(y[e], part[e]);
                        else Assert.True(float.IsNaN(part[e]), $"rows [{r0}, {r1}) wrote row {row}: {where}");
                    }

                    // The same rows with a folded ReLU or ReLU6 applied as they are stored: the plain outputs, activated; any other
                    // activation is refused with nothing written.
                    foreach (var activation in new[] { Activation.ReLU, Activation.ReLU6, Activation.Tanh })
                    {
                        part.AsSpan().Fill(float.NaN);
                        bool applied = activated(i, x, n, h, w, wt, b, part, r0, r1, activation);
                        Assert.Equal(activation != Activation.Tanh, applied);
                        for (int e = 0; e < part.Length; e++)
                        {
                            int row = e / (ow * channels) % oh;
                            if (applied && row >= r0 && row < r1) Assert.Equal(RandomConfigurationTests.Activated(activation, y[e]), part[e]);
                            else Assert.True(float.IsNaN(part[e]), $"{activation} rows [{r0}, {r1}) wrote row {row}: {where}");
                        }
                    }

                    // Gradients accumulate: start from a known non-zero value and subtract it again.
                    float[] dx = Filled(x.Length, 0.5f), dk = Filled(wt.Length, 0.25f), db = Filled(k.UseBias ? channels : 0, -1f);
                    backward(i, x, n, h, w, wt, g, dx, dk, db);
                    RandomConfigurationTests.AssertClose(ToFloat(rdx), Shift(dx, -0.5f), k.KH * k.KW * k.M, "input gradient " + where);
                    RandomConfigurationTests.AssertClose(ToFloat(rdk), Shift(dk, -0.25f), n * oh * ow, "weight gradient " + where);
                    RandomConfigurationTests.AssertClose(k.UseBias ? ToFloat(rdb) : [], Shift(db, 1f), n * oh * ow, "bias gradient " + where);
                    checkedCases++;
                }
            }
        }
        output.WriteLine($"{configs.Count} configurations ({multipliers} with a depth multiplier above 1, {looped} with looped taps), {checkedCases} cases at 16, 8 and 4 floats a vector");
        Assert.True(multipliers > 0 && looped > 0, "the draw missed a family of configurations");
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
