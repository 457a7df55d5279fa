using System.Linq;
using ConvGen.Generator.Tests.Helpers;
using Microsoft.CodeAnalysis;
using Xunit;
using static ConvGen.Generator.Tests.DiagnosticTests;
using static ConvGen.Generator.Tests.GeneratedSourceTests;

namespace ConvGen.Generator.Tests;

/// <summary>
/// Compiled networks (stacked layer attributes after [Input]): snapshots of the generated network, and one failing source per
/// network diagnostic, each pointing at the offending attribute or argument and naming the shapes involved.
/// </summary>
public sealed class NetworkTests
{
    [Fact]
    public void TutorialMnistNetwork() => Verify("""
        using ConvGen;

        namespace Samples;

        [Input(28, 28, 1)]
        [Conv2D(5, 5, Filters = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
        [MaxPool2D(2)]
        [Conv2D(5, 5, Filters = 64, Padding = Padding.Same, Activation = Activation.ReLU)]
        [MaxPool2D(2)]
        [Flatten]
        [Dense(1024, Activation = Activation.ReLU)]
        [Dense(10)]
        public partial class MnistNet;
        """);

    [Fact]
    public void EveryFoldAndOddSizes() => Verify("""
        using ConvGen;

        namespace Samples;

        // conv -> conv with a ReLU mask between, a strided Valid conv without bias, a Same pool with an odd input,
        // Dense -> Dense with a ReLU mask, and a ReLU on the last layer (masked on the loss gradient).
        [Input(13, 11, 2)]
        [Conv2D(3, 3, Filters = 5, Padding = Padding.Same, Activation = Activation.ReLU)]
        [Conv2D(3, 2, Filters = 6, Stride = 2, Activation = Activation.ReLU, UseBias = false)]
        [MaxPool2D(2, Padding = Padding.Same)]
        [Flatten]
        [Dense(7, Activation = Activation.ReLU)]
        [Dense(3, Activation = Activation.ReLU)]
        public partial class OddNet;
        """);

    [Fact]
    public void InferredShapesAreInTheLayout()
    {
        var result = GeneratorRunner.Run("""
            using ConvGen;

            [Input(28, 28, 1)]
            [Conv2D(5, 5, Filters = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
            [MaxPool2D(2)]
            [Conv2D(5, 5, Filters = 64, Padding = Padding.Same, Activation = Activation.ReLU)]
            [MaxPool2D(2)]
            [Flatten]
            [Dense(1024, Activation = Activation.ReLU)]
            [Dense(10)]
            public partial class MnistNet;
            """);
        Assert.True(result.GeneratorDiagnostics.IsEmpty, Snapshot.Format(result.GeneratorDiagnostics, result.Input));
        string code = Assert.Single(result.Sources).SourceText.ToString();
        // Flatten's size (7 * 7 * 64) is computed, and the second convolution's 32 input channels inferred.
        Assert.Contains("//   4  flatten          Flatten      (3136)", code);
        Assert.Contains("file sealed class MnistNet_conv2d_1 : global::ConvGen.IConv2DKernel", code);
        Assert.Contains("private const int KernelHeight = 5, KernelWidth = 5, InputChannels = 32, Filters = 64;", code);
        Assert.Contains("new global::ConvGen.Dense(1024, global::ConvGen.Activation.ReLU)", code);
        Assert.Contains("const int height = 14, width = 14, outputHeight = 14, outputWidth = 14;", code);
    }

