using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using System.Reflection;
using System.Text;
using ConvGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests;

public delegate void ForwardFn(int config, float[] x, int n, int h, int w, float[] k, float[] b, float[] y);

public delegate void ForwardRowsFn(int config, float[] x, int n, int h, int w, float[] k, float[] b, float[] y, int rowStart, int rowEnd);

public delegate bool ForwardActivatedFn(int config, float[] x, int n, int h, int w, float[] k, float[] b, float[] y, int rowStart, int rowEnd, Activation activation);

public delegate bool ForwardResidualFn(int config, float[] x, int n, int h, int w, float[] k, float[] b, float[] r, float[] y, int rowStart, int rowEnd, Activation activation);

public delegate void BackwardFn(int config, float[] x, int n, int h, int w, float[] k, float[] g, float[] dx, float[] dk, float[] db);

/// <summary>
/// Generated kernels against the plain-loop reference over hundreds of random configurations: each configuration is
/// written as a [Conv2D] class, compiled through the generator in memory, and run on two random input sizes at each vector
/// width the kernels have (16, 8 and 4 floats, forced with <c>Simd.Lanes</c>: 16 runs in software where AVX-512 is missing).
/// </summary>
[Collection(ProcessWideSettings.Name)]
[Trait(WidthsForcedInProcess.Name, WidthsForcedInProcess.Value)]
public class RandomConfigurationTests(ITestOutputHelper output)
{
    private const int Batches = 6, PerBatch = 40; // 240 configurations in all

    public static IEnumerable<object[]> BatchIndices() => Enumerable.Range(0, Batches).Select(i => new object[] { i });

    [Theory]
    [MemberData(nameof(BatchIndices))]
    public void Generated_kernels_match_the_reference(int batchIndex)
    {
        var rng = new Random(20261122 + batchIndex);
        var configs = Enumerable.Range(0, PerBatch).Select(_ => RandomConfig(rng)).ToList();
        var assembly = InMemoryGenerator.CompileAndLoad(Source(configs), $"RandomConfigs{batchIndex}");
        var harness = assembly.GetType("RandomConfigs.Harness")!;
        var forward = harness.GetMethod("Forward")!.CreateDelegate<ForwardFn>();
        var backward = harness.GetMethod("Backward")!.CreateDelegate<BackwardFn>();

        int checkedCases = 0;
        for (int i = 0; i < configs.Count; i++)
        {
            var k = configs[i];
            for (int trial = 0; trial < 2; trial++)
            {
                int eh = (k.KH - 1) * k.DH + 1, ew = (k.KW - 1) * k.DW + 1;
                int n = rng.Next(1, 4);
                // Same accepts any size (including smaller than the window); Valid needs at least the window.
                int h = k.Same ? rng.Next(1, eh + 9) : eh + rng.Next(0, 9);
                int w = k.Same ? rng.Next(1, ew + 9) : ew + rng.Next(0, 9);
                var (oh, ow, _, _) = k.Geometry(h, w);
                var x = RandomArray(rng, n * h * w * k.C);
                var wt = RandomArray(rng, k.KH * k.KW * k.C * k.F);
                // Without a bias of its own, the second trial gives the kernel one anyway (as a folded BatchNormalization does).
                var b = k.UseBias || trial == 1 ? RandomArray(rng, k.F) : [];
                var g = RandomArray(rng, n * oh * ow * k.F);
                var expected = ReferenceConv.Forward(k, x, n, h, w, wt, b);
                var (rdx, rdk, rdb) = ReferenceConv.Backward(k, x, n, h, w, wt, g);
                float[]? wide = null;
                foreach (int lanes in new[] { 16, 8, 4 })
                {
                    using var width = new LanesScope(lanes);
                    string where = $"config {i} {k} on n={n} h={h} w={w} at {lanes} floats a vector";

                    var y = new float[n * oh * ow * k.F];
                    y.AsSpan().Fill(float.NaN); // every output must be written
                    forward(i, x, n, h, w, wt, b, y);
                    AssertClose(expected, y, k.KH * k.KW * k.C, "forward " + where);
                    if (wide is null) wide = y;
                    else AssertClose(wide, y, k.KH * k.KW * k.C, "forward at 16 floats against " + where);

                    // Gradients accumulate: start from a known non-zero value and subtract it again.
                    float[] dx = Filled(x.Length, 0.5f), dk = Filled(wt.Length, 0.25f), db = Filled(k.UseBias ? k.F : 0, -1f);
                    backward(i, x, n, h, w, wt, g, dx, dk, db);
                    AssertClose(rdx, Shift(dx, -0.5f), k.KH * k.KW * k.F, "input gradient " + where);
                    AssertClose(rdk, Shift(dk, -0.25f), n * oh * ow, "weight gradient " + where);
                    AssertClose(rdb, Shift(db, 1f), n * oh * ow, "bias gradient " + where);
                    checkedCases++;
                }
            }
        }
        output.WriteLine($"{configs.Count} configurations, {checkedCases} cases at 16, 8 and 4 floats a vector (hardware: {ConvGen.Internal.Simd.HardwareLanes})");
    }

