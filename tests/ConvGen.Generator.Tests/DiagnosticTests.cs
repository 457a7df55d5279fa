using System.Linq;
using System.Runtime.CompilerServices;
using ConvGen.Generator.Tests.Helpers;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ConvGen.Generator.Tests;

/// <summary>
/// One minimal failing source per diagnostic id. Each test asserts the id and where it points (the offending argument,
/// the class name or the member), and snapshots every generator diagnostic with its message.
/// </summary>
public sealed class DiagnosticTests
{
    [Fact]
    public void ValidCodeHasNoDiagnostics()
    {
        var result = GeneratorRunner.Run("""
            using ConvGen;

            namespace Samples;

            [Conv2D(3, 3, Filters = 8, InputChannels = 3, StrideHeight = 2, DilationWidth = 2, Padding = Padding.Same, UseBias = false, Activation = Activation.ReLU)]
            public sealed partial class Valid
            {
                public int Unrelated => 42;
            }
            """);
        Assert.Null(result.RunResult.Exception);
        Assert.True(result.GeneratorDiagnostics.IsEmpty, Snapshot.Format(result.GeneratorDiagnostics, result.Input));
        Assert.True(result.OutputDiagnostics.IsEmpty, Snapshot.Format(result.OutputDiagnostics, result.Input));
        Assert.Single(result.Sources);
    }

    [Fact]
    public void CONVGEN001_NotPartial() => Check("CONVGEN001", "NotPartial", """
        using ConvGen;

        [Conv2D(3, 3)]
        public class NotPartial { }
        """);

    [Fact]
    public void CONVGEN001_NotPartialInOneOfTwoDeclarations() => Check("CONVGEN001", "Split", """
        using ConvGen;

        [Conv2D(3, 3)]
        public partial class Split { }
        """, """
        public class Split { }
        """);

    [Fact]
    public void CONVGEN002_KernelSizeTooSmall() => Check("CONVGEN002", "0", """
        using ConvGen;

        [Conv2D(0, 3)]
        public partial class ZeroHeight;
        """);

    [Fact]
    public void CONVGEN002_KernelSizeTooSmallNamedArgument() => Check("CONVGEN002", "kernelWidth: -1", """
        using ConvGen;

        [Conv2D(kernelWidth: -1, kernelHeight: 3)]
        public partial class NegativeWidth;
        """);

    [Fact]
    public void CONVGEN003_StrideTooSmall() => Check("CONVGEN003", "Stride = 0", """
        using ConvGen;

        [Conv2D(3, 3, Stride = 0)]
        public partial class ZeroStride;
        """);

    [Fact]
    public void CONVGEN003_PerAxisStrideTooSmall() => Check("CONVGEN003", "StrideWidth = -2", """
        using ConvGen;

        [Conv2D(3, 3, StrideHeight = 2, StrideWidth = -2)]
        public partial class NegativeStrideWidth;
        """);

    [Fact]
    public void CONVGEN004_DilationTooSmall() => Check("CONVGEN004", "DilationHeight = 0", """
        using ConvGen;

        [Conv2D(3, 3, DilationHeight = 0)]
        public partial class ZeroDilation;
        """);

    [Fact]
    public void CONVGEN005_FiltersTooSmall() => Check("CONVGEN005", "Filters = 0", """
        using ConvGen;

        [Conv2D(3, 3, Filters = 0)]
        public partial class NoFilters;
        """);

    [Fact]
    public void CONVGEN006_InputChannelsTooSmall() => Check("CONVGEN006", "InputChannels = -3", """
        using ConvGen;

        [Conv2D(3, 3, InputChannels = -3)]
        public partial class NegativeChannels;
        """);

    [Fact]
    public void CONVGEN007_StrideWithPerAxisStride() => Check("CONVGEN007", "Stride = 2", """
        using ConvGen;

        [Conv2D(3, 3, Stride = 2, StrideHeight = 3)]
        public partial class ConflictingStride;
        """);

    [Fact]
    public void CONVGEN007_DilationWithBothPerAxisDilations()
    {
        var result = Check("CONVGEN007", "Dilation = 2", """
            using ConvGen;

            [Conv2D(3, 3, DilationWidth = 1, Dilation = 2, DilationHeight = 2)]
            public partial class ConflictingDilation;
            """);
        Assert.Equal(2, result.GeneratorDiagnostics.Count(d => d.Id == "CONVGEN007"));
    }

    [Fact]
    public void CONVGEN008_GenericType() => Check("CONVGEN008", "GenericConv", """
        using ConvGen;

        [Conv2D(3, 3)]
        public partial class GenericConv<T>;
        """);

    [Fact]
    public void CONVGEN008_NestedInGenericType() => Check("CONVGEN008", "Inner", """
        using ConvGen;

        public partial class Outer<T>
        {
            [Conv2D(3, 3)]
            public partial class Inner;
        }
        """);

    [Fact]
    public void CONVGEN008_NestedInGenericType_IsReportedOnce()
    {
        var result = GeneratorRunner.Run("""
            using ConvGen;

            public partial class Outer<T>
            {
                [Conv2D(3, 3)]
                public partial class Inner;
            }
            """);
        Assert.Single(result.GeneratorDiagnostics, d => d.Id == "CONVGEN008");
    }