    [Fact]
    public void Layer_names_that_differ_only_in_punctuation_get_distinct_kernel_classes()
    {
        // "a_b_2", "a_b" and "a.b" all sanitize towards Net_a_b(_2): each kernel class must still get its own name.
        var result = GeneratorRunner.Run("""
            using ConvGen;

            [Input(8, 8, 1)]
            [Conv2D(3, 3, Filters = 2, Padding = Padding.Same, Name = "a_b_2")]
            [Conv2D(3, 3, Filters = 2, Padding = Padding.Same, Name = "a_b")]
            [Conv2D(3, 3, Filters = 2, Padding = Padding.Same, Name = "a.b")]
            [MaxPool2D(2, Name = "a-b")]
            [Flatten]
            [Dense(2)]
            public partial class Net;
            """);
        Assert.True(result.GeneratorDiagnostics.IsEmpty, Snapshot.Format(result.GeneratorDiagnostics, result.Input));
        Assert.Empty(result.GeneratedCodeProblems);
        string code = Assert.Single(result.Sources).SourceText.ToString();
        foreach (string kernel in new[] { "Net_a_b_2", "Net_a_b", "Net_a_b_3", "Net_a_b_4" })
            Assert.Contains($"file sealed class {kernel} :", code);
    }

    [Fact]
    public void InvertedResidualBlock() => Verify("""
        using ConvGen;

        namespace Samples;

        [Input(14, 14, 16)]
        [Conv2D(1, 1, Filters = 64, UseBias = false)]
        [BatchNormalization]
        [ReLU6]
        [DepthwiseConv2D(3, 3, Padding = Padding.Same, UseBias = false)]
        [BatchNormalization]
        [ReLU6]
        [Conv2D(1, 1, Filters = 16, UseBias = false)]
        [BatchNormalization]
        [Add("input")]
        [DepthwiseConv2D(3, 3, DepthMultiplier = 2, Stride = 2, Activation = Activation.ReLU)]
        [GlobalAveragePooling2D]
        [Dense(10)]
        public partial class InvertedBlock;
        """);

    [Fact]
    public void SequenceNetwork() => Verify("""
        using ConvGen;

        namespace Samples;

        [Input(28, 28)]
        [Conv1D(5, Filters = 32, Padding = Padding.Causal, UseBias = false)]
        [BatchNormalization]
        [ReLU]
        [MaxPool1D(2)]
        [Conv1D(3, Filters = 64, Stride = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
        [AveragePooling1D(2, Padding = Padding.Same)]
        [SiLU]
        [GlobalAveragePooling1D]
        [Dense(32)]
        [GELU]
        [Dense(10)]
        public partial class SequenceNet;
        """);

    [Fact]
    public void CONVGEN041_Conv2DOnASequence() => Check("CONVGEN041", "Conv2D(3, 3)", """
        using ConvGen;

        [Input(16, 4)]
        [Conv2D(3, 3)]
        [Flatten]
        [Dense(2)]
        public partial class Mixed;
        """);

    [Fact]
    public void CONVGEN041_Conv1DOnAnImage() => Check("CONVGEN041", "Conv1D(3, Filters = 4)", """
        using ConvGen;

        [Input(8, 8, 2)]
        [Conv1D(3, Filters = 4)]
        [Flatten]
        [Dense(2)]
        public partial class Mixed;
        """);

    [Fact]
    public void CONVGEN041_GlobalPool1DAfterFlatten() => Check("CONVGEN041", "GlobalAveragePooling1D", """
        using ConvGen;

        [Input(16, 4)]
        [Flatten]
        [GlobalAveragePooling1D]
        [Dense(2)]
        public partial class Flat;
        """);

    [Fact]
    public void CONVGEN021_DenseOnASequence() => Check("CONVGEN021", "Dense(2)", """
        using ConvGen;

        [Input(16, 4)]
        [Conv1D(3, Filters = 4)]
        [Dense(2)]
        public partial class NoFlatten;
        """);

    [Fact]
    public void CONVGEN042_CausalOnConv2D() => Check("CONVGEN042", "Padding = Padding.Causal", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Conv2D(3, 3, Padding = Padding.Causal)]
        [Flatten]
        [Dense(2)]
        public partial class NotCausal;
        """);

    [Fact]
    public void CONVGEN018_Conv1DLongerThanTheSequence() => Check("CONVGEN018", "Conv1D(4, Dilation = 3)", """
        using ConvGen;