    /// <summary>
    /// A standalone kernel's rows, whose width it learns only at run time, run in 4-pixel tiles with what those would leave (1 to
    /// 3 pixels) as one 3-, 5- or 6-pixel tile (with 32 vector registers), after any 8- or 16-pixel tiles for few filters; the
    /// input gradient's rows in 8-, 4-, 2- and 1-pixel tiles: every output width from 1 to 24, for filter and channel counts
    /// that take each tile family (4 vectors and more, 2, 1, a remainder), strides 1 and 2, forward and input gradient checked
    /// against the reference at every vector width, every output written.
    /// </summary>
    [Fact]
    public void Rows_of_every_width_match_the_reference()
    {
        var rng = new Random(20261207);
        var configs = TileFamilies;
        var harness = InMemoryGenerator.CompileAndLoad(Source(configs), "RowWidthConfigs").GetType("RandomConfigs.Harness")!;
        var forward = harness.GetMethod("Forward")!.CreateDelegate<ForwardFn>();
        var residual = harness.GetMethod("ForwardRowsResidual")!.CreateDelegate<ForwardResidualFn>();
        var backward = harness.GetMethod("Backward")!.CreateDelegate<BackwardFn>();
        int widths = 0;
        for (int i = 0; i < configs.Length; i++)
        {
            var k = configs[i];
            int ew = k.KW;
            for (int w = k.Same ? 1 : ew; ; w++)
            {
                int n = 2, h = k.KH + 1;
                var (oh, ow, _, _) = k.Geometry(h, w);
                if (ow > 24) break;
                var x = RandomArray(rng, n * h * w * k.C);
                var wt = RandomArray(rng, k.KH * k.KW * k.C * k.F);
                var b = RandomArray(rng, k.F);
                var expected = ReferenceConv.Forward(k, x, n, h, w, wt, k.UseBias ? b : []);
                var g = RandomArray(rng, n * oh * ow * k.F);
                var (rdx, _, _) = ReferenceConv.Backward(k, x, n, h, w, wt, g);
                var r = RandomArray(rng, n * oh * ow * k.F);
                foreach (int lanes in new[] { 16, 8, 4 })
                {
                    using var width = new LanesScope(lanes);
                    string where = $"config {i} {k} on w={w} (output width {ow}) at {lanes} floats a vector";
                    var y = new float[n * oh * ow * k.F];
                    y.AsSpan().Fill(float.NaN); // every output must be written
                    forward(i, x, n, h, w, wt, k.UseBias ? b : [], y);
                    AssertClose(expected, y, k.KH * k.KW * k.C, "forward of " + where);
                    AssertResidualAdded(y, r, (into, activation) => residual(i, x, n, h, w, wt, k.UseBias ? b : [], r, into, 0, oh, activation),
                        ResidualActivations[w % 3], 0, oh, oh, ow * k.F, "residual forward of " + where);
                    float[] dx = Filled(x.Length, 0.5f), dk = new float[wt.Length], db = new float[k.UseBias ? k.F : 0];
                    backward(i, x, n, h, w, wt, g, dx, dk, db);
                    AssertClose(rdx, Shift(dx, -0.5f), k.KH * k.KW * k.F, "input gradient of " + where);
                }
                widths++;
            }
        }
        output.WriteLine($"{configs.Length} configurations, {widths} row widths at 16, 8 and 4 floats a vector");
    }

    /// <summary>Standalone kernels whose filter and channel counts take each tile family (4 vectors and more, 2, 1, a remainder), strides 1 and 2.</summary>
    private static readonly ConvConfig[] TileFamilies =
    [
        new(3, 3, 5, 64, 1, 1, 1, 1, Same: true, UseBias: true),
        new(5, 5, 3, 67, 1, 1, 1, 1, Same: true, UseBias: false),
        new(3, 3, 4, 32, 1, 1, 1, 1, Same: true, UseBias: true),
        new(3, 3, 2, 40, 2, 2, 1, 1, Same: true, UseBias: true),
        new(2, 3, 6, 16, 1, 1, 1, 1, Same: false, UseBias: true),
        new(3, 1, 7, 48, 1, 2, 1, 1, Same: false, UseBias: true),
        new(3, 3, 32, 64, 1, 1, 1, 1, Same: true, UseBias: true),
        new(3, 3, 16, 32, 2, 2, 1, 1, Same: true, UseBias: true),
        new(5, 5, 24, 20, 1, 1, 1, 1, Same: true, UseBias: false),
        new(3, 2, 40, 8, 1, 1, 1, 1, Same: false, UseBias: true),
    ];