    [Fact]
    public void CONVGEN015_DilatedWidthTimesChannelsWouldOverflowOffsets() => Check("CONVGEN015", "8", """
        using ConvGen;

        [Conv2D(1, 8, DilationWidth = 9000, InputChannels = 1 << 20)]
        public partial class OffsetsOverflow;
        """);

    [Fact]
    public void CONVGEN009_MemberNameClash()
    {
        var result = Check("CONVGEN009", "Forward", """
            using ConvGen;

            [Conv2D(3, 3)]
            public partial class Clashing
            {
                public void Forward() { }

                public int KernelHeight { get; set; }
            }
            """);
        Assert.Contains(result.GeneratorDiagnostics, d => d.Id == "CONVGEN009" && d.LocatedText(result.Input) == "KernelHeight");
    }

    [Fact]
    public void CONVGEN010_Record() => Check("CONVGEN010", "Rec", """
        using ConvGen;

        [Conv2D(3, 3)]
        public partial record Rec;
        """);

    [Fact]
    public void CONVGEN010_StaticClass() => Check("CONVGEN010", "Static", """
        using ConvGen;

        [Conv2D(3, 3)]
        public static partial class Static;
        """);

    [Fact]
    public void CONVGEN010_AbstractClass() => Check("CONVGEN010", "Abstract", """
        using ConvGen;

        [Conv2D(3, 3)]
        public abstract partial class Abstract;
        """);

    [Fact]
    public void CONVGEN010_Struct() => Check("CONVGEN010", "Struct", """
        using ConvGen;

        [Conv2D(3, 3)]
        public partial struct Struct;
        """);

    [Fact]
    public void CONVGEN010_Interface() => Check("CONVGEN010", "IConv", """
        using ConvGen;

        [Conv2D(3, 3)]
        public partial interface IConv;
        """);

    [Fact]
    public void CONVGEN011_ContainingTypeNotPartial() => Check("CONVGEN011", "Inner", """
        using ConvGen;

        public class Outer
        {
            [Conv2D(3, 3)]
            public partial class Inner;
        }
        """);

    [Fact]
    public void CONVGEN012_KernelNotUnrolled()
    {
        var result = Check("CONVGEN012", "Conv2D(9, 9)", """
            using ConvGen;

            [Conv2D(9, 9)]
            public partial class Large;
            """);
        Assert.Equal(DiagnosticSeverity.Info, Assert.Single(result.GeneratorDiagnostics).Severity);
        Assert.Single(result.Sources); // an Info, not an error: the code is still generated
    }

    [Fact]
    public void CONVGEN013_UndefinedEnumValue() => Check("CONVGEN013", "Padding = (Padding)5", """
        using ConvGen;

        [Conv2D(3, 3, Padding = (Padding)5)]
        public partial class BadPadding;
        """);

    [Fact]
    public void CONVGEN013_UndefinedActivation() => Check("CONVGEN013", "Activation = (Activation)(-1)", """
        using ConvGen;

        [Conv2D(3, 3, Activation = (Activation)(-1))]
        public partial class BadActivation;
        """);

    [Fact]
    public void CONVGEN014_NonConstantArgument() => Check("CONVGEN014", "Conv2D(3, 3, Filters = Sizes.Count)", """
        using ConvGen;

        public static class Sizes
        {
            public static int Count = 4;
        }

        [Conv2D(3, 3, Filters = Sizes.Count)]
        public partial class NotConstant;
        """);

    [Fact]
    public void CONVGEN015_TooManyWeights() => Check("CONVGEN015", "Conv2D(3, 3, InputChannels = 65536, Filters = 65536)", """
        using ConvGen;

        [Conv2D(3, 3, InputChannels = 65536, Filters = 65536)]
        public partial class Huge;
        """);

    [Fact]
    public void CONVGEN015_DilatedKernelTooWide() => Check("CONVGEN015", "3", """
        using ConvGen;

        [Conv2D(1, 3, DilationWidth = 40000)]
        public partial class TooDilated;
        """);

    [Fact]
    public void SeveralProblemsAreAllReported()
    {
        var result = GeneratorRunner.Run("""
            using ConvGen;

            [Conv2D(0, 3, Filters = 0, InputChannels = 0, Stride = 0, Dilation = 0)]
            public class Everything;
            """);
        Assert.Equal(new[] { "CONVGEN001", "CONVGEN002", "CONVGEN003", "CONVGEN004", "CONVGEN005", "CONVGEN006" },
            result.GeneratorDiagnostics.Select(d => d.Id).Distinct().OrderBy(id => id));
        Assert.Empty(result.Sources);
        Snapshot.VerifyDiagnostics(result);
    }

    [Fact]
    public void CONVGEN002_Conv1DKernelSize() => Check("CONVGEN002", "0", """
        using ConvGen;

        [Conv1D(0, Filters = 4)]
        public partial class NoTaps;
        """);

