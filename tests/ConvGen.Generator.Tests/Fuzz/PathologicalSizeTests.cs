using System;
using System.Diagnostics;
using System.Linq;
using ConvGen.Generator.Tests.Helpers;
using Microsoft.CodeAnalysis;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Generator.Tests.Fuzz;

/// <summary>
/// Pathological but valid sizes (issue #7): the largest kernels, channel and filter counts, dilations and strides the
/// limits of docs/attributes.md allow must generate a bounded amount of code in bounded time. The bounds below are the limits
/// docs/testing.md states; the configurations sit on or next to the parser's limits (64 unrolled taps, a dilated window of
/// 65,536, 2^28 weights).
/// </summary>
public sealed class PathologicalSizeTests(ITestOutputHelper output)
{
    /// <summary>
    /// Most source text one [Conv2D] class may generate. The window is unrolled up to 64 taps and looped beyond, and
    /// channels and filters are always looped over, so the largest files are the 64-tap unrolled ones with enough channels
    /// and filters to take every code path: 8x8 with 512 channels and filters measured 367,989 chars (a 64x64 window,
    /// looped, 55,312).
    /// </summary>
    public const int MaxGeneratedChars = 512 * 1024;

    /// <summary>
    /// Longest one (warm) generator run over one such class may take: a guard against a hang or a blow-up, not a speed
    /// claim. The runs measured 6-50 ms; see benchmarks/ConvGen.Generator.Benchmarks for the generator's speed.
    /// </summary>
    public static readonly TimeSpan MaxGenerationTime = TimeSpan.FromSeconds(5);

    /// <summary>One run first, so the JIT compiling the generator and Roslyn is not charged to the first configuration timed.</summary>
    private static readonly Lazy<GeneratorResult> WarmUp = new(() => GeneratorRunner.Run("using ConvGen; [Conv2D(3, 3, Filters = 8)] public partial class Warm;"));

    public static TheoryData<string, string> ValidExtremes => new()
    {
        { "64x64 kernel, 512 filters (the issue's example)", "64, 64, Filters = 512" },
        { "64x64 kernel, 512 filters, 128 channels: exactly 2^28 weights", "64, 64, Filters = 512, InputChannels = 128, Padding = Padding.Same" },
        { "8x8, the largest unrolled window, 512 channels and filters", "8, 8, Filters = 512, InputChannels = 512, Padding = Padding.Same" },
        { "7x9 (63 taps, unrolled), 512 channels and filters, strides and dilations", "7, 9, Filters = 512, InputChannels = 512, StrideHeight = 3, StrideWidth = 2, DilationHeight = 5, DilationWidth = 7, Padding = Padding.Same" },
        { "1x64 unrolled, dilated to a 65,521-wide window", "1, 64, DilationWidth = 1040, Filters = 33, InputChannels = 5, Padding = Padding.Same" },
        { "2x2 dilated to the largest window, 65,536 per axis", "2, 2, Dilation = 65535, Filters = 17, InputChannels = 3, Padding = Padding.Same" },
        { "65536x1, the longest window (looped)", "65536, 1, Filters = 9, Padding = Padding.Same" },
        { "1x1 with 16384 channels and filters: 2^28 weights", "1, 1, Filters = 16384, InputChannels = 16384" },
        { "1x1 with 2^24 filters and one channel: the transposed weights (padded to 16 taps) reach 2^28", "1, 1, Filters = 16777216, Padding = Padding.Same" },
        { "1x1 with 2^28 channels", "1, 1, InputChannels = 268435456" },
        { "3x3 with int.MaxValue strides, 512 channels and filters", "3, 3, Stride = int.MaxValue, Filters = 512, InputChannels = 512, Padding = Padding.Same" },
    };

    [Theory]
    [MemberData(nameof(ValidExtremes))]
    public void ValidExtremeGeneratesBoundedCompilingCodeInBoundedTime(string description, string arguments)
    {
        Assert.Single(WarmUp.Value.Sources);
        var compilation = GeneratorRunner.CreateCompilation($"using ConvGen; namespace N; [Conv2D({arguments})] public partial class Extreme;");
        var clock = Stopwatch.StartNew();
        var result = GeneratorRunner.Run(GeneratorRunner.CreateDriver(), compilation);
        var elapsed = clock.Elapsed;

        Assert.Null(result.RunResult.Exception);
        Assert.All(result.GeneratorDiagnostics, d => Assert.Equal("CONVGEN012", d.Id)); // at most the Info for a looped window
        int chars = Assert.Single(result.Sources).SourceText.Length;
        output.WriteLine($"{description}: {chars:N0} chars in {elapsed.TotalMilliseconds:F0} ms");
        Assert.True(chars <= MaxGeneratedChars, $"{description}: {chars:N0} chars generated, more than {MaxGeneratedChars:N0}");
        Assert.True(elapsed <= MaxGenerationTime, $"{description}: generation took {elapsed.TotalSeconds:F1} s, more than {MaxGenerationTime.TotalSeconds} s");

        // It cannot be run (2^28 weights are a GiB), but it must compile without a warning.
        var problems = result.OutputDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, $"{description}:\n{Snapshot.Format(problems.Take(20), result.Output)}");
    }

    [Theory]
    [InlineData("64, 64, Filters = 512, InputChannels = 512")] // 2^30 weights
    [InlineData("64, 64, Filters = 512, InputChannels = 129")] // one channel past 2^28
    [InlineData("65537, 1")] // a window one past 65,536
    [InlineData("2, 2, Dilation = 65536")] // dilated one past 65,536
    [InlineData("1, 2, DilationWidth = 65535, InputChannels = 4097")] // a kernel row spanning more than 2^28 input values
    [InlineData("1, 1, Filters = 16777217")] // one channel: the transposed weights padded to 16 taps pass 2^28
    public void JustPastTheLimitsIsDiagnosedQuicklyWithoutCode(string arguments)
    {
        Assert.Single(WarmUp.Value.Sources);
        var compilation = GeneratorRunner.CreateCompilation($"using ConvGen; [Conv2D({arguments})] public partial class TooLarge;");
        var clock = Stopwatch.StartNew();
        var result = GeneratorRunner.Run(GeneratorRunner.CreateDriver(), compilation);
        Assert.True(clock.Elapsed <= MaxGenerationTime, $"diagnosing took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Null(result.RunResult.Exception);
        Assert.Contains(result.GeneratorDiagnostics, d => d.Id == "CONVGEN015");
        Assert.Empty(result.Sources);
    }
}