    /// <summary>
    /// Every vector helper (<c>Simd.Load</c>, <c>Fma</c>, <c>Broadcast</c>, <c>Store</c>, ...) and epilogue a kernel calls is
    /// inlined: the JIT stops inlining in a method past its limits (locals, budget) and leaves the rest as calls. That ran the
    /// input gradient of MobileNetV2's 1x1 expansions from 24 to 96 channels with calls at every width, and the stride-2 layer's
    /// at 8 floats 2x slower, until every input-gradient tile of 3 pixels or more became a method of its own; and forward tiles
    /// whose rows of taps were unrolled (few channels: a 5x5 kernel on 3 channels with 67 filters at every width, with 16
    /// registers a 3x3 on 4 channels with 32 filters, a stride-2 3x3 on 2 with 40, a 5x5 on 24 with 20), and the weight
    /// gradient's tap with channels left over (a 2x7 kernel on 6 channels with 93 filters, 16 registers), until the generator
    /// held each method to a count of helper calls (InlinedCallBudget in the generator). The runtime's own inlining-failure
    /// events (<see cref="InliningFailures"/>), collected while fresh kernels compile: kernels of every tile family
    /// (<see cref="TileFamilies"/>, the layers above, 1x1 layers of 96 and 144 channels, a 5x5 32 -> 64, a first layer, and 12
    /// random ones with few channels) run forward and backward at 16, 8 and 4 floats, each on the widths that reach every
    /// tile. In this process's register count: CI runs it with AVX-512 and without (where 16 floats run in software, with more
    /// locals per helper).
    /// </summary>
    [Fact]
    public void Kernels_inline_every_vector_helper()
    {
        var rng = new Random(20261208);
        ConvConfig[] configs =
        [
            .. TileFamilies,
            new(5, 5, 32, 64, 1, 1, 1, 1, Same: true, UseBias: true),
            new(5, 5, 1, 32, 1, 1, 1, 1, Same: true, UseBias: true),
            new(1, 1, 24, 96, 1, 1, 1, 1, Same: true, UseBias: false),
            new(1, 1, 144, 24, 1, 1, 1, 1, Same: true, UseBias: false),
            new(1, 1, 96, 32, 1, 1, 1, 1, Same: true, UseBias: false),
            new(1, 1, 16, 64, 1, 1, 1, 1, Same: true, UseBias: true),
            new(2, 7, 6, 93, 1, 1, 1, 1, Same: true, UseBias: true),
            new(7, 5, 7, 69, 1, 1, 2, 2, Same: true, UseBias: true),
            .. Enumerable.Range(0, 12).Select(_ =>
            {
                int s = rng.Next(1, 3), d = s > 1 ? 1 : rng.Next(1, 3);
                return new ConvConfig(rng.Next(1, 8), rng.Next(1, 8), rng.Next(1, 9), rng.Next(1, 100), s, s, d, d, Same: d > 1 || rng.Next(2) == 0, UseBias: rng.Next(2) == 0);
            }),
        ];
        using var failures = new InliningFailures();
        var harness = InMemoryGenerator.CompileAndLoad(Source(configs), "InliningConfigs").GetType("RandomConfigs.Harness")!;
        var forward = harness.GetMethod("Forward")!.CreateDelegate<ForwardFn>();
        var backward = harness.GetMethod("Backward")!.CreateDelegate<BackwardFn>();
        for (int i = 0; i < configs.Length; i++)
        {
            var k = configs[i];
            foreach (int w in new[] { k.KW + 13, k.KW + 2 })
            {
                int n = 2, h = k.KH + 1;
                var (oh, ow, _, _) = k.Geometry(h, w);
                var x = RandomArray(rng, n * h * w * k.C);
                var wt = RandomArray(rng, k.KH * k.KW * k.C * k.F);
                var b = RandomArray(rng, k.F);
                var g = RandomArray(rng, n * oh * ow * k.F);
                foreach (int lanes in new[] { 16, 8, 4 })
                {
                    using var width = new LanesScope(lanes);
                    forward(i, x, n, h, w, wt, k.UseBias ? b : [], new float[n * oh * ow * k.F]);
                    backward(i, x, n, h, w, wt, g, new float[x.Length], new float[wt.Length], new float[k.UseBias ? k.F : 0]);
                }
            }
        }
        failures.Settle();
        // The vector helpers and the epilogues (what a tile applies as it stores) in any kernel; not the calls made once per pass (KernelScratch.Get, Geometry.Taps).
        var failed = failures.Where(f => f.Method.StartsWith("ConvGen.Generated.", StringComparison.Ordinal)
            && (f.Inlinee.StartsWith("ConvGen.Internal.Simd.", StringComparison.Ordinal) || f.Inlinee.Contains("Epilogue", StringComparison.Ordinal))).ToList();
        output.WriteLine($"{failures.Count} inlining failures in the process while the kernels compiled; {failed.Count} of a vector helper in a kernel");
        Assert.True(failed.Count == 0, "not inlined: " + string.Join("; ", failed.GroupBy(f => (Method: f.Method[(f.Method.IndexOf("__", StringComparison.Ordinal) + 2)..], f.Inlinee, f.Reason))
            .Take(8).Select(group => $"{group.Key.Inlinee} in {group.Key.Method} ({group.Key.Reason}) x{group.Count()}")));
    }

