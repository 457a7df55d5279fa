using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using ConvGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests;

public delegate void TransposeRowsFn(int config, float[] x, int n, int h, int w, float[] k, float[] b, float[] y, int rowStart, int rowEnd);

/// <summary>
/// Generated transposed convolutions against <see cref="ReferenceTranspose"/> (scatter loops in double precision from the definition)
/// over random configurations: each is written as a [Conv2DTranspose] class, compiled through the generator in memory, and run on
/// random input sizes (odd ones, 1x1, batch 1 to 3) at 16, 8 and 4 floats a vector, through its static contract and as a layer of a
/// Sequential at 1 and 2 threads. Kernels 1 to 5 (some wider than the stride, some narrower), strides 1 to 4, dilations up to 3 with
/// a stride of 1 (Keras refuses both above 1), Valid and Same, channel and filter counts of 1, 3, 17, 33 and others.
/// </summary>
[Collection(ProcessWideSettings.Name)]
[Trait(WidthsForcedInProcess.Name, WidthsForcedInProcess.Value)]
public class TransposeConfigurationTests(ITestOutputHelper output)
{
    private const int Batches = 3, PerBatch = 30; // 90 configurations in all

    public static IEnumerable<object[]> BatchIndices() => Enumerable.Range(0, Batches).Select(i => new object[] { i });

    private static TransposeConfig RandomConfig(Random rng)
    {
        int[] channelChoices = [1, 3, 8, 17, 33];
        int Channels() => rng.Next(3) == 0 ? rng.Next(1, 41) : channelChoices[rng.Next(channelChoices.Length)];
        bool dilated = rng.Next(4) == 0;
        return new TransposeConfig(
            KH: rng.Next(1, 6), KW: rng.Next(1, 6), C: Channels(), F: Channels(),
            SH: dilated ? 1 : rng.Next(1, 5), SW: dilated ? 1 : rng.Next(1, 5), DH: dilated ? rng.Next(1, 4) : 1, DW: dilated ? rng.Next(1, 4) : 1,
            Same: rng.Next(2) == 0, UseBias: rng.Next(4) != 0);
    }

