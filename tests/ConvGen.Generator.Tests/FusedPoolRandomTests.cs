using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Numerics;
using System.Reflection;
using System.Runtime.Loader;
using ConvGen.Generator.Tests.Helpers;
using ConvGen.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Generator.Tests;

/// <summary>
/// The fused convolution + 2x2 stride-2 max pool (<c>ForwardPooled</c>) over random networks, against a plain-loop reference
/// written here in double precision (not the generated code, not the runtime's layers):
/// <c>[Input] [Conv2D] [MaxPool2D(2)] ([Conv2D] [MaxPool2D(2)]) [Flatten] [Dense]</c>, every convolution with an even output so
/// the generator fuses the pool. Sizes are drawn backwards from the pooled output, so strides 1 to 3 (also per axis),
/// dilations 1 to 3 (also per axis), Same padding with no, even and odd (bottom/right-heavy) padding, Valid padding, ReLU or
/// not, bias or not, Same or Valid pools, 1 to 9 input channels (unrolled up to 4, looped above) and 1 to 70 filters (4-, 2-
/// and 1-vector blocks and scalar remainders at 4, 8 and 16 floats a vector), and two kernels over 64 taps (looped taps) are
/// all drawn; the run checks that they were.
/// <para>
/// All networks are compiled in one assembly and run at 16 floats a vector with 1 and 2 threads, at 8 and at 4 (forced with
/// <c>Simd.Lanes</c>, so the 512-bit kernels run on every machine, in software where AVX-512 is missing), batches of 1 and 3:
/// <c>Predict</c> (which skips storing the convolution output), then <c>Forward</c> (which stores it), both against the
/// reference at |a - b| &lt;= 1e-4 (1 + |b|); then <c>Backward</c> of sum(output * g) for a random g, every parameter gradient
/// against the reference's analytic gradient at the same tolerance. The pool's backward pass reads the convolution output
/// the fused kernel stored, so this checks that store.
/// </para>
/// <para>
/// Gradients: the analytic gradient of the reference (double precision) is the oracle; it is itself checked against central
/// differences of the reference's forward pass on a sample of parameters. Max pooling and ReLU have kinks, where a float
/// and a double computation may legitimately pick different branches; the input is redrawn until every ReLU input and
/// every pool window's top two values are at least 1e-5 (1 + |v|) apart (a float convolution is ~1e-6 off), and a case
/// whose inputs keep landing near a kink is counted and must stay rare.
/// </para>
/// <para>
/// Compiler warnings in the generated code fail the test too (after the numbers are checked). To read the generated code,
/// set <c>CONVGEN_FUSED_DUMP</c> to a folder and every generated file is written there.
/// </para>
/// </summary>
[Collection(ProcessWideSettings.Name)]
public sealed class FusedPoolRandomTests(ITestOutputHelper output)
{
    private const int Seed = 20_260_812;
    private const int NetworkCount = 40;
    private const int MaxBatch = 3;
    private const double Tolerance = 1e-4;
    private const double KinkMargin = 1e-5;

    private sealed record ConvPair(
        int KH, int KW, int C, int F, int SH, int SW, int DH, int DW,
        bool Same, bool Relu, bool Bias, bool PoolSame, bool PerAxisStride, bool PerAxisDilation, int InH, int InW)
    {
        public int EH => (KH - 1) * DH + 1;
        public int EW => (KW - 1) * DW + 1;
        public int OutH => Same ? (InH - 1) / SH + 1 : (InH - EH) / SH + 1;
        public int OutW => Same ? (InW - 1) / SW + 1 : (InW - EW) / SW + 1;
        public int PadTotalH => Same ? Math.Max((OutH - 1) * SH + EH - InH, 0) : 0;
        public int PadTotalW => Same ? Math.Max((OutW - 1) * SW + EW - InW, 0) : 0;

        // TF 'same': half the padding at the top/left, the rest (the odd one) at the bottom/right.
        public int PadTop => PadTotalH / 2;
        public int PadLeft => PadTotalW / 2;
        public int PoolH => OutH / 2;
        public int PoolW => OutW / 2;
        public bool Looped => KH * KW > 64;

        public string Attributes()
        {
            var args = new List<string> { I(KH), I(KW), $"Filters = {I(F)}" };
            if (PerAxisStride) args.Add($"StrideHeight = {I(SH)}, StrideWidth = {I(SW)}");
            else if (SH != 1) args.Add($"Stride = {I(SH)}");
            if (PerAxisDilation) args.Add($"DilationHeight = {I(DH)}, DilationWidth = {I(DW)}");
            else if (DH != 1) args.Add($"Dilation = {I(DH)}");
            args.Add(Same ? "Padding = Padding.Same" : "Padding = Padding.Valid");
            if (Relu) args.Add("Activation = Activation.ReLU");
            if (!Bias) args.Add("UseBias = false");
            return $"[Conv2D({string.Join(", ", args)})]\n[MaxPool2D(2{(PoolSame ? ", Padding = Padding.Same" : "")})]";
        }

        public override string ToString()
            => $"{KH}x{KW} C={C} F={F} stride {SH}x{SW} dilation {DH}x{DW} {(Same ? "Same" : "Valid")} in {InH}x{InW} out {OutH}x{OutW} " +
               $"pad {PadTop}/{PadTotalH - PadTop} {PadLeft}/{PadTotalW - PadLeft}{(Relu ? " ReLU" : "")}{(Bias ? " bias" : "")}{(PoolSame ? " pool Same" : "")}";
    }