    /// <summary>
    /// The weight gradient sweeps each kernel row's taps over blocks of output rows whose gradient fits in 16 KB (at least one
    /// row): sizes the random configurations seldom reach, chosen so that a layer has several blocks, a last block shorter than
    /// the others, blocks of one row (a row of gradient over 16 KB), a block cut by a tap row's first and last rows (Same), stride
    /// 2, dilation, a channel count that is not a multiple of 4 (the one-channel tile; with 93 filters, a method of its own) and Valid; weight and bias gradients
    /// against the reference at every vector width.
    /// </summary>
    [Fact]
    public void Weight_gradients_over_blocks_of_output_rows_match_the_reference()
    {
        var rng = new Random(20261208);
        (ConvConfig Config, int H, int W, int BlockRows)[] cases =
        [
            (new(5, 5, 32, 64, 1, 1, 1, 1, Same: true, UseBias: true), 14, 14, 4),  // the tutorial's conv2: blocks of 4, 4, 4, 2
            (new(3, 3, 16, 32, 2, 2, 1, 1, Same: true, UseBias: true), 40, 32, 8),  // stride 2: 20 output rows in 8, 8, 4
            (new(3, 3, 5, 64, 1, 1, 1, 1, Same: false, UseBias: true), 6, 70, 1),   // 68 x 64 floats a row: one-row blocks; 5 channels
            (new(3, 2, 7, 48, 1, 1, 2, 1, Same: true, UseBias: false), 11, 30, 2),  // dilated rows, 7 channels, blocks of 2
            (new(2, 3, 6, 16, 1, 1, 1, 1, Same: false, UseBias: true), 60, 9, 36),  // Valid: 59 rows in 36 and 23
            (new(2, 7, 6, 93, 1, 1, 1, 1, Same: true, UseBias: true), 9, 11, 4),    // 2 channels left after the 4-channel tile, in a method of their own (many helper calls)
        ];
        var configs = cases.Select(c => c.Config).ToArray();
        var backward = InMemoryGenerator.CompileAndLoad(Source(configs), "RowBlockConfigs").GetType("RandomConfigs.Harness")!
            .GetMethod("Backward")!.CreateDelegate<BackwardFn>();
        for (int i = 0; i < cases.Length; i++)
        {
            var (k, h, w, blockRows) = cases[i];
            int n = 2;
            var (oh, ow, _, _) = k.Geometry(h, w);
            Assert.Equal(blockRows, Math.Max(1, 16384 / (ow * k.F * sizeof(float)))); // the case has the blocks its comment says
            var x = RandomArray(rng, n * h * w * k.C);
            var wt = RandomArray(rng, k.KH * k.KW * k.C * k.F);
            var g = RandomArray(rng, n * oh * ow * k.F);
            var (rdx, rdk, rdb) = ReferenceConv.Backward(k, x, n, h, w, wt, g);
            foreach (int lanes in new[] { 16, 8, 4 })
            {
                using var width = new LanesScope(lanes);
                string where = $"config {i} {k} on n={n} h={h} w={w} (blocks of {blockRows} of {oh} output rows) at {lanes} floats a vector";
                float[] dx = new float[x.Length], dk = Filled(wt.Length, 0.25f), db = Filled(k.UseBias ? k.F : 0, -1f);
                backward(i, x, n, h, w, wt, g, dx, dk, db);
                AssertClose(rdk, Shift(dk, -0.25f), n * oh * ow, "weight gradient " + where);
                AssertClose(rdb, Shift(db, 1f), n * oh * ow, "bias gradient " + where);
                AssertClose(rdx, dx, k.KH * k.KW * k.F, "input gradient " + where);
            }
        }
    }