    private static string Source(string ns, IReadOnlyList<TransposeConfig> configs)
    {
        var sb = new StringBuilder($"using ConvGen;\nnamespace {ns};\n");
        for (int i = 0; i < configs.Count; i++)
        {
            var k = configs[i];
            sb.Append($"[Conv2DTranspose({k.KH}, {k.KW}, Filters = {k.F}, InputChannels = {k.C}, StrideHeight = {k.SH}, StrideWidth = {k.SW}, ")
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
        sb.Append("        }\n    }\n}\n");
        return sb.ToString();
    }

    /// <summary>Input sizes: small (1 to 9, so 1x1 and odd sizes come up), occasionally larger.</summary>
    private static int Size(Random rng) => rng.Next(5) == 0 ? rng.Next(10, 17) : rng.Next(1, 10);

    [Theory]
    [MemberData(nameof(BatchIndices))]
    public void Generated_transposed_kernels_match_the_reference(int batchIndex)
    {
        var rng = new Random(20261206 + batchIndex);
        var configs = Enumerable.Range(0, PerBatch).Select(_ => RandomConfig(rng)).ToList();
        var assembly = InMemoryGenerator.CompileAndLoad(Source("TransposeConfigs", configs), $"TransposeConfigs{batchIndex}");
        var harness = assembly.GetType("TransposeConfigs.Harness")!;
        var forward = harness.GetMethod("Forward")!.CreateDelegate<ForwardFn>();
        var rows = harness.GetMethod("ForwardRows")!.CreateDelegate<TransposeRowsFn>();
        var backward = harness.GetMethod("Backward")!.CreateDelegate<BackwardFn>();

        int checkedCases = 0, dilated = 0, strideAboveKernel = 0;
        for (int i = 0; i < configs.Count; i++)
        {
            var k = configs[i];
            if (k.DH > 1 || k.DW > 1) dilated++;
            if (k.SH > k.KH || k.SW > k.KW) strideAboveKernel++;
            for (int trial = 0; trial < 2; trial++)
            {
                int n = rng.Next(1, 4), h = Size(rng), w = Size(rng);
                var (oh, ow, _, _) = k.Geometry(h, w);
                var x = RandomConfigurationTests.RandomArray(rng, n * h * w * k.C);
                var wt = RandomConfigurationTests.RandomArray(rng, k.KH * k.KW * k.F * k.C);
                var b = k.UseBias ? RandomConfigurationTests.RandomArray(rng, k.F) : [];
                var g = RandomConfigurationTests.RandomArray(rng, n * oh * ow * k.F);
                var expected = ToFloat(ReferenceTranspose.Forward(k, ToDouble(x), n, h, w, ToDouble(wt), ToDouble(b)));
                var (rdx, rdk, rdb) = ReferenceTranspose.Backward(k, ToDouble(x), n, h, w, ToDouble(wt), ToDouble(g));
                int r0 = rng.Next(0, oh + 1), r1 = rng.Next(r0, oh + 1);
                foreach (int lanes in new[] { 16, 8, 4 })
                {
                    using var width = new LanesScope(lanes);
                    string where = $"config {i} {k} on n={n} h={h} w={w} at {lanes} floats a vector";

                    var y = new float[n * oh * ow * k.F];
                    y.AsSpan().Fill(float.NaN); // every output must be written
                    forward(i, x, n, h, w, wt, b, y);
                    RandomConfigurationTests.AssertClose(expected, y, k.KH * k.KW * k.C, "forward " + where);

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
                    float[] dx = Filled(x.Length, 0.5f), dk = Filled(wt.Length, 0.25f), db = Filled(b.Length, -1f);
                    backward(i, x, n, h, w, wt, g, dx, dk, db);
                    RandomConfigurationTests.AssertClose(ToFloat(rdx), Shift(dx, -0.5f), k.KH * k.KW * k.F, "input gradient " + where);
                    RandomConfigurationTests.AssertClose(ToFloat(rdk), Shift(dk, -0.25f), n * h * w, "weight gradient " + where);
                    RandomConfigurationTests.AssertClose(k.UseBias ? ToFloat(rdb) : [], Shift(db, 1f), n * oh * ow, "bias gradient " + where);
                    checkedCases++;
                }
            }
        }
        output.WriteLine($"{configs.Count} configurations ({dilated} dilated, {strideAboveKernel} with a stride above the kernel), {checkedCases} cases at 16, 8 and 4 floats a vector");
        Assert.True(dilated > 0 && strideAboveKernel > 0, "the draw missed a family of configurations");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Generated_transposed_layers_match_the_reference_at_1_and_2_threads(int batchIndex)
    {
        var rng = new Random(61205 + batchIndex);
        var configs = Enumerable.Range(0, 15).Select(_ => RandomConfig(rng)).ToList();
        var assembly = InMemoryGenerator.CompileAndLoad(Source("TransposeLayers", configs), $"TransposeLayers{batchIndex}");
        int cases = 0;
        for (int i = 0; i < configs.Count; i++)
        {
            var k = configs[i];
            var type = assembly.GetType($"TransposeLayers.Config{i}")!;
            int n = rng.Next(1, 4), h = Size(rng), w = Size(rng);
            var (oh, ow, _, _) = k.Geometry(h, w);
            var x = RandomConfigurationTests.RandomArray(rng, n * h * w * k.C);
            var g = RandomConfigurationTests.RandomArray(rng, n * oh * ow * k.F);
            foreach (var (lanes, threads) in new[] { (16, 1), (8, 2), (4, 2) })
            {
                using var width = new LanesScope(lanes);
                using var scope = new ThreadScope(threads);
                string where = $"config {i} {k} on n={n} h={h} w={w}, {lanes} floats, {threads} threads";
                var layer = (Layer)Activator.CreateInstance(type)!;
                Assert.Equal("conv2d_transpose", layer.Name);
                var model = new Sequential(layer).Build(new Shape(h, w, k.C), seed: i);
                Assert.Equal(new Shape(oh, ow, k.F), model.OutputShape);
                Assert.Equal("kernel", model.NamedParameters().First().Name.Split('/').Last());
                Assert.Equal(new Shape(k.KH, k.KW, k.F, k.C), model.Parameters[0].Value.Shape);
                var weights = model.Parameters[0].Value.ToArray();
                var bias = k.UseBias ? RandomConfigurationTests.RandomArray(new Random(i), k.F) : [];
                if (k.UseBias) bias.CopyTo(model.Parameters[1].Value.Span); // the bias starts at zero; give it values so that it is checked

                var expected = ToFloat(ReferenceTranspose.Forward(k, ToDouble(x), n, h, w, ToDouble(weights), ToDouble(bias)));
                var y = model.Forward(new Tensor(new Shape(n, h, w, k.C), x), training: true).ToArray();
                RandomConfigurationTests.AssertClose(expected, y, k.KH * k.KW * k.C, "forward " + where);

                var (rdx, rdk, rdb) = ReferenceTranspose.Backward(k, ToDouble(x), n, h, w, ToDouble(weights), ToDouble(g));
                var dx = new Tensor(new Shape(n, h, w, k.C));
                model.ZeroGradients();
                model.Backward(new Tensor(new Shape(n, oh, ow, k.F), g), dx);
                RandomConfigurationTests.AssertClose(ToFloat(rdx), dx.ToArray(), k.KH * k.KW * k.F, "input gradient " + where);
                RandomConfigurationTests.AssertClose(ToFloat(rdk), model.Parameters[0].Gradient.ToArray(), n * h * w, "kernel gradient " + where);
                if (k.UseBias) RandomConfigurationTests.AssertClose(ToFloat(rdb), model.Parameters[1].Gradient.ToArray(), n * oh * ow, "bias gradient " + where);
                cases++;
            }
        }
        output.WriteLine($"{configs.Count} configurations as layers, {cases} cases");
    }

    /// <summary>
    /// The reference itself, against the definition from the other side: a transposed convolution is the input gradient of the
    /// convolution (<see cref="ReferenceConv"/>, TF 'same' padding) with the same weights read as HWIO <c>[KH, KW, F, C]</c>, run on
    /// an image of the transposed output's size, which that convolution maps back to the transposed input's size.
    /// </summary>
    [Fact]
    public void The_reference_is_the_input_gradient_of_the_convolution_with_the_same_weights()
    {
        var rng = new Random(7);
        for (int trial = 0; trial < 200; trial++)
        {
            var k = RandomConfig(rng) with { UseBias = false };
            int n = rng.Next(1, 3), h = Size(rng), w = Size(rng);
            var (oh, ow, _, _) = k.Geometry(h, w);
            var conv = k.Convolution;
            Assert.Equal((h, w), (conv.Geometry(oh, ow).OutH, conv.Geometry(oh, ow).OutW));
            var x = ToDouble(RandomConfigurationTests.RandomArray(rng, n * h * w * k.C));
            var wt = ToDouble(RandomConfigurationTests.RandomArray(rng, k.KH * k.KW * k.F * k.C));
            var transposed = ReferenceTranspose.Forward(k, x, n, h, w, wt, []);
            var (gradient, _, _) = ReferenceConv.Backward(conv, new double[n * oh * ow * k.F], n, oh, ow, wt, x);
            for (int i = 0; i < transposed.Length; i++)
                Assert.True(Math.Abs(transposed[i] - gradient[i]) <= 1e-12 * (1 + Math.Abs(gradient[i])), $"{k} on {h}x{w}: element {i}");
        }
    }

    /// <summary>Keras' output sizes (compute_conv_transpose_output_shape) and TF's cropping, on cases worked by hand.</summary>
    [Theory]
    [InlineData(4, 3, 2, 1, false, 9, 0)]  // (4 - 1) * 2 + 3
    [InlineData(3, 2, 3, 1, false, 9, 0)]  // stride above the kernel: (3 - 1) * 3 + max(2, 3)
    [InlineData(4, 3, 2, 1, true, 8, 0)]   // 4 * 2; max(3 - 2, 0) / 2 = 0 cropped before (the odd one after)
    [InlineData(4, 4, 2, 1, true, 8, 1)]   // max(4 - 2, 0) / 2 = 1
    [InlineData(5, 5, 1, 1, true, 5, 2)]
    [InlineData(5, 3, 1, 2, true, 5, 2)]   // dilated: extent 5
    [InlineData(5, 3, 1, 2, false, 9, 0)]  // (5 - 1) + 5
    [InlineData(1, 1, 4, 1, false, 4, 0)]  // max(1, 4)
    public void Output_sizes_and_cropping_are_Keras(int input, int kernel, int stride, int dilation, bool same, int expectedOutput, int expectedCrop)
    {
        var k = new TransposeConfig(kernel, kernel, 1, 1, stride, stride, dilation, dilation, same, false);
        Assert.Equal((expectedOutput, expectedOutput, expectedCrop, expectedCrop), k.Geometry(input, input));
        Assert.Equal(expectedOutput, ConvGen.Internal.Geometry.TransposedOutputSize(input, kernel, stride, dilation, same));
        Assert.Equal(expectedCrop, ConvGen.Internal.Geometry.TransposedPaddingBefore(kernel, stride, dilation, same));
    }

    [Fact]
    public void The_static_contract_checks_every_span_and_size()
    {
        // Spans cannot go through reflection: a small compiled shim calls the class.
        var call = InMemoryGenerator.CompileAndLoad("""
            using System;
            using ConvGen;
            namespace TransposeContract;
            [Conv2DTranspose(3, 3, Filters = 8, InputChannels = 16, Stride = 2, Padding = Padding.Same)]
            public partial class Up;
            public static class Call
            {
                public static void Forward(float[] x, int h, float[] k, float[] b, float[] y) => Up.Forward(x, 1, h, 7, k, b, y);
                public static void BackwardInput(float[] k, float[] g, float[] dx) => Up.BackwardInput(1, 5, 7, k, g, dx);
                public static int Height(int h) => Up.OutputHeight(h);
                public static int Width(int w) => Up.OutputWidth(w);
            }
            """, "TransposeContract").GetType("TransposeContract.Call")!;
        var forward = call.GetMethod("Forward")!.CreateDelegate<Action<float[], int, float[], float[], float[]>>();
        var backwardInput = call.GetMethod("BackwardInput")!.CreateDelegate<Action<float[], float[], float[]>>();
        var height = call.GetMethod("Height")!.CreateDelegate<Func<int, int>>();
        var width = call.GetMethod("Width")!.CreateDelegate<Func<int, int>>();
        Assert.Equal(10, height(5));
        Assert.Equal(14, width(7));
        float[] x = new float[5 * 7 * 16], k = new float[3 * 3 * 8 * 16], b = new float[8], y = new float[10 * 14 * 8];
        forward(x, 5, k, b, y);

        var e = Assert.Throws<ArgumentException>(() => forward(x, 5, new float[k.Length - 1], b, y));
        Assert.Equal("weights", e.ParamName);
        Assert.Contains("[KernelHeight, KernelWidth, Filters, InputChannels] = [3, 3, 8, 16] = 1152", e.Message);
        Assert.Contains("1151", e.Message);
        e = Assert.Throws<ArgumentException>(() => forward(x, 5, k, b, new float[y.Length + 1]));
        Assert.Equal("output", e.ParamName);
        Assert.Contains("[batch, outputHeight, outputWidth, Filters] = [1, 10, 14, 8] = 1120", e.Message);
        e = Assert.Throws<ArgumentException>(() => forward(x, 5, k, new float[7], y));
        Assert.Equal("bias", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => forward(new float[x.Length - 16], 5, k, b, y));
        Assert.Equal("input", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => backwardInput(k, new float[y.Length], new float[x.Length - 1]));
        Assert.Equal("inputGradient", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => height(0));
        Assert.Equal("inputHeight", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => height(int.MaxValue / 2 + 1));
        Assert.Equal("inputHeight", e.ParamName);
        Assert.Contains("more than int.MaxValue", e.Message);
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
