using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using ConvGen.Generator.Tests.Helpers;
using ConvGen.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace ConvGen.Generator.Tests.Fuzz;

/// <summary>A valid case ready to compile: its own syntax trees and the ones the generator produced for it.</summary>
internal sealed record CompiledCase(FuzzCase Case, IReadOnlyList<SyntaxTree> Sources, IReadOnlyList<SyntaxTree> Generated);

/// <summary>The user-facing static forward kernel every generated class has.</summary>
internal delegate void ForwardKernel(ReadOnlySpan<float> input, int batch, int height, int width,
    ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output);

/// <summary>
/// Compiles many valid fuzz cases as one optimized assembly (their sources plus the code the generator produced for each),
/// loads it into a collectible context, and checks each case's kernels: the shape functions against the formulas of docs/attributes.md,
/// and <c>Forward</c> on a small random input against <see cref="ReferenceConv"/>. Cases keep their own names and
/// namespaces, so they compile side by side; a compiler error is charged to the case that owns the file it is in.
/// </summary>
internal sealed class KernelBatch(int seed, IReadOnlyList<CompiledCase> cases)
{
    /// <summary>Largest input, weights and reference multiply-adds a case may need to be run; larger ones are only compiled.</summary>
    public const int MaxRunElements = 1 << 16;
    public const long MaxRunMultiplyAdds = 1 << 21;

    private static readonly Type[] ForwardParameters =
        [typeof(ReadOnlySpan<float>), typeof(int), typeof(int), typeof(int), typeof(ReadOnlySpan<float>), typeof(ReadOnlySpan<float>), typeof(Span<float>)];

    /// <summary>Failures by case index (a case fails once, with everything that went wrong for it).</summary>
    public Dictionary<int, string> Failures { get; } = [];

    public int KernelsRun { get; private set; }

    public int KernelsCompiledOnly { get; private set; }

    public void Run(CSharpCompilation baseCompilation)
    {
        var owner = new Dictionary<SyntaxTree, FuzzCase>();
        var generated = new HashSet<SyntaxTree>();
        foreach (var (c, sources, generatedSources) in cases)
        {
            foreach (var tree in sources) owner[tree] = c;
            foreach (var tree in generatedSources)
            {
                owner[tree] = c;
                generated.Add(tree);
            }
        }

        var compilation = baseCompilation
            .WithOptions(baseCompilation.Options.WithOptimizationLevel(OptimizationLevel.Release))
            .AddSyntaxTrees(owner.Keys);
        using var image = new MemoryStream();
        var emit = compilation.Emit(image);

        // Errors anywhere, and warnings in generated code, are the owning case's failure. An error with no file fails them all.
        var problems = emit.Diagnostics
            .Where(d => d.Severity == DiagnosticSeverity.Error || d.Severity == DiagnosticSeverity.Warning && d.Location.SourceTree is { } t && generated.Contains(t))
            .ToList();
        foreach (var group in problems.GroupBy(d => d.Location.SourceTree is { } t && owner.TryGetValue(t, out var c) ? c : null))
        {
            foreach (var c in group.Key is null ? cases.Select(x => x.Case) : [group.Key])
                Fail(c, $"the valid source does not compile cleanly:\n{Snapshot.Format(group.Take(10), compilation)}");
        }
        if (!emit.Success)
        {
            // Compile the rest again without the failing cases, so one bad case does not hide the others' results.
            var rest = cases.Where(x => !Failures.ContainsKey(x.Case.Index)).ToList();
            if (rest.Count > 0 && rest.Count < cases.Count)
            {
                var retry = new KernelBatch(seed, rest);
                retry.Run(baseCompilation);
                foreach (var (index, failure) in retry.Failures) Failures[index] = failure;
                KernelsRun += retry.KernelsRun;
                KernelsCompiledOnly += retry.KernelsCompiledOnly;
            }
            return;
        }

        image.Position = 0;
        var context = new AssemblyLoadContext($"ConvGen.Fuzz.Batch{cases[0].Case.Index}", isCollectible: true);
        try
        {
            var assembly = context.LoadFromStream(image);
            foreach (var (c, _, _) in cases)
            {
                foreach (var kernel in c.Kernels)
                {
                    try
                    {
                        if (Check(assembly, c, kernel) is { } failure) Fail(c, $"{kernel.MetadataName}: {failure}");
                    }
                    catch (Exception e)
                    {
                        Fail(c, $"{kernel.MetadataName} threw {e}");
                    }
                }
            }
        }
        finally
        {
            context.Unload();
        }
    }