    /// <summary>
    /// 1x1 kernels with stride 1 run as a matrix product over runs of pixels that cross row and sample ends (the whole batch
    /// when every row is asked for): random channel counts, sizes and batches, with and without a bias, each checked against
    /// the reference at every width, and rows [r0, r1) alone checked equal to the whole pass, the other rows untouched.
    /// </summary>
    [Fact]
    public void Pointwise_kernels_match_the_reference_across_rows_and_samples()
    {
        var rng = new Random(20261206);
        int[] channelChoices = [1, 3, 16, 17, 24, 33, 64, 96];
        int Channels() => rng.Next(3) == 0 ? rng.Next(1, 41) : channelChoices[rng.Next(channelChoices.Length)];
        var configs = Enumerable.Range(0, 40).Select(_ => new ConvConfig(1, 1, Channels(), Channels(), 1, 1, rng.Next(1, 3), rng.Next(1, 3),
            Same: rng.Next(2) == 0, UseBias: rng.Next(3) != 0)).ToList();
        var harness = InMemoryGenerator.CompileAndLoad(Source(configs), "PointwiseConfigs").GetType("RandomConfigs.Harness")!;
        var forward = harness.GetMethod("Forward")!.CreateDelegate<ForwardFn>();
        var rows = harness.GetMethod("ForwardRows")!.CreateDelegate<ForwardRowsFn>();
        var residual = harness.GetMethod("ForwardRowsResidual")!.CreateDelegate<ForwardResidualFn>();
        for (int i = 0; i < configs.Count; i++)
        {
            var k = configs[i];
            for (int trial = 0; trial < 2; trial++)
            {
                int n = rng.Next(1, 6), h = rng.Next(1, 10), w = rng.Next(1, 10);
                var x = RandomArray(rng, n * h * w * k.C);
                var wt = RandomArray(rng, k.C * k.F);
                var b = k.UseBias || trial == 1 ? RandomArray(rng, k.F) : [];
                var expected = ReferenceConv.Forward(k, x, n, h, w, wt, b);
                int r0 = rng.Next(0, h + 1), r1 = rng.Next(r0, h + 1);
                var r = RandomArray(rng, expected.Length);
                var activation = ResidualActivations[(i + trial) % 3];
                foreach (int lanes in new[] { 16, 8, 4 })
                {
                    using var width = new LanesScope(lanes);
                    string where = $"config {i} {k} on n={n} h={h} w={w} at {lanes} floats a vector";
                    var y = new float[expected.Length];
                    y.AsSpan().Fill(float.NaN); // every output must be written
                    forward(i, x, n, h, w, wt, b, y);
                    AssertClose(expected, y, k.C, "forward " + where);

                    var part = new float[y.Length];
                    part.AsSpan().Fill(float.NaN);
                    rows(i, x, n, h, w, wt, b, part, r0, r1);
                    for (int e = 0; e < part.Length; e++)
                    {
                        int row = e / (w * k.F) % h;
                        if (row >= r0 && row < r1) Assert.Equal(y[e], part[e]);
                        else Assert.True(float.IsNaN(part[e]), $"rows [{r0}, {r1}) wrote row {row}: {where}");
                    }
                    AssertResidualAdded(y, r, (into, a) => residual(i, x, n, h, w, wt, b, r, into, r0, r1, a), activation, r0, r1, h, w * k.F,
                        "residual forward " + where);
                }
            }
        }
    }