    private sealed record NetSpec(int Index, ConvPair[] Pairs, int Units)
    {
        public string Name => $"FusedNet{Index}";
        public string FullName => $"FusedPoolRandom.{Name}";
        public int H => Pairs[0].InH;
        public int W => Pairs[0].InW;
        public int C => Pairs[0].C;
        public int FlatSize => Pairs[^1].PoolH * Pairs[^1].PoolW * Pairs[^1].F;

        public string Source() =>
            $"using ConvGen;\n\nnamespace FusedPoolRandom;\n\n[Input({I(H)}, {I(W)}, {I(C)})]\n" +
            string.Join("\n", Pairs.Select(p => p.Attributes())) + $"\n[Flatten]\n[Dense({I(Units)})]\npublic partial class {Name};\n";

        public override string ToString() => $"{Name}: input ({H}, {W}, {C}); " + string.Join("; ", Pairs.Select(p => p.ToString())) + $"; dense {FlatSize} -> {Units}";
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------------------------------------------------------------
    // Random configurations
    // ---------------------------------------------------------------------------------------------------------------------

    /// <summary>Filter counts by category: scalar only, 1-vector blocks, 2-vector blocks at 8 floats, at 16, 4-vector blocks at 16, multiples of 16 (no scalar loop), any.</summary>
    private static int DrawFilters(Random rng, int category) => category switch
    {
        0 => rng.Next(1, 4),
        1 => rng.Next(4, 16),
        2 => rng.Next(16, 32),
        3 => rng.Next(32, 64),
        4 => rng.Next(64, 71),
        5 => 16 * rng.Next(1, 5),
        _ => rng.Next(1, 71),
    };

    private static int Pick(Random rng, params (int Value, int Weight)[] choices)
    {
        int r = rng.Next(choices.Sum(c => c.Weight));
        foreach (var (value, weight) in choices)
        {
            if (r < weight) return value;
            r -= weight;
        }
        throw new UnreachableException();
    }

    /// <summary>An input size whose convolution output along one axis is <paramref name="output"/>.</summary>
    private static int InputFor(Random rng, int output, int stride, int extent, bool same)
        => same ? rng.Next((output - 1) * stride + 1, output * stride + 1) : (output - 1) * stride + extent + rng.Next(stride);