        [Input(9, 2)]
        [Conv1D(4, Dilation = 3)]
        [Flatten]
        [Dense(2)]
        public partial class Short;
        """);

    [Fact]
    public void CONVGEN019_Pool1DLongerThanTheSequence() => Check("CONVGEN019", "MaxPool1D(5)", """
        using ConvGen;

        [Input(4, 2)]
        [MaxPool1D(5)]
        [Flatten]
        [Dense(2)]
        public partial class Short;
        """);

    [Fact]
    public void CONVGEN026_SequenceOfNoSteps() => Check("CONVGEN026", "0", """
        using ConvGen;

        [Input(0, 3)]
        [Flatten]
        [Dense(2)]
        public partial class Empty;
        """);

    [Fact]
    public void ResNeXtBlockWithGroupedConvolutions() => Verify("""
        using ConvGen;

        namespace Samples;

        [Input(12, 12, 8)]
        [Conv2D(1, 1, Filters = 16, UseBias = false, Name = "stem")]
        [Conv2D(3, 3, Filters = 16, Groups = 4, Padding = Padding.Same, UseBias = false)]
        [BatchNormalization]
        [ReLU]
        [Conv2D(1, 1, Filters = 16, Groups = 16)]
        [Add("stem", Activation = Activation.ReLU)]
        [Conv2D(2, 2, Filters = 8, Groups = 2, Activation = Activation.ReLU)]
        [MaxPool2D(2)]
        [Flatten]
        [Dense(10)]
        public partial class ResNeXtBlock;
        """);

    [Fact]
    public void CONVGEN044_GroupsNotDividingInferredChannels() => Check("CONVGEN044", "Groups = 4", """
        using ConvGen;

        [Input(8, 8, 6)]
        [Conv2D(3, 3, Filters = 8, Groups = 4)]
        [Flatten]
        [Dense(2)]
        public partial class SixChannels;
        """);

    [Fact]
    public void CONVGEN044_NegativeGroups() => Check("CONVGEN044", "Groups = -2", """
        using ConvGen;

        [Input(8, 8, 4)]
        [Conv2D(3, 3, Filters = 8, Groups = -2)]
        [Flatten]
        [Dense(2)]
        public partial class Negative;
        """);

    [Fact]
    public void EncoderDecoderWithTransposedConvolutions() => Verify("""
        using ConvGen;

        namespace Samples;