    /// <summary>
    /// A compiled network's convolution runs tiles chosen from its constants: 9 to 16 pixels for filters in one vector, 6 to 8
    /// for two (or, where they fit the rows better than 4 pixels, for more filters two vectors at a time), 4 otherwise, each
    /// fitted to the row width, 3 pixels (then 4 for the rest of a row) for 4 filter vectors or more with 16 vector registers,
    /// and 1x1 stride-1 layers as runs of pixels over the batch. Single-convolution networks over the widths and filter counts
    /// that pick each of them (ReLU fused or not, bias or not), Predict, Forward and training's Forward at every width and at 1
    /// and 2 threads, each on a new input, against the plain-loop reference with the network's own weights. The 3-pixel tiles
    /// run where the process has 16 vector registers: on AVX2 machines, and in CI's run with AVX-512 turned off.
    /// </summary>
    [Fact]
    public void Compiled_convolutions_match_the_reference_with_the_tiles_their_sizes_pick()
    {
        var rng = new Random(20261207);
        int[] widths = [5, 7, 9, 12, 14, 16, 20, 28, 32, 33], filters = [4, 6, 8, 16, 24, 32, 48, 64, 70], channels = [1, 3, 16, 17];
        var nets = Enumerable.Range(0, 36).Select(i =>
        {
            int k = i % 3 == 0 ? 1 : 3, stride = i % 4 == 3 ? 2 : 1;
            var config = new ConvConfig(k, k, channels[rng.Next(channels.Length)], filters[i % filters.Length], stride, stride, 1, 1,
                Same: rng.Next(2) == 0, UseBias: rng.Next(3) != 0);
            return (Config: config, H: rng.Next(3, 10), W: widths[rng.Next(widths.Length)], Relu: rng.Next(2) == 0);
        }).ToList();
        var source = new StringBuilder("using ConvGen;\nnamespace TileNets;\n");
        for (int i = 0; i < nets.Count; i++)
        {
            var (k, h, w, relu) = nets[i];
            source.Append($"[Input({h}, {w}, {k.C})]\n[Conv2D({k.KH}, {k.KW}, Filters = {k.F}, Stride = {k.SH}, Padding = Padding.{(k.Same ? "Same" : "Valid")}, ")
                  .Append($"UseBias = {(k.UseBias ? "true" : "false")}{(relu ? ", Activation = Activation.ReLU" : "")})]\npublic partial class Net{i};\n");
        }
        var assembly = InMemoryGenerator.CompileAndLoad(source.ToString(), "TileNets");
        // The draws above pick every kind of tile: tall (16 for 32-wide rows and runs of pixels, fitted to others), wide fitted to 7
        // and 6, narrow (3 pixels: 16 filters or more).
        var tiles = assembly.GetTypes().SelectMany(t => t.GetMethods(BindingFlags.NonPublic | BindingFlags.Static)).Select(m => m.Name)
            .Where(name => name.StartsWith("ForwardTile", StringComparison.Ordinal)).ToHashSet();
        output.WriteLine("tiles: " + string.Join(", ", tiles.Order()));
        foreach (var tile in new[] { "ForwardTile", "ForwardTile3", "ForwardTile6", "ForwardTile7", "ForwardTile8", "ForwardTile14", "ForwardTile16" })
            Assert.Contains(tile, tiles);
        // More than 32 filters two vectors at a time, in rows of 7 or 14 (where 7-pixel tiles beat 4).
        Assert.Contains(nets, net => net.Config.F > 32 && net.Config.KH > 1 && net.Config.Geometry(net.H, net.W).OutW is 7 or 14);
        for (int i = 0; i < nets.Count; i++)
        {
            var (k, h, w, relu) = nets[i];
            var net = (Model)Activator.CreateInstance(assembly.GetType($"TileNets.Net{i}")!, 4, i)!;
            var parameters = net.NamedParameters();
            var weights = parameters[0].Tensor.Span.ToArray();
            float[] bias = k.UseBias ? RandomArray(rng, k.F) : []; // the layer's bias starts at zeros: make it count
            if (k.UseBias) bias.CopyTo(parameters[1].Tensor.Span);
            int n = 1 + i % 4;
            foreach (int lanes in new[] { 16, 8, 4 })
            foreach (int threads in new[] { 1, 2 })
            {
                // A new input each time: an output a tile failed to write would keep the last run's value, right for the old input.
                var x = RandomArray(rng, n * h * w * k.C);
                var expected = ReferenceConv.Forward(k, x, n, h, w, weights, bias);
                if (relu) for (int e = 0; e < expected.Length; e++) expected[e] = Math.Max(expected[e], 0f);
                var input = new Tensor(new Shape(n, h, w, k.C), x);
                using var width = new LanesScope(lanes);
                using var parallel = new ThreadScope(threads);
                string where = $"network {i} [Input({h}, {w}, {k.C})] {k}{(relu ? " ReLU" : "")}, batch {n}, at {lanes} floats a vector, {threads} thread(s)";
                AssertClose(expected, net.Predict(input).Span.ToArray(), k.KH * k.KW * k.C, "Predict " + where);
                AssertClose(expected, net.Forward(input).Span.ToArray(), k.KH * k.KW * k.C, "Forward " + where);
                // Training's forward pass runs the direct kernels' tiles where inference may take Winograd's algorithm.
                AssertClose(expected, net.Forward(input, training: true).Span.ToArray(), k.KH * k.KW * k.C, "training Forward " + where);
            }
        }
    }