    private static NetSpec Generate(int index)
    {
        var rng = new Random(Seed * 31 + index);
        int pairCount = index % 5 == 3 ? 2 : 1;
        bool looped = index is 7 or 29;
        bool padsNothing = index is 5 or 18 or 31; // Same padding with a window no wider than the stride: the input itself is read
        for (int attempt = 0; ; attempt++)
        {
            // Filters and channels first (channels flow forward), then sizes backwards from the last pooled output.
            var filters = new int[pairCount];
            for (int j = 0; j < pairCount; j++) filters[j] = DrawFilters(rng, (index + 3 * j) % 7);
            var pairs = new ConvPair[pairCount];
            int pooledH = rng.Next(1, pairCount == 2 ? 3 : 4), pooledW = rng.Next(1, pairCount == 2 ? 3 : 4);
            for (int j = pairCount - 1; j >= 0; j--)
            {
                bool noPad = padsNothing && j == 0;
                bool perAxisStride = rng.Next(10) < 3, perAxisDilation = !looped && !noPad && rng.Next(10) < 3;
                int sh = noPad ? rng.Next(2, 4) : Pick(rng, (1, 9), (2, 8), (3, 3));
                int sw = perAxisStride ? (noPad ? rng.Next(2, 4) : Pick(rng, (1, 9), (2, 8), (3, 3))) : sh;
                int kh = looped && j == 0 ? 9 : noPad ? rng.Next(1, sh + 1) : Pick(rng, (1, 2), (2, 3), (3, 4), (4, 2), (5, 1));
                int kw = looped && j == 0 ? 8 : noPad ? rng.Next(1, sw + 1) : Pick(rng, (1, 2), (2, 3), (3, 4), (4, 2), (5, 1));
                int dh = looped || noPad ? 1 : Pick(rng, (1, 11), (2, 7), (3, 2)), dw = perAxisDilation ? Pick(rng, (1, 11), (2, 7), (3, 2)) : dh;
                bool same = noPad || rng.Next(2) == 0;
                int outH = 2 * pooledH, outW = 2 * pooledW;
                int inH = noPad ? outH * sh : InputFor(rng, outH, sh, (kh - 1) * dh + 1, same);
                int inW = noPad ? outW * sw : InputFor(rng, outW, sw, (kw - 1) * dw + 1, same);
                int c = j == 0 ? 1 + index % 9 : filters[j - 1];
                pairs[j] = new ConvPair(kh, kw, c, filters[j], sh, sw, dh, dw, same, Relu: rng.Next(2) == 0, Bias: rng.Next(10) < 7,
                    PoolSame: rng.Next(10) < 3, perAxisStride, perAxisDilation, inH, inW);
                (pooledH, pooledW) = (inH, inW);
                // This input is the previous pool's output: keep the previous convolution's (twice as large) small.
                if (j > 0 && (inH > 12 || inW > 12)) break;
            }
            if (pairs.Any(p => p is null) || pairs[0].InH > 40 || pairs[0].InW > 40) continue;
            var spec = new NetSpec(index, pairs, rng.Next(1, 6));
            for (int j = 0; j < pairs.Length; j++)
            {
                var p = pairs[j];
                if (p.OutH % 2 != 0 || p.OutW % 2 != 0 || (j > 0 && (p.InH != pairs[j - 1].PoolH || p.InW != pairs[j - 1].PoolW)))
                    throw new InvalidOperationException($"the generator of test cases is wrong: {spec}");
            }
            return spec;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------------
    // The reference: plain loops in double precision
    // ---------------------------------------------------------------------------------------------------------------------

    /// <summary>What a forward pass computed, kept for the backward pass and the kink checks.</summary>
    private sealed class Trace
    {
        public required int Batch;
        public required double[][] Inputs;   // each convolution's input, NHWC
        public required double[][] Pre;      // each convolution's output before the activation
        public required double[][] Post;     // after it
        public required int[][] ArgMax;      // per pooled value, the index into Post of its window's (first) maximum
        public required double[][] Pooled;
        public required double[] Output;
    }

    /// <summary>
    /// The network as plain loops. Parameters are in NamedParameters order: for each convolution its kernel [KH, KW, C, F]
    /// and (if any) its bias [F], then the dense kernel [in, units] and bias [units].
    /// </summary>
    private sealed class Reference(NetSpec spec, double[][] parameters)
    {
        public double[][] Parameters { get; } = parameters;

        private int ConvKernel(int j) => spec.Pairs.Take(j).Sum(p => p.Bias ? 2 : 1);

        private int DenseKernel => spec.Pairs.Sum(p => p.Bias ? 2 : 1);

        public Trace Forward(double[] x, int n)
        {
            var pairs = spec.Pairs;
            var trace = new Trace
            {
                Batch = n, Inputs = new double[pairs.Length][], Pre = new double[pairs.Length][], Post = new double[pairs.Length][],
                ArgMax = new int[pairs.Length][], Pooled = new double[pairs.Length][], Output = new double[n * spec.Units],
            };
            var input = x;
            for (int j = 0; j < pairs.Length; j++)
            {
                var p = pairs[j];
                var k = Parameters[ConvKernel(j)];
                double[]? b = p.Bias ? Parameters[ConvKernel(j) + 1] : null;
                var pre = new double[n * p.OutH * p.OutW * p.F];
                var post = new double[pre.Length];
                // Cross-correlation: out[n, oh, ow, f] = b[f] + sum x[n, oh*SH - top + kh*DH, ow*SW - left + kw*DW, c] * k[kh, kw, c, f].
                for (int s = 0; s < n; s++)
                for (int oh = 0; oh < p.OutH; oh++)
                for (int ow = 0; ow < p.OutW; ow++)
                for (int f = 0; f < p.F; f++)
                {
                    double sum = b is null ? 0 : b[f];
                    for (int kh = 0; kh < p.KH; kh++)
                    {
                        int ih = oh * p.SH - p.PadTop + kh * p.DH;
                        if (ih < 0 || ih >= p.InH) continue;
                        for (int kw = 0; kw < p.KW; kw++)
                        {
                            int iw = ow * p.SW - p.PadLeft + kw * p.DW;
                            if (iw < 0 || iw >= p.InW) continue;
                            for (int c = 0; c < p.C; c++)
                                sum += input[((s * p.InH + ih) * p.InW + iw) * p.C + c] * k[((kh * p.KW + kw) * p.C + c) * p.F + f];
                        }
                    }
                    int at = ((s * p.OutH + oh) * p.OutW + ow) * p.F + f;
                    pre[at] = sum;
                    post[at] = p.Relu ? Math.Max(sum, 0) : sum;
                }
                // 2x2 stride-2 max pool (a Same pool of an even input pads nothing); the first maximum in row-major order.
                var pooled = new double[n * p.PoolH * p.PoolW * p.F];
                var argMax = new int[pooled.Length];
                for (int s = 0; s < n; s++)
                for (int ph = 0; ph < p.PoolH; ph++)
                for (int pw = 0; pw < p.PoolW; pw++)
                for (int f = 0; f < p.F; f++)
                {
                    int best = -1;
                    for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                    {
                        int at = ((s * p.OutH + 2 * ph + dy) * p.OutW + 2 * pw + dx) * p.F + f;
                        if (best < 0 || post[at] > post[best]) best = at;
                    }
                    int o = ((s * p.PoolH + ph) * p.PoolW + pw) * p.F + f;
                    pooled[o] = post[best];
                    argMax[o] = best;
                }
                (trace.Inputs[j], trace.Pre[j], trace.Post[j], trace.ArgMax[j], trace.Pooled[j]) = (input, pre, post, argMax, pooled);
                input = pooled;
            }
            // Flatten (NHWC order, a view) and Dense: y[n, u] = b[u] + sum_i flat[n, i] * k[i, u].
            var dk = Parameters[DenseKernel];
            var db = Parameters[DenseKernel + 1];
            int inSize = spec.FlatSize;
            for (int s = 0; s < n; s++)
            for (int u = 0; u < spec.Units; u++)
            {
                double sum = db[u];
                for (int i = 0; i < inSize; i++) sum += input[s * inSize + i] * dk[i * spec.Units + u];
                trace.Output[s * spec.Units + u] = sum;
            }
            return trace;
        }

        /// <summary>The gradient of sum(output * g) with respect to every parameter, by the chain rule through the trace.</summary>
        public double[][] Gradients(Trace t, double[] g)
        {
            int n = t.Batch;
            var grads = Parameters.Select(p => new double[p.Length]).ToArray();
            var dk = Parameters[DenseKernel];
            int inSize = spec.FlatSize;
            var flat = t.Pooled[^1];
            var dInput = new double[n * inSize];
            for (int s = 0; s < n; s++)
            for (int u = 0; u < spec.Units; u++)
            {
                double gu = g[s * spec.Units + u];
                grads[DenseKernel + 1][u] += gu;
                for (int i = 0; i < inSize; i++)
                {
                    grads[DenseKernel][i * spec.Units + u] += flat[s * inSize + i] * gu;
                    dInput[s * inSize + i] += dk[i * spec.Units + u] * gu;
                }
            }
            for (int j = spec.Pairs.Length - 1; j >= 0; j--)
            {
                var p = spec.Pairs[j];
                // Pool: each pooled gradient to its window's maximum. ReLU: only where its input was positive.
                var dz = new double[t.Post[j].Length];
                for (int o = 0; o < dInput.Length; o++) dz[t.ArgMax[j][o]] += dInput[o];
                if (p.Relu)
                    for (int i = 0; i < dz.Length; i++)
                        if (t.Pre[j][i] <= 0) dz[i] = 0;
                var k = Parameters[ConvKernel(j)];
                var gk = grads[ConvKernel(j)];
                double[]? gb = p.Bias ? grads[ConvKernel(j) + 1] : null;
                var x = t.Inputs[j];
                var dx = j > 0 ? new double[x.Length] : null;
                for (int s = 0; s < n; s++)
                for (int oh = 0; oh < p.OutH; oh++)
                for (int ow = 0; ow < p.OutW; ow++)
                for (int f = 0; f < p.F; f++)
                {
                    double d = dz[((s * p.OutH + oh) * p.OutW + ow) * p.F + f];
                    if (gb is not null) gb[f] += d;
                    for (int kh = 0; kh < p.KH; kh++)
                    {
                        int ih = oh * p.SH - p.PadTop + kh * p.DH;
                        if (ih < 0 || ih >= p.InH) continue;
                        for (int kw = 0; kw < p.KW; kw++)
                        {
                            int iw = ow * p.SW - p.PadLeft + kw * p.DW;
                            if (iw < 0 || iw >= p.InW) continue;
                            for (int c = 0; c < p.C; c++)
                            {
                                int xi = ((s * p.InH + ih) * p.InW + iw) * p.C + c, ki = ((kh * p.KW + kw) * p.C + c) * p.F + f;
                                gk[ki] += x[xi] * d;
                                if (dx is not null) dx[xi] += k[ki] * d;
                            }
                        }
                    }
                }
                dInput = dx!;
            }
            return grads;
        }

        /// <summary>Whether every ReLU input and every pool window's top two values are clear of each other (see the class remarks).</summary>
        public static bool ClearOfKinks(NetSpec spec, Trace t)
        {
            for (int j = 0; j < spec.Pairs.Length; j++)
            {
                var p = spec.Pairs[j];
                if (p.Relu && t.Pre[j].Any(v => Math.Abs(v) < KinkMargin * (1 + Math.Abs(v)))) return false;
                var post = t.Post[j];
                for (int o = 0; o < t.ArgMax[j].Length; o++)
                {
                    int best = t.ArgMax[j][o];
                    double top = post[best];
                    if (p.Relu && top <= 0) continue; // all four clipped: the gradient is zero whichever wins
                    int f = o % p.F, pw = o / p.F % p.PoolW, ph = o / p.F / p.PoolW % p.PoolH, s = o / p.F / p.PoolW / p.PoolH;
                    for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                    {
                        int at = ((s * p.OutH + 2 * ph + dy) * p.OutW + 2 * pw + dx) * p.F + f;
                        if (at != best && top - post[at] < KinkMargin * (1 + Math.Abs(top))) return false;
                    }
                }
            }
            return true;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------------
    // The test
    // ---------------------------------------------------------------------------------------------------------------------

    [Fact]
    public void FusedPoolRandomNetworksMatchPlainLoops()
    {
        var clock = Stopwatch.StartNew();
        var specs = Enumerable.Range(0, NetworkCount).Select(Generate).ToList();
        AssertCoverage(specs);

        // 1. All networks through the generator in one compilation, compiled optimized, loaded into a collectible context.
        var compilation = GeneratorRunner.CreateCompilation(specs[0].Source(), specs.Skip(1).Select(s => s.Source()).ToArray());
        var driver = CSharpGeneratorDriver.Create([new ConvGenerator().AsSourceGenerator()], parseOptions: GeneratorRunner.ParseOptions);
        var result = GeneratorRunner.Run(driver, compilation);
        Assert.Null(result.RunResult.Exception);
        var errors = result.GeneratorDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "generator errors:\n" + string.Join("\n", errors));
        var sources = result.RunResult.GeneratedSources.ToDictionary(s => s.HintName, s => s.SourceText.ToString());
        foreach (var spec in specs)
        {
            Assert.True(sources.TryGetValue(spec.FullName + ".g.cs", out var text), $"no generated file for {spec.Name}");
            // Each pool fused (checked per layer on the built network below): a ForwardPooled kernel.
            Assert.True(text!.Contains("ForwardPooled(", StringComparison.Ordinal), $"{spec}: no ForwardPooled kernel generated (the pools were not fused)");
        }
        var generatedTrees = result.RunResult.GeneratedSources.Select(s => s.SyntaxTree).ToHashSet();
        var optimized = result.Output.WithOptions(((CSharpCompilationOptions)result.Output.Options).WithOptimizationLevel(OptimizationLevel.Release));
        using var image = new MemoryStream();
        var emit = optimized.Emit(image);
        var compileErrors = emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(emit.Success && compileErrors.Count == 0, "the generated code does not compile:\n" + string.Join("\n", compileErrors.Take(20)));
        // Warnings in generated code are a defect too (they reach every user's build), but the numbers are still checked first.
        var warnings = emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && generatedTrees.Contains(tree)).ToList();
        if (Environment.GetEnvironmentVariable("CONVGEN_FUSED_DUMP") is { Length: > 0 } dump)
        {
            Directory.CreateDirectory(dump);
            foreach (var (hint, text) in sources) File.WriteAllText(Path.Combine(dump, hint), text);
        }
        var compileTime = clock.Elapsed;

        image.Position = 0;
        var context = new AssemblyLoadContext("ConvGen.FusedPoolRandom", isCollectible: true);
        int previousThreads = Parallelism.Threads;
        var failures = new List<string>();
        int forwardChecks = 0, predictChecks = 0, gradientChecks = 0, gradientSkips = 0, differenceChecks = 0;
        try
        {
            var assembly = context.LoadFromStream(image);
            foreach (var spec in specs)
            {
                try
                {
                    var counts = CheckNetwork(assembly, spec, failures);
                    forwardChecks += counts.Forward;
                    predictChecks += counts.Predict;
                    gradientChecks += counts.Gradients;
                    gradientSkips += counts.GradientSkips;
                    differenceChecks += counts.Differences;
                }
                catch (Exception e)
                {
                    failures.Add($"{spec}\n  threw {e}");
                }
            }
        }
        finally
        {
            Parallelism.Threads = previousThreads;
            context.Unload();
        }

        output.WriteLine($"{specs.Count} networks ({specs.Sum(s => s.Pairs.Length)} fused conv+pool kernels), Vector<float>.Count = {Vector<float>.Count}, " +
                         $"Vector512.IsHardwareAccelerated = {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}: " +
                         $"generated and compiled in {compileTime.TotalSeconds:F1} s, checked in {(clock.Elapsed - compileTime).TotalSeconds:F1} s; " +
                         $"{forwardChecks} Forward and {predictChecks} Predict outputs, {gradientChecks} Backward gradient sets " +
                         $"({gradientSkips} skipped near a kink), {differenceChecks} reference gradients checked by central differences.");
        foreach (var spec in specs) output.WriteLine("  " + spec);

        if (warnings.Count > 0)
            failures.Add($"{warnings.Count} compiler warning(s) in the generated code, e.g.:\n  " + string.Join("\n  ", warnings.Take(8)));
        Assert.True(failures.Count == 0, $"{failures.Count} failure(s) (seed {Seed}, Vector<float>.Count = {Vector<float>.Count}):\n" + string.Join("\n", failures.Take(12)));
        // Near-kink skips must stay rare, so the gradient check keeps covering most networks.
        Assert.True(gradientSkips * 8 <= gradientChecks, $"{gradientSkips} gradient checks skipped near a kink against {gradientChecks} run");
    }

    private readonly record struct Counts(int Forward, int Predict, int Gradients, int GradientSkips, int Differences);

    private static Counts CheckNetwork(Assembly assembly, NetSpec spec, List<string> failures)
    {
        var type = assembly.GetType(spec.FullName) ?? throw new InvalidOperationException($"{spec.FullName} is not in the compiled assembly");
        var rng = new Random(Seed ^ (spec.Index * 7919));
        var net = (CompiledNetwork)Activator.CreateInstance(type, MaxBatch, spec.Index + 1)!;
        // The core runs each pool inside the convolution before it (layers 0 and 2 are the convolutions, 1 and 3 their pools).
        for (int j = 0; j < spec.Pairs.Length; j++)
        {
            if (net.Nodes[2 * j + 1].ForwardComputedBy != net.Nodes[2 * j].Name)
                failures.Add($"{spec}\n  pool {2 * j + 1} is not fused into convolution {2 * j}");
        }
        Assert.Equal(new Shape(spec.H, spec.W, spec.C), net.InputShape);
        Assert.Equal(new Shape(spec.Units), net.OutputShape);

        // The expected parameter list; kernels keep their Glorot initialization, biases (zero at first) get random values so
        // the bias is tested too.
        var expected = new List<(string Name, Shape Shape)>();
        for (int j = 0; j < spec.Pairs.Length; j++)
        {
            var p = spec.Pairs[j];
            string layer = j == 0 ? "conv2d" : $"conv2d_{j}";
            expected.Add(($"{layer}/kernel", new Shape(p.KH, p.KW, p.C, p.F)));
            if (p.Bias) expected.Add(($"{layer}/bias", new Shape(p.F)));
        }
        expected.Add(("dense/kernel", new Shape(spec.FlatSize, spec.Units)));
        expected.Add(("dense/bias", new Shape(spec.Units)));
        var named = net.NamedParameters();
        Assert.Equal(expected.Select(e => e.Name), named.Select(n => n.Name));
        Assert.Equal(expected.Select(e => e.Shape), named.Select(n => n.Tensor.Shape));
        foreach (var (name, tensor) in named)
            if (name.EndsWith("/bias", StringComparison.Ordinal))
                for (int i = 0; i < tensor.Length; i++) tensor.Span[i] = (float)(rng.NextDouble() - 0.5);
        var parameters = named.Select(n => n.Tensor.ToArray().Select(v => (double)v).ToArray()).ToArray();
        long total = parameters.Sum(p => (long)p.Length);
        Assert.Equal(total, net.ParameterCount);
        var reference = new Reference(spec, parameters);
        var gradientTensors = net.Parameters.Select(p => p.Gradient).ToArray();

        int forward = 0, predict = 0, gradients = 0, skips = 0, differences = 0;
        // Every vector width on every machine (16 floats runs in software where AVX-512 is not accelerated), at 1 and 2 threads.
        foreach (var (threads, lanes) in new[] { (1, 16), (2, 16), (1, 8), (2, 4) })
        {
            Parallelism.Threads = threads;
            using var width = new LanesScope(lanes);
            foreach (int batch in new[] { 1, MaxBatch })
            {
                string where = $"threads {threads}, {lanes} lanes, batch {batch}";
                // An input clear of the max and ReLU kinks (see the class remarks), if one comes up in a few draws.
                float[] x = [];
                Trace? trace = null;
                bool clear = false;
                for (int draw = 0; draw < 25 && !clear; draw++)
                {
                    x = RandomValues(rng, batch * spec.H * spec.W * spec.C);
                    trace = reference.Forward(x.Select(v => (double)v).ToArray(), batch);
                    clear = Reference.ClearOfKinks(spec, trace);
                }
                var input = new Tensor(new Shape(batch, spec.H, spec.W, spec.C), x);

                // Predict first (it stores no convolution output), so Forward's stored output cannot be a leftover.
                if (Mismatch(net.Predict(input, batchSize: 2).ToArray(), trace!.Output) is { } p) failures.Add($"{spec}\n  Predict, {where}: {p}");
                predict++;
                if (Mismatch(net.Forward(input).ToArray(), trace.Output) is { } f) failures.Add($"{spec}\n  Forward, {where}: {f}");
                forward++;

                if (!clear)
                {
                    skips++;
                    continue;
                }
                var g = RandomValues(rng, batch * spec.Units);
                net.ZeroGradients();
                net.Backward(new Tensor(new Shape(batch, spec.Units), g));
                var expectedGradients = reference.Gradients(trace, g.Select(v => (double)v).ToArray());
                for (int i = 0; i < expectedGradients.Length; i++)
                    if (Mismatch(gradientTensors[i].ToArray(), expectedGradients[i]) is { } m)
                        failures.Add($"{spec}\n  Backward, gradient of {named[i].Name}, {where}: {m}");
                gradients++;

                // The oracle itself: its analytic gradient against central differences of its forward pass, on a few parameters.
                if (threads == 1 && lanes == 16) differences += CheckReferenceByDifferences(spec, reference, x, batch, g, expectedGradients, rng, named, where, failures);
            }
        }
        return new Counts(forward, predict, gradients, skips, differences);
    }

    private static int CheckReferenceByDifferences(NetSpec spec, Reference reference, float[] x, int batch, float[] g, double[][] analytic,
        Random rng, IReadOnlyList<(string Name, Tensor Tensor)> named, string where, List<string> failures)
    {
        const double h = 1e-7;
        var xd = x.Select(v => (double)v).ToArray();
        var gd = g.Select(v => (double)v).ToArray();
        double Objective()
        {
            var y = reference.Forward(xd, batch).Output;
            double sum = 0;
            for (int i = 0; i < y.Length; i++) sum += y[i] * gd[i];
            return sum;
        }
        int checks = 0;
        for (int t = 0; t < reference.Parameters.Length; t++)
        {
            var values = reference.Parameters[t];
            for (int sample = 0; sample < 3; sample++)
            {
                int i = rng.Next(values.Length);
                double saved = values[i];
                values[i] = saved + h;
                double plus = Objective();
                values[i] = saved - h;
                double minus = Objective();
                values[i] = saved;
                double numeric = (plus - minus) / (2 * h);
                if (Math.Abs(numeric - analytic[t][i]) > 1e-5 * (1 + Math.Abs(numeric)))
                    failures.Add($"{spec}\n  the reference's own gradient of {named[t].Name}[{i}], {where}: analytic {analytic[t][i]:R}, central difference {numeric:R}");
                checks++;
            }
        }
        return checks;
    }

    private static float[] RandomValues(Random rng, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>The first element where |actual - expected| &gt; 1e-4 (1 + |expected|), and how many there are; null when none.</summary>
    private static string? Mismatch(float[] actual, double[] expected)
    {
        if (actual.Length != expected.Length) return $"{actual.Length} values, expected {expected.Length}";
        int first = -1, count = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (!(Math.Abs(actual[i] - expected[i]) <= Tolerance * (1 + Math.Abs(expected[i]))))
            {
                if (first < 0) first = i;
                count++;
            }
        }
        return first < 0 ? null : $"{count} of {actual.Length} values differ; first at {first}: {actual[first]:R}, expected {expected[first]:R}";
    }

    /// <summary>The random draws must cover what the class summary promises.</summary>
    private static void AssertCoverage(IReadOnlyList<NetSpec> specs)
    {
        var pairs = specs.SelectMany(s => s.Pairs).ToList();
        var missing = new List<string>();
        void Require(int count, int atLeast, string what)
        {
            if (count < atLeast) missing.Add($"{what}: {count}, expected at least {atLeast}");
        }
        foreach (int c in Enumerable.Range(1, 9)) Require(specs.Count(s => s.C == c), 3, $"networks with {c} input channel(s)");
        Require(pairs.Count(p => p.C > 9), 3, "convolutions after a pool, with over 9 channels");
        Require(pairs.Count(p => p.F < 4), 4, "convolutions with 1 to 3 filters (scalar only)");
        Require(pairs.Count(p => p.F is > 4 and < 16 && p.F % 4 != 0), 4, "convolutions with 5 to 15 filters, no multiple of 4");
        Require(pairs.Count(p => p.F is > 16 and < 32 && p.F % 8 != 0), 3, "convolutions with 17 to 31 filters, no multiple of 8");
        Require(pairs.Count(p => p.F is > 32 and < 64 && p.F % 16 != 0), 3, "convolutions with 33 to 63 filters, no multiple of 16");
        Require(pairs.Count(p => p.F is >= 64 and <= 70), 4, "convolutions with 64 to 70 filters (4-vector blocks at 16 floats)");
        Require(pairs.Count(p => p.F > 64 && p.F % 16 != 0), 2, "convolutions with 65 to 70 filters");
        Require(pairs.Count(p => p.F % 16 == 0), 3, "convolutions with a multiple of 16 filters");
        Require(pairs.Count(p => !p.Same), 10, "Valid convolutions");
        Require(pairs.Count(p => p.Same && p.PadTotalH + p.PadTotalW == 0), 2, "Same convolutions that pad nothing");
        Require(pairs.Count(p => p.Same && (p.PadTotalH % 2 == 1 || p.PadTotalW % 2 == 1)), 5, "Same convolutions with an odd padding (one more at the bottom/right)");
        Require(pairs.Count(p => p.Same && p.PadTotalH > 0 && p.PadTotalH % 2 == 0), 3, "Same convolutions with an even, nonzero vertical padding");
        Require(pairs.Count(p => p.SH > 1 || p.SW > 1), 10, "strided convolutions");
        Require(pairs.Count(p => p.SH == 3 || p.SW == 3), 3, "convolutions with stride 3");
        Require(pairs.Count(p => p.SH != p.SW), 3, "convolutions with different strides per axis");
        Require(pairs.Count(p => p.DH > 1 || p.DW > 1), 8, "dilated convolutions");
        Require(pairs.Count(p => p.DH != p.DW), 3, "convolutions with different dilations per axis");
        Require(pairs.Count(p => p.Relu), 10, "convolutions with ReLU");
        Require(pairs.Count(p => !p.Relu), 10, "convolutions without ReLU");
        Require(pairs.Count(p => !p.Bias), 5, "convolutions without bias");
        Require(pairs.Count(p => p.PoolSame), 5, "Same pools");
        Require(pairs.Count(p => p.Looped), 2, "kernels over 64 taps (looped)");
        Require(pairs.Count(p => p.KH != p.KW), 10, "non-square kernels");
        Require(specs.Count(s => s.Pairs.Length == 2), 6, "networks with two conv+pool pairs");
        Assert.True(missing.Count == 0, "the random networks do not cover:\n" + string.Join("\n", missing));
    }
}