    private void Fail(FuzzCase c, string problem)
        => Failures[c.Index] = Failures.TryGetValue(c.Index, out var earlier) ? earlier + "\n" + problem : problem;

    /// <summary>Shape functions at several sizes, then Forward on a small input if the case is small enough; null when all agree.</summary>
    private string? Check(Assembly assembly, FuzzCase c, ExpectedKernel kernel)
    {
        var type = assembly.GetType(kernel.MetadataName);
        if (type is null) return "the class is not in the compiled assembly";
        var k = kernel.Config;
        int eh = (k.KH - 1) * k.DH + 1, ew = (k.KW - 1) * k.DW + 1;

        // docs/attributes.md: Valid out = (in - extent) / s + 1 for in >= extent; Same out = ceil(in / s). Checked up to int.MaxValue.
        var outputHeight = type.GetMethod("OutputHeight", [typeof(int)]);
        var outputWidth = type.GetMethod("OutputWidth", [typeof(int)]);
        if (outputHeight is null || outputWidth is null) return "no OutputHeight(int)/OutputWidth(int)";
        foreach (var (axis, method, extent, stride) in new[] { ("OutputHeight", outputHeight, eh, k.SH), ("OutputWidth", outputWidth, ew, k.SW) })
        {
            int smallest = k.Same ? 1 : extent;
            foreach (long size in new long[] { smallest, smallest + 1L, smallest + (long)stride, 1_000_003, int.MaxValue })
            {
                if (size > int.MaxValue || size < smallest) continue;
                var (oh, ow, _, _) = k.Geometry((int)size, (int)size);
                int expected = axis == "OutputHeight" ? oh : ow;
                int actual = (int)method.Invoke(null, [(int)size])!;
                if (actual != expected) return $"{axis}({size}) is {actual}; the documented formula gives {expected}";
            }
        }

        // Forward on a small random input: NaN-filled output, so every element must be written.
        var rng = FuzzFamilies.CaseRandom(seed ^ 0x5EED, c.Index);
        int n = rng.Next(1, 3);
        int h = k.Same ? rng.Next(1, Math.Min(eh, 16) + 5) : eh + rng.Next(0, 4);
        int w = k.Same ? rng.Next(1, Math.Min(ew, 16) + 5) : ew + rng.Next(0, 4);
        var (outH, outW, _, _) = k.Geometry(h, w);
        int groups = kernel.Groups;
        long inputLength = (long)n * h * w * k.C, weightLength = (long)k.KH * k.KW * (k.C / groups) * k.F;
        long multiplyAdds = (long)n * outH * outW * k.F * k.KH * k.KW * (k.C / groups);
        if (inputLength > MaxRunElements || weightLength > MaxRunElements || multiplyAdds > MaxRunMultiplyAdds)
        {
            KernelsCompiledOnly++;
            return null;
        }
        var forward = type.GetMethod("Forward", BindingFlags.Public | BindingFlags.Static, ForwardParameters)?.CreateDelegate<ForwardKernel>();
        if (forward is null) return "no static Forward(ReadOnlySpan<float>, int, int, int, ReadOnlySpan<float>, ReadOnlySpan<float>, Span<float>)";
        float[] x = RandomValues(rng, (int)inputLength), weights = RandomValues(rng, (int)weightLength);
        float[] bias = k.UseBias ? RandomValues(rng, k.F) : [];
        var y = new float[n * outH * outW * k.F];
        y.AsSpan().Fill(float.NaN);
        forward(x, n, h, w, weights, bias, y);
        KernelsRun++;
        var reference = groups == 1 ? ReferenceConv.Forward(k, x, n, h, w, weights, bias) : Grouped(k, groups, x, n, h, w, weights, bias);
        return ReferenceComparison.FirstMismatch(reference, y, k.KH * k.KW * (k.C / groups)) is { } mismatch
            ? $"Forward on n={n} h={h} w={w} differs from the reference: {mismatch}"
            : null;
    }

    /// <summary>The grouped reference (<see cref="ReferenceGrouped"/>), rounded to float.</summary>
    private static float[] Grouped(ConvConfig k, int groups, float[] x, int n, int h, int w, float[] weights, float[] bias)
    {
        var config = new GroupedConfig(k.KH, k.KW, k.C, k.F, groups, k.SH, k.SW, k.DH, k.DW, k.Same, k.UseBias);
        static double[] Double(float[] values) => Array.ConvertAll(values, v => (double)v);
        return Array.ConvertAll(ReferenceGrouped.Forward(config, Double(x), n, h, w, Double(weights), Double(bias)), v => (float)v);
    }

    private static float[] RandomValues(Random rng, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        return values;
    }
}