    [Fact]
    public void CONVGEN003_Conv1DStride() => Check("CONVGEN003", "Stride = 0", """
        using ConvGen;

        [Conv1D(3, Stride = 0)]
        public partial class Standing;
        """);

    [Fact]
    public void CONVGEN009_Conv1DCausalMember() => Check("CONVGEN009", "Causal", """
        using ConvGen;

        [Conv1D(3, Filters = 4)]
        public partial class Clash
        {
            public bool Causal => false;
        }
        """);

    [Fact]
    public void CONVGEN040_DepthMultiplierTooSmall() => Check("CONVGEN040", "DepthMultiplier = -1", """
        using ConvGen;

        [DepthwiseConv2D(3, 3, InputChannels = 8, DepthMultiplier = -1)]
        public partial class NoFilters;
        """);

    [Fact]
    public void CONVGEN044_GroupsZero() => Check("CONVGEN044", "Groups = 0", """
        using ConvGen;

        [Conv2D(3, 3, Filters = 32, InputChannels = 16, Groups = 0)]
        public partial class NoGroups;
        """);

    [Fact]
    public void CONVGEN044_GroupsNotDividingInputChannels() => Check("CONVGEN044", "Groups = 3", """
        using ConvGen;

        [Conv2D(3, 3, Filters = 48, InputChannels = 16, Groups = 3)]
        public partial class ThreeGroups;
        """);

    [Fact]
    public void CONVGEN044_GroupsNotDividingFilters() => Check("CONVGEN044", "Groups = 4", """
        using ConvGen;

        [Conv2D(3, 3, Filters = 10, InputChannels = 16, Groups = 4)]
        public partial class FourGroups;
        """);

    [Fact]
    public void CONVGEN009_GroupsMemberOnAGroupedClass() => Check("CONVGEN009", "Groups", """
        using ConvGen;

        [Conv2D(3, 3, Filters = 8, InputChannels = 8, Groups = 2)]
        public partial class Clash
        {
            public int Groups => 2;
        }
        """);

    [Fact]
    public void CONVGEN037_NameOnADepthwiseClass() => Check("CONVGEN037", "Name = \"dw\"", """
        using ConvGen;

        [DepthwiseConv2D(3, 3, InputChannels = 8, Name = "dw")]
        public partial class Named;
        """);

    [Fact]
    public void CONVGEN009_DepthwiseReservedMember() => Check("CONVGEN009", "DepthMultiplier", """
        using ConvGen;

        [DepthwiseConv2D(3, 3, InputChannels = 8)]
        public partial class Clash
        {
            public int DepthMultiplier => 2;
        }
        """);

    [Fact]
    public void CONVGEN005_TransposeClassWithoutFilters() => Check("CONVGEN005", "Filters = -2", """
        using ConvGen;

        [Conv2DTranspose(3, 3, InputChannels = 8, Filters = -2)]
        public partial class NoFilters;
        """);

    [Fact]
    public void CONVGEN043_TransposeClassStrideAndDilation() => Check("CONVGEN043", "DilationWidth = 3", """
        using ConvGen;

        [Conv2DTranspose(3, 3, InputChannels = 8, Filters = 4, StrideHeight = 2, DilationWidth = 3)]
        public partial class Both;
        """);

    [Fact]
    public void CONVGEN037_KernelL2OnATransposeClass() => Check("CONVGEN037", "KernelL2 = 0.1f", """
        using ConvGen;

        [Conv2DTranspose(3, 3, InputChannels = 8, KernelL2 = 0.1f)]
        public partial class Penalized;
        """);

    [Fact]
    public void CONVGEN009_TransposeReservedMember() => Check("CONVGEN009", "Filters", """
        using ConvGen;

        [Conv2DTranspose(3, 3, InputChannels = 8)]
        public partial class Clash
        {
            public int Filters => 2;
        }
        """);

    /// <summary>
    /// Runs the generator on <paramref name="sources"/> and asserts that <paramref name="id"/> is reported at
    /// <paramref name="at"/> (the exact located text), that errors stop code generation, and that no exception escaped;
    /// then snapshots the diagnostics.
    /// </summary>
    internal static GeneratorResult Check(string id, string at, string source, string? secondSource = null,
        [CallerFilePath] string testFile = "", [CallerMemberName] string testMethod = "")
    {
        var result = secondSource is null ? GeneratorRunner.Run(source) : GeneratorRunner.Run(source, secondSource);
        Assert.Null(result.RunResult.Exception);
        var all = Snapshot.Format(result.GeneratorDiagnostics, result.Input);
        var matching = result.GeneratorDiagnostics.Where(d => d.Id == id).ToList();
        Assert.True(matching.Count > 0, $"Expected {id}; got:\n{all}");
        Assert.True(matching.Any(d => d.LocatedText(result.Input) == at), $"Expected {id} at '{at}'; got:\n{all}");
        Assert.All(matching, d => Assert.Equal(GeneratorRunner.SourcePath, d.Location.GetLineSpan().Path));
        if (result.GeneratorDiagnostics.Any(d => d.Severity == DiagnosticSeverity.Error))
            Assert.Empty(result.Sources);
        Snapshot.VerifyDiagnostics(result, testFile, testMethod);
        return result;
    }
}