    /// <summary>
    /// A compiled residual block, a convolution, its BatchNormalization and the Add of the network's input (no activation, ReLU
    /// or ReLU6), folds the normalization and the Add into the convolution for inference: its tiles add the input as they store.
    /// Filter counts and widths that pick each tile (16 or fitted to the row, wide, 4 pixels, 1x1 runs over the batch), Predict
    /// at every width and at 1 and 2 threads against plain loops in double precision with the network's own weights.
    /// </summary>
    [Fact]
    public void Compiled_residual_blocks_add_their_input_in_every_tile_and_match_the_reference()
    {
        var rng = new Random(20261208);
        int[] widths = [5, 7, 9, 12, 14, 16, 32], filters = [4, 8, 16, 24, 32, 48, 64];
        var nets = Enumerable.Range(0, 14).Select(i => (K: i % 4 == 0 ? 1 : 3, F: filters[i % filters.Length], H: rng.Next(2, 7),
            W: widths[rng.Next(widths.Length)], Activation: ResidualActivations[i % 3])).ToList();
        var source = new StringBuilder("using ConvGen;\nnamespace ResidualNets;\n");
        for (int i = 0; i < nets.Count; i++)
        {
            var (k, f, h, w, activation) = nets[i];
            source.Append($"[Input({h}, {w}, {f})]\n[Conv2D({k}, {k}, Filters = {f}, Padding = Padding.Same, UseBias = false)]\n[BatchNormalization]\n")
                  .Append($"[Add(\"input\", Activation = Activation.{activation})]\npublic partial class Block{i};\n");
        }
        var assembly = InMemoryGenerator.CompileAndLoad(source.ToString(), "ResidualNets");
        for (int i = 0; i < nets.Count; i++)
        {
            var (kernel, f, h, w, activation) = nets[i];
            var net = (Model)Activator.CreateInstance(assembly.GetType($"ResidualNets.Block{i}")!, 4, i)!;
            Assert.Equal([null, "conv2d", "conv2d"], net.Nodes.Select(node => node.FoldedInto));
            var k = new ConvConfig(kernel, kernel, f, f, 1, 1, 1, 1, Same: true, UseBias: false);
            // Statistics and affine parameters far from the identity.
            var weights = net.NamedWeights().ToDictionary(p => p.Name[(p.Name.LastIndexOf('/') + 1)..], p => p.Tensor);
            foreach (var (name, low, span) in new[] { ("gamma", 0.5, 1.0), ("beta", -0.5, 1.0), ("moving_mean", -0.5, 1.0), ("moving_variance", 0.2, 2.0) })
                for (int c = 0; c < f; c++) weights[name].Span[c] = (float)(low + span * rng.NextDouble());
            var kernelWeights = weights["kernel"].Span.ToArray();
            float[] gamma = weights["gamma"].Span.ToArray(), beta = weights["beta"].Span.ToArray(), mean = weights["moving_mean"].Span.ToArray(),
                variance = weights["moving_variance"].Span.ToArray();
            double epsilon = ((BatchNormalization)net.Layers[1]).Epsilon;
            int n = 1 + i % 4;
            foreach (int lanes in new[] { 16, 8, 4 })
            foreach (int threads in new[] { 1, 2 })
            {
                // A new input each time: an output a tile failed to write would keep the last run's value, right for the old input.
                var x = RandomArray(rng, n * h * w * f);
                var sums = ReferenceConv.Forward(k, x.Select(v => (double)v).ToArray(), n, h, w, kernelWeights.Select(v => (double)v).ToArray(), []);
                var expected = new float[sums.Length];
                for (int e = 0; e < sums.Length; e++)
                {
                    int c = e % f;
                    double v = (sums[e] - mean[c]) / Math.Sqrt(variance[c] + epsilon) * gamma[c] + beta[c] + x[e];
                    expected[e] = (float)(activation switch { Activation.ReLU => Math.Max(v, 0), Activation.ReLU6 => Math.Min(Math.Max(v, 0), 6), _ => v });
                }
                var input = new Tensor(new Shape(n, h, w, f), x);
                using var width = new LanesScope(lanes);
                using var parallel = new ThreadScope(threads);
                string where = $"block {i} [Input({h}, {w}, {f})] {kernel}x{kernel} + BatchNormalization + Add(input, {activation}), batch {n}, at {lanes} floats a vector, {threads} thread(s)";
                AssertClose(expected, net.Predict(input).Span.ToArray(), kernel * kernel * f, "Predict " + where);
            }
        }
    }

    internal static ConvConfig RandomConfig(Random rng)
    {
        int[] channelChoices = [1, 3, 17, 33, 64];
        int Channels() => rng.Next(3) == 0 ? rng.Next(1, 41) : channelChoices[rng.Next(channelChoices.Length)];
        return new ConvConfig(
            KH: rng.Next(1, 8), KW: rng.Next(1, 8), C: Channels(), F: Channels(),
            SH: rng.Next(1, 5), SW: rng.Next(1, 5), DH: rng.Next(1, 4), DW: rng.Next(1, 4),
            Same: rng.Next(2) == 0, UseBias: rng.Next(4) != 0);
    }