        [Input(16, 12, 3)]
        [Conv2D(3, 3, Filters = 16, Padding = Padding.Same, Activation = Activation.ReLU, Name = "skip")]
        [Conv2D(3, 3, Filters = 32, Stride = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
        [Conv2DTranspose(3, 3, Filters = 16, Stride = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
        [Concatenate("skip", "conv2d_transpose")]
        [Conv2DTranspose(2, 2, Filters = 4, Dilation = 2, KernelL2 = 1e-4f)]
        [Flatten]
        [Dense(10)]
        public partial class UNetish;
        """);

    [Fact]
    public void CONVGEN005_TransposeWithoutFilters() => Check("CONVGEN005", "Filters = 0", """
        using ConvGen;

        [Input(8, 8, 4)]
        [Conv2DTranspose(3, 3, Filters = 0, Stride = 2)]
        [Flatten]
        [Dense(2)]
        public partial class NoFilters;
        """);

    [Fact]
    public void CONVGEN022_TransposeInputChannelsDisagree() => Check("CONVGEN022", "InputChannels = 3", """
        using ConvGen;

        [Input(8, 8, 4)]
        [Conv2DTranspose(3, 3, Filters = 2, InputChannels = 3)]
        [Flatten]
        [Dense(2)]
        public partial class WrongChannels;
        """);

    [Fact]
    public void CONVGEN020_TransposeAfterFlatten() => Check("CONVGEN020", "Conv2DTranspose(3, 3, Filters = 2)", """
        using ConvGen;

        [Input(8, 8, 4)]
        [Flatten]
        [Conv2DTranspose(3, 3, Filters = 2)]
        public partial class Flat;
        """);

    [Fact]
    public void CONVGEN041_TransposeOnASequence() => Check("CONVGEN041", "Conv2DTranspose(3, 3, Filters = 2)", """
        using ConvGen;

        [Input(16, 4)]
        [Conv2DTranspose(3, 3, Filters = 2)]
        [Flatten]
        [Dense(2)]
        public partial class Sequence;
        """);

    [Fact]
    public void CONVGEN015_TransposeOutputTooLarge() => Check("CONVGEN015", "Conv2DTranspose(3, 3, Filters = 2, Stride = 40000)", """
        using ConvGen;

        [Input(64, 64, 1)]
        [Conv2DTranspose(3, 3, Filters = 2, Stride = 40000)]
        [Flatten]
        [Dense(2)]
        public partial class Huge;
        """);

    [Fact]
    public void CONVGEN043_TransposeStrideAndDilation() => Check("CONVGEN043", "Dilation = 2", """
        using ConvGen;

        [Input(8, 8, 4)]
        [Conv2DTranspose(3, 3, Filters = 2, Stride = 2, Dilation = 2)]
        [Flatten]
        [Dense(2)]
        public partial class Both;
        """);

    [Fact]
    public void CONVGEN016_TransposeAndConvolutionWithoutInput() => Check("CONVGEN016", "Conv2DTranspose(3, 3, InputChannels = 4)", """
        using ConvGen;

        [Conv2DTranspose(3, 3, InputChannels = 4)]
        [Conv2D(3, 3, Filters = 4)]
        public partial class Mixed;
        """);

    [Fact]
    public void CONVGEN045_ReshapeToAnotherSize() => Check("CONVGEN045", "Reshape(5, 5)", """
        using ConvGen;

        [Input(6, 8, 2)]
        [Reshape(5, 5)]
        [Flatten]
        [Dense(2)]
        public partial class Resized;
        """);

    [Fact]
    public void CONVGEN045_ReshapeWhoseInferredSizeIsNotWhole() => Check("CONVGEN045", "Reshape(-1, 5)", """
        using ConvGen;

        [Input(6, 8, 2)]
        [Reshape(-1, 5)]
        [Flatten]
        [Dense(2)]
        public partial class Uneven;
        """);

    [Fact]
    public void CONVGEN039_ReshapeWithTwoUnknownSizes() => Check("CONVGEN039", "-1", """
        using ConvGen;

        [Input(6, 8, 2)]
        [Reshape(4, -1, -1)]
        [Flatten]
        [Dense(2)]
        public partial class Unknowns;
        """);

    [Fact]
    public void CONVGEN040_DepthMultiplierInANetwork() => Check("CONVGEN040", "DepthMultiplier = 0", """
        using ConvGen;

        [Input(8, 8, 4)]
        [DepthwiseConv2D(3, 3, DepthMultiplier = 0)]
        [Flatten]
        [Dense(2)]
        public partial class NoFilters;
        """);

    [Fact]
    public void CONVGEN022_DepthwiseInputChannelsDisagree() => Check("CONVGEN022", "InputChannels = 3", """
        using ConvGen;

        [Input(8, 8, 4)]
        [DepthwiseConv2D(3, 3, InputChannels = 3)]
        [Flatten]
        [Dense(2)]
        public partial class WrongChannels;
        """);

    [Fact]
    public void CONVGEN018_DepthwiseKernelLargerThanInput() => Check("CONVGEN018", "DepthwiseConv2D(5, 5, Dilation = 2)", """
        using ConvGen;

        [Input(8, 8, 4)]
        [DepthwiseConv2D(5, 5, Dilation = 2)]
        [Flatten]
        [Dense(2)]
        public partial class TooSmall;
        """);

    [Fact]
    public void CONVGEN020_DepthwiseAfterFlatten() => Check("CONVGEN020", "DepthwiseConv2D(3, 3)", """
        using ConvGen;

        [Input(8, 8, 4)]
        [Flatten]
        [DepthwiseConv2D(3, 3)]
        public partial class Flat;
        """);

    [Fact]
    public void CONVGEN016_ConvolutionAndDepthwiseWithoutInput() => Check("CONVGEN016", "Conv2D(3, 3, Filters = 4)", """
        using ConvGen;

        [Conv2D(3, 3, Filters = 4)]
        [DepthwiseConv2D(3, 3, InputChannels = 4)]
        public partial class Mixed;
        """);

    [Fact]
    public void CONVGEN016_DepthwiseAndConvolutionWithoutInput() => Check("CONVGEN016", "DepthwiseConv2D(3, 3, InputChannels = 4)", """
        using ConvGen;

        [DepthwiseConv2D(3, 3, InputChannels = 4)]
        [Conv2D(3, 3, Filters = 4)]
        public partial class Mixed;
        """);

    [Fact]
    public void CONVGEN016_TwoDepthwiseWithoutInput() => Check("CONVGEN016", "DepthwiseConv2D(5, 5)", """
        using ConvGen;

        [DepthwiseConv2D(3, 3)]
        [DepthwiseConv2D(5, 5)]
        public partial class TwoDepthwise;
        """);

    [Fact]
    public void CONVGEN016_LayersWithoutInput() => Check("CONVGEN016", "Conv2D(3, 3)", """
        using ConvGen;

        [Conv2D(3, 3)]
        [MaxPool2D(2)]
        [Flatten]
        public partial class NoInput;
        """);

    [Fact]
    public void CONVGEN016_TwoConvolutionsWithoutInput() => Check("CONVGEN016", "Conv2D(3, 3, Filters = 4)", """
        using ConvGen;

        [Conv2D(3, 3)]
        [Conv2D(3, 3, Filters = 4)]
        public partial class TwoConvs;
        """);

    [Fact]
    public void CONVGEN017_InputNotFirst() => Check("CONVGEN017", "Conv2D(3, 3)", """
        using ConvGen;

        [Conv2D(3, 3)]
        [Input(8, 8, 1)]
        [Flatten]
        [Dense(2)]
        public partial class InputLate;
        """);

    [Fact]
    public void CONVGEN018_KernelLargerThanInput() => Check("CONVGEN018", "Conv2D(3, 3, Filters = 8)", """
        using ConvGen;

        [Input(8, 8, 1)]
        [MaxPool2D(4)]
        [Conv2D(3, 3, Filters = 8)]
        [Flatten]
        [Dense(2)]
        public partial class TooSmall;
        """);

    [Fact]
    public void CONVGEN019_PoolLargerThanInput() => Check("CONVGEN019", "MaxPool2D(3)", """
        using ConvGen;

        [Input(6, 6, 1)]
        [Conv2D(5, 5, Filters = 4)]
        [MaxPool2D(3)]
        [Flatten]
        [Dense(2)]
        public partial class PoolTooBig;
        """);

    [Fact]
    public void CONVGEN020_ConvolutionAfterFlatten() => Check("CONVGEN020", "Conv2D(3, 3)", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Flatten]
        [Conv2D(3, 3)]
        public partial class FlatConv;
        """);

    [Fact]
    public void CONVGEN021_DenseBeforeFlatten()
    {
        var result = Check("CONVGEN021", "Dense(10)", """
            using ConvGen;

            [Input(8, 8, 1)]
            [Conv2D(3, 3, Filters = 4)]
            [Dense(10)]
            public partial class NoFlatten;
            """);
        string message = result.GeneratorDiagnostics.Single(d => d.Id == "CONVGEN021").GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("(6, 6, 4)", message);
        Assert.Contains("(144)", message);
    }

    [Fact]
    public void CONVGEN022_InputChannelsMismatch() => Check("CONVGEN022", "InputChannels = 1", """
        using ConvGen;

        [Input(8, 8, 3)]
        [Conv2D(3, 3, InputChannels = 1)]
        [Flatten]
        [Dense(2)]
        public partial class WrongChannels;
        """);

    [Fact]
    public void CONVGEN023_LayersSplitAcrossPartials() => Check("CONVGEN023", "Flatten", """
        using ConvGen;

        [Flatten]
        [Dense(2)]
        public partial class Split;
        """, """
        using ConvGen;

        [Input(8, 8, 1)]
        public partial class Split;
        """);

    [Fact]
    public void CONVGEN024_PoolSizeTooSmall() => Check("CONVGEN024", "0", """
        using ConvGen;

        [Input(8, 8, 1)]
        [MaxPool2D(0)]
        public partial class ZeroPool;
        """);

    [Fact]
    public void CONVGEN025_UnitsTooSmall() => Check("CONVGEN025", "-3", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Flatten]
        [Dense(-3)]
        public partial class NegativeUnits;
        """);

    [Fact]
    public void CONVGEN026_InputSizeTooSmall() => Check("CONVGEN026", "0", """
        using ConvGen;

        [Input(28, 0, 1)]
        [Flatten]
        [Dense(2)]
        public partial class EmptyInput;
        """);

    [Fact]
    public void CONVGEN027_NoLayers() => Check("CONVGEN027", "Input(8, 8, 1)", """
        using ConvGen;

        [Input(8, 8, 1)]
        public partial class Empty;
        """);

    [Fact]
    public void CONVGEN028_NetworkBaseClass() => Check("CONVGEN028", "Derived", """
        using ConvGen;

        public class Base { }

        [Input(8, 8, 1)]
        [Flatten]
        [Dense(2)]
        public partial class Derived : Base;
        """);

    [Fact]
    public void CONVGEN028_Conv2DBaseClass() => Check("CONVGEN028", "Derived", """
        using ConvGen;

        public class Base { }

        [Conv2D(3, 3)]
        public partial class Derived : Base;
        """);

    [Fact]
    public void CONVGEN029_UnknownLayerName() => Check("CONVGEN029", "\"stme\"", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Name = "stem")]
        [Conv2D(3, 3, Filters = 4, Padding = Padding.Same)]
        [Add("stme")]
        [Flatten]
        [Dense(2)]
        public partial class Typo;
        """);

    [Fact]
    public void CONVGEN030_LaterLayerName() => Check("CONVGEN030", "Input = \"head\"", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Flatten(Input = "head")]
        [Dense(4, Name = "head")]
        [Dense(2)]
        public partial class Backwards;
        """);

    [Fact]
    public void CONVGEN031_DuplicateLayerName() => Check("CONVGEN031", "Name = \"block\"", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Name = "block")]
        [Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Name = "block")]
        [Flatten]
        [Dense(2)]
        public partial class Twice;
        """);

    [Fact]
    public void CONVGEN032_AddOfDifferentShapes() => Check("CONVGEN032", "\"stem\"", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Name = "stem")]
        [Conv2D(3, 3, Filters = 8, Padding = Padding.Same)]
        [Add("stem")]
        [Flatten]
        [Dense(2)]
        public partial class Mismatch;
        """);

    [Fact]
    public void CONVGEN033_ConcatenateOfDifferentSizes() => Check("CONVGEN033", "\"stem\"", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Name = "stem")]
        [Conv2D(3, 3, Filters = 8, Stride = 2, Padding = Padding.Same)]
        [Concatenate("stem")]
        [Flatten]
        [Dense(2)]
        public partial class Unaligned;
        """);

    [Fact]
    public void CONVGEN034_OutputNeverUsed() => Check("CONVGEN034", "Dense(4, Name = \"dead\")", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Flatten(Name = "flat")]
        [Dense(4, Name = "dead")]
        [Dense(2, Input = "flat")]
        public partial class Orphan;
        """);

    [Fact]
    public void CONVGEN035_InvalidLayerName() => Check("CONVGEN035", "Name = \"a/b\"", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Flatten(Name = "a/b")]
        [Dense(2)]
        public partial class Slash;
        """);

    [Fact]
    public void CONVGEN036_MergeWithoutInputs() => Check("CONVGEN036", "Add", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Conv2D(3, 3, Filters = 4, Padding = Padding.Same)]
        [Add]
        [Flatten]
        [Dense(2)]
        public partial class Lonely;
        """);

    [Fact]
    public void CONVGEN038_BatchNormalizationMomentum() => Check("CONVGEN038", "Momentum = 1.5f", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Conv2D(3, 3, Filters = 4, Padding = Padding.Same)]
        [BatchNormalization(Momentum = 1.5f)]
        [Flatten]
        [Dense(2)]
        public partial class Unsteady;
        """);

    [Fact]
    public void CONVGEN038_BatchNormalizationEpsilon() => Check("CONVGEN038", "Epsilon = 0f", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Flatten]
        [Dense(4)]
        [BatchNormalization(Epsilon = 0f)]
        [Dense(2)]
        public partial class Unsteady;
        """);

    [Fact]
    public void CONVGEN039_DropoutRate() => Check("CONVGEN039", "1.5f", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Flatten]
        [Dropout(1.5f)]
        [Dense(2)]
        public partial class Leaky;
        """);

    [Fact]
    public void CONVGEN039_LeakyReLUSlope() => Check("CONVGEN039", "-1f", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Conv2D(3, 3, Filters = 2)]
        [LeakyReLU(-1f)]
        [Flatten]
        [Dense(2)]
        public partial class Leaky;
        """);

    [Fact]
    public void CONVGEN039_NegativeKernelL2() => Check("CONVGEN039", "KernelL2 = -0.5f", """
        using ConvGen;

        [Input(8, 8, 1)]
        [Flatten]
        [Dense(4, KernelL2 = -0.5f)]
        public partial class Penalized;
        """);

    [Fact]
    public void CONVGEN037_KernelL2OnALayerClass() => Check("CONVGEN037", "KernelL2 = 0.1f", """
        using ConvGen;

        [Conv2D(3, 3, Filters = 4, InputChannels = 1, KernelL2 = 0.1f)]
        public partial class Penalized;
        """);

    [Fact]
    public void CONVGEN037_NameOnALayerClass() => Check("CONVGEN037", "Name = \"stem\"", """
        using ConvGen;

        [Conv2D(3, 3, Name = "stem")]
        public partial class Stem;
        """);

    [Fact]
    public void A_residual_block_and_a_concatenation_compile_and_name_their_inputs()
    {
        var result = GeneratorRunner.Run("""
            using ConvGen;

            [Input(28, 28, 1)]
            [Conv2D(3, 3, Filters = 16, Padding = Padding.Same, Activation = Activation.ReLU, Name = "stem")]
            [Conv2D(3, 3, Filters = 16, Padding = Padding.Same, Activation = Activation.ReLU)]
            [Conv2D(3, 3, Filters = 16, Padding = Padding.Same)]
            [Add("stem", Activation = Activation.ReLU)]
            [Conv2D(1, 1, Filters = 8, Input = "stem")]
            [Concatenate("add", "conv2d_2")]
            [MaxPool2D(2)]
            [Flatten]
            [Dense(10)]
            public partial class ResidualNet;
            """);
        Assert.True(result.GeneratorDiagnostics.IsEmpty, Snapshot.Format(result.GeneratorDiagnostics, result.Input));
        string code = Assert.Single(result.Sources).SourceText.ToString();
        Assert.Contains("new global::ConvGen.Add(\"stem\") { Activation = global::ConvGen.Activation.ReLU }, // add", code);
        Assert.Contains("new global::ConvGen.Conv2DLayer<global::ConvGen.Generated.ResidualNet_conv2d_2>() { Input = \"stem\" }, // conv2d_2", code);
        Assert.Contains("new global::ConvGen.Concatenate(\"add\", \"conv2d_2\"), // concatenate", code);
        Assert.Contains("//   5  concatenate      Concatenate  (28, 28, 24)", code);
        // The pool reads the concatenation, not a convolution: nothing is fused.
        Assert.DoesNotContain("ForwardPooled(", code);
        Assert.Empty(result.OutputDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }
}
