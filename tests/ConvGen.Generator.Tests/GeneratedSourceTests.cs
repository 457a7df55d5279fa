using System.Linq;
using System.Runtime.CompilerServices;
using ConvGen.Generator.Tests.Helpers;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ConvGen.Generator.Tests;

/// <summary>
/// Snapshots of the code generated for representative configurations. Each one must also compile cleanly: no error or
/// warning of the output compilation may lie in a generated file.
/// </summary>
public sealed class GeneratedSourceTests
{
    [Fact]
    public void EdgeKernel1x2() => Verify("""
        using ConvGen;

        namespace Samples;

        [Conv2D(1, 2)]
        public partial class EdgeConv;
        """);

    [Fact]
    public void Same3x3Stride2Rgb16() => Verify("""
        using ConvGen;

        namespace Samples;

        [Conv2D(3, 3, Filters = 16, InputChannels = 3, Stride = 2, Padding = Padding.Same)]
        public partial class StemConv;
        """);

    [Fact]
    public void Same5x5Channels32To64() => Verify("""
        using ConvGen;

        namespace Samples;

        [Conv2D(5, 5, InputChannels = 32, Filters = 64, Padding = Padding.Same)]
        public partial class WideConv;
        """);

    [Fact]
    public void Valid3x5PerAxisStride() => Verify("""
        using ConvGen;

        namespace Samples;

        [Conv2D(3, 5, Padding = Padding.Valid, StrideHeight = 3, StrideWidth = 4, Filters = 5, InputChannels = 2)]
        public partial class StridedConv;
        """);

    [Fact]
    public void Dilation2() => Verify("""
        using ConvGen;

        namespace Samples;

        [Conv2D(3, 3, Dilation = 2, Padding = Padding.Same, Filters = 8, InputChannels = 4)]
        public partial class DilatedConv;
        """);

    [Fact]
    public void NoBias() => Verify("""
        using ConvGen;

        namespace Samples;

        [Conv2D(3, 3, UseBias = false, Filters = 4)]
        public partial class BiaslessConv;
        """);

    [Fact]
    public void ReLU() => Verify("""
        using ConvGen;

        namespace Samples;

        [Conv2D(3, 3, Activation = Activation.ReLU, Padding = Padding.Same, Filters = 6, InputChannels = 2)]
        public partial class ReluConv;
        """);

    [Fact]
    public void Depthwise3x3Same() => Verify("""
        using ConvGen;

        namespace Samples;

        [DepthwiseConv2D(3, 3, InputChannels = 24, Padding = Padding.Same, UseBias = false)]
        public partial class DepthwiseConv;
        """);

    [Fact]
    public void DepthwiseMultiplier2Stride2() => Verify("""
        using ConvGen;

        namespace Samples;

        [DepthwiseConv2D(3, 3, InputChannels = 3, DepthMultiplier = 2, Stride = 2, Activation = Activation.ReLU)]
        public partial class ExpandingDepthwise;
        """);

    [Fact]
    public void Conv1DCausalDilated() => Verify("""
        using ConvGen;

        namespace Samples;

        [Conv1D(3, Filters = 16, InputChannels = 8, Dilation = 2, Padding = Padding.Causal)]
        public partial class CausalConv;
        """);

    [Fact]
    public void Transpose3x3Stride2Same() => Verify("""
        using ConvGen;

        namespace Samples;

        [Conv2DTranspose(3, 3, Filters = 8, InputChannels = 16, Stride = 2, Padding = Padding.Same)]
        public partial class Up;
        """);

    [Fact]
    public void TransposeValidStrideAboveKernelNoBias() => Verify("""
        using ConvGen;

        namespace Samples;

        [Conv2DTranspose(2, 3, Filters = 3, InputChannels = 4, StrideHeight = 3, UseBias = false, Activation = Activation.ReLU)]
        public partial class Spread;
        """);

    [Fact]
    public void Grouped3x3Groups4() => Verify("""
        using ConvGen;

        namespace Samples;

        [Conv2D(3, 3, Filters = 32, InputChannels = 16, Groups = 4, Padding = Padding.Same)]
        public partial class GroupedConv;
        """);

    [Fact]
    public void GroupedOneChannelPerGroupStride2NoBias() => Verify("""
        using ConvGen;

        namespace Samples;

        [Conv2D(3, 3, Filters = 16, InputChannels = 8, Groups = 8, Stride = 2, UseBias = false)]
        public partial class ChannelwiseConv;
        """);

    [Fact]
    public void NestedInNamespace() => Verify("""
        using ConvGen;

        namespace My.Ns;

        public partial class Outer
        {
            [Conv2D(3, 3)]
            public partial class Inner;
        }
        """);

    [Fact]
    public void GlobalNamespace() => Verify("""
        [ConvGen.Conv2D(2, 2, Filters = 3)]
        internal sealed partial class GlobalConv;
        """);

    [Fact]
    public void SameNameInTwoNamespaces()
    {
        // Two classes with one simple name: two files, and the file-local kernel classes must not collide.
        var result = Verify("""
            using ConvGen;

            namespace First
            {
                [Conv2D(1, 1)]
                public partial class Conv;
            }

            namespace Second
            {
                [Conv2D(1, 1, Filters = 2)]
                public partial class Conv;
            }
            """);
        Assert.Equal(new[] { "First.Conv.g.cs", "Second.Conv.g.cs" }, result.Sources.Select(s => s.HintName));
    }

    [Fact]
    public void Looped9x9()
    {
        // More than 64 taps: the interior window is a loop, and CONVGEN012 says so.
        var result = Verify("""
            using ConvGen;

            namespace Samples;

            [Conv2D(9, 9, Padding = Padding.Same, Filters = 4, InputChannels = 2)]
            public partial class LargeConv;
            """, expectDiagnostics: true);
        var info = Assert.Single(result.GeneratorDiagnostics);
        Assert.Equal(("CONVGEN012", DiagnosticSeverity.Info), (info.Id, info.Severity));
        Snapshot.VerifyDiagnostics(result);
    }

    /// <summary>Generates, checks that the output compiles without problems, and snapshots every generated source.</summary>
    internal static GeneratorResult Verify(string source, bool expectDiagnostics = false,
        [CallerFilePath] string testFile = "", [CallerMemberName] string testMethod = "")
    {
        var result = GeneratorRunner.Run(source);
        Assert.Null(result.RunResult.Exception);
        if (!expectDiagnostics) Assert.True(result.GeneratorDiagnostics.IsEmpty, Snapshot.Format(result.GeneratorDiagnostics, result.Input));
        Assert.True(result.GeneratedCodeProblems.Count == 0, "Generated code does not compile cleanly:\n" + Snapshot.Format(result.GeneratedCodeProblems));
        var errors = result.OutputDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "The output compilation has errors:\n" + Snapshot.Format(errors));
        Snapshot.VerifySources(result, testFile, testMethod);
        return result;
    }
}