    internal static string Source(IReadOnlyList<ConvConfig> configs)
    {
        var sb = new StringBuilder("using ConvGen;\nnamespace RandomConfigs;\n");
        for (int i = 0; i < configs.Count; i++)
        {
            var k = configs[i];
            sb.Append($"[Conv2D({k.KH}, {k.KW}, InputChannels = {k.C}, Filters = {k.F}, StrideHeight = {k.SH}, StrideWidth = {k.SW}, ")
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
        sb.Append("    public static bool ForwardRowsResidual(int config, float[] x, int n, int h, int w, float[] k, float[] b, float[] r, float[] y, int r0, int r1, Activation a)\n    {\n        switch (config)\n        {\n");
        for (int i = 0; i < configs.Count; i++) sb.Append($"            case {i}: return Config{i}.ForwardRowsResidual(x, n, h, w, k, b, r, y, r0, r1, a);\n");
        sb.Append("            default: return false;\n        }\n    }\n");
        sb.Append("    public static void Backward(int config, float[] x, int n, int h, int w, float[] k, float[] g, float[] dx, float[] dk, float[] db)\n    {\n        switch (config)\n        {\n");
        for (int i = 0; i < configs.Count; i++) sb.Append($"            case {i}: Config{i}.Backward(x, n, h, w, k, g, dx, dk, db); break;\n");
        sb.Append("        }\n    }\n}\n");
        return sb.ToString();
    }

    /// <summary>The activations a folded residual Add may have, which the kernels apply as they store.</summary>
    private static readonly Activation[] ResidualActivations = [Activation.None, Activation.ReLU, Activation.ReLU6];

    /// <summary>What a kernel's epilogue stores for <paramref name="value"/> in float: a ReLU or ReLU6 applied, anything else left as it is.</summary>
    internal static float Activated(Activation activation, float value)
        => activation switch { Activation.ReLU => MathF.Max(value, 0f), Activation.ReLU6 => MathF.Min(MathF.Max(value, 0f), 6f), _ => value };

    /// <summary>
    /// <paramref name="run"/> (a kernel's ForwardRowsResidual with residual <paramref name="r"/> on output rows [r0, r1) of every
    /// sample, into the array given, with the activation given) against the kernel's own forward pass <paramref name="y"/>: in
    /// those rows exactly the Add's pass, <c>activation(y + r)</c> (the same sums, then the same two roundings), every other row
    /// untouched; and an activation it cannot apply refused with nothing written.
    /// </summary>
    private static void AssertResidualAdded(float[] y, float[] r, Func<float[], Activation, bool> run, Activation activation,
        int r0, int r1, int height, int rowLength, string where)
    {
        var fused = new float[y.Length];
        fused.AsSpan().Fill(float.NaN);
        Assert.True(run(fused, activation), where);
        for (int e = 0; e < y.Length; e++)
        {
            int row = e / rowLength % height;
            if (row < r0 || row >= r1)
            {
                Assert.True(float.IsNaN(fused[e]), $"{where}: rows [{r0}, {r1}) wrote row {row}");
                continue;
            }
            float sum = y[e] + r[e];
            float expected = Activated(activation, sum);
            if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(fused[e]))
                Assert.Fail($"{where} ({activation}): element {e} is {fused[e]}, the forward pass's {y[e]} + residual {r[e]} gives {expected}");
        }
        var refused = new float[y.Length];
        refused.AsSpan().Fill(float.NaN);
        Assert.False(run(refused, Activation.Tanh), $"{where}: Tanh accepted");
        Assert.All(refused, v => Assert.True(float.IsNaN(v), $"{where}: a refused activation wrote the output"));
    }

    internal static float[] RandomArray(Random rng, int length)
    {
        var a = new float[length];
        for (int i = 0; i < length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    private static float[] Filled(int length, float value)
    {
        var a = new float[length];
        Array.Fill(a, value);
        return a;
    }

    private static float[] Shift(float[] a, float by) => Array.ConvertAll(a, v => v + by);

    /// <summary>Fails unless <paramref name="actual"/> is within <see cref="ReferenceComparison.Tolerance"/> of the reference.</summary>
    internal static void AssertClose(float[] expected, float[] actual, int terms, string what)
    {
        if (ReferenceComparison.FirstMismatch(expected, actual, terms) is { } mismatch) Assert.Fail($"{what}: {mismatch}");
    }
}
