using ConvGen.Generator.Helpers;
using ConvGen.Internal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace ConvGen.Generator.Models;

// The pipeline's models hold ints, enums, strings and EquatableArray<T> only, so equal inputs hit the incremental cache.
// They are split by role: what the user wrote (ConvSpec, PoolSpec), where code goes (TypeTarget), and how a kernel is
// emitted (KernelPlan).

/// <summary>Where a diagnostic points, kept as plain values so the pipeline holds no <see cref="Location"/>.</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

    public static LocationInfo? From(SyntaxNode? node)
    {
        if (node is null) return null;
        var location = node.GetLocation();
        return location.SourceTree is null ? null : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
    }

    public static LocationInfo? From(SyntaxToken token)
    {
        var location = token.GetLocation();
        return location.SourceTree is null ? null : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
    }
}

/// <summary>A diagnostic to report, as equatable values.</summary>
internal sealed record DiagnosticInfo(DiagnosticDescriptor Descriptor, LocationInfo? Location, EquatableArray<string> Arguments)
{
    public Diagnostic ToDiagnostic() => Diagnostic.Create(Descriptor, Location?.ToLocation(), [.. Arguments]);
}

/// <summary>A type that encloses the annotated class, re-declared around the generated part.</summary>
internal sealed record ContainingType(string Keyword, string Name);

/// <summary>The user's partial class the generated part completes.</summary>
/// <param name="Namespace">Its namespace, or null for the global namespace.</param>
/// <param name="ContainingTypes">The types it is nested in, outermost first.</param>
/// <param name="ClassName">Its name as a C# identifier (keywords escaped).</param>
/// <param name="FullName">Its namespace-qualified name (for comments and cref).</param>
/// <param name="HintName">The generated file's name.</param>
internal sealed record TypeTarget(string? Namespace, EquatableArray<ContainingType> ContainingTypes, string ClassName, string FullName, string HintName)
{
    /// <summary>The class name without a keyword's <c>@</c>, for names derived from it.</summary>
    public string PlainName => ClassName.TrimStart('@');
}

/// <summary>
/// A convolution as its attribute states it (for a network's layer, with the inferred input channels). A depthwise one
/// (<c>[DepthwiseConv2D]</c>) has its depth multiplier in <see cref="Filters"/>: its weights are <c>[KH, KW, C, M]</c>, the same count.
/// A 1-D one (<c>[Conv1D]</c>, <see cref="Sequence"/>) is a one-row 2-D one (<c>KernelHeight</c>, <c>StrideHeight</c> and
/// <c>DilationHeight</c> 1); a <see cref="Causal"/> one has Valid kernels and its layer pads. A transposed one
/// (<c>[Conv2DTranspose]</c>, <see cref="Transposed"/>) has <see cref="Filters"/> output channels and weights <c>[KH, KW, F, C]</c>.
/// A grouped one (<c>[Conv2D]</c> with <see cref="Groups"/> above 1) splits the input channels and the filters into that many
/// groups; filter f reads only its group's <see cref="GroupChannels"/> input channels, and its weights are <c>[KH, KW, C/G, F]</c>.
/// </summary>
internal sealed record ConvSpec(
    int KernelHeight, int KernelWidth, int InputChannels, int Filters,
    int StrideHeight, int StrideWidth, int DilationHeight, int DilationWidth,
    Padding Padding, bool UseBias, Activation Activation, bool Depthwise = false, bool Sequence = false, bool Causal = false, bool Transposed = false,
    int Groups = 1)
{
    /// <summary>Whether the channels are split into groups (Keras' <c>groups</c> above 1).</summary>
    public bool Grouped => Groups > 1;

    /// <summary>Input channels per group (C/G): the channels each filter reads.</summary>
    public int GroupChannels => InputChannels / Groups;

    /// <summary>Filters per group (F/G).</summary>
    public int GroupFilters => Filters / Groups;

    /// <summary>Zero steps a causal 1-D convolution puts before each sequence (its kernels are Valid and see them as input).</summary>
    public int CausalPad => Causal ? ExtentWidth - 1 : 0;

    /// <summary>Output channels: the filters, or for a depthwise convolution the input channels times the depth multiplier.</summary>
    public long OutputChannels => Depthwise ? (long)InputChannels * Filters : Filters;

    public bool Same => Padding == Padding.Same;

    public int Taps => KernelHeight * KernelWidth;

    public long WeightCount => (long)KernelHeight * KernelWidth * GroupChannels * Filters;

    /// <summary>Input rows one window covers.</summary>
    public int ExtentHeight => (int)Geometry.Extent(KernelHeight, DilationHeight);

    /// <summary>Input columns one window covers.</summary>
    public int ExtentWidth => (int)Geometry.Extent(KernelWidth, DilationWidth);

    /// <summary>Whether the window is small enough for its tap loops to be unrolled (more taps are looped, CONVGEN012).</summary>
    public bool Unrollable => Taps <= ConvGenerator.MaxUnrolledTaps;
}

/// <summary>A pooling window as its attribute states it.</summary>
internal sealed record PoolSpec(int PoolHeight, int PoolWidth, int StrideHeight, int StrideWidth, Padding Padding)
{
    public bool Same => Padding == Padding.Same;
}

/// <summary>
/// How one convolution's kernels are emitted: the convolution, the class that holds them, and what the site fixes. A
/// <c>[Conv2D]</c> class's kernels take any input size (<see cref="FixedHeight"/> 0) and stay linear; a network layer's have the
/// input size as constants, apply the activation, and may fuse the next layer's 2x2 max pool.
/// </summary>
/// <param name="Conv">The convolution.</param>
/// <param name="ClassName">The kernel class's name.</param>
/// <param name="FixedHeight">The input height, or 0 for any.</param>
/// <param name="FixedWidth">The input width, or 0 for any.</param>
/// <param name="FusePool">Whether <c>ForwardPooled</c> is emitted (the next layer is a 2x2, stride-2 max pool that tiles the output).</param>
internal sealed record KernelPlan(ConvSpec Conv, string ClassName, int FixedHeight, int FixedWidth, bool FusePool)
{
    public bool Fixed => FixedHeight > 0;

    /// <summary>A network's kernels apply the activation; a <c>[Conv2D]</c> class's static kernels are linear.</summary>
    public bool AppliesRelu => Fixed && Conv.Activation == Activation.ReLU;

    public int OutputHeight => Conv.Transposed ? (int)Geometry.TransposedOutputSize(FixedHeight, Conv.KernelHeight, Conv.StrideHeight, Conv.DilationHeight, Conv.Same)
        : Geometry.OutputSize(FixedHeight, Conv.KernelHeight, Conv.StrideHeight, Conv.DilationHeight, Conv.Same);

    public int OutputWidth => Conv.Transposed ? (int)Geometry.TransposedOutputSize(FixedWidth, Conv.KernelWidth, Conv.StrideWidth, Conv.DilationWidth, Conv.Same)
        : Geometry.OutputSize(FixedWidth, Conv.KernelWidth, Conv.StrideWidth, Conv.DilationWidth, Conv.Same);

    public (int Before, int After) PaddingHeight => Geometry.Padding(FixedHeight, Conv.KernelHeight, Conv.StrideHeight, Conv.DilationHeight, Conv.Same);

    public (int Before, int After) PaddingWidth => Geometry.Padding(FixedWidth, Conv.KernelWidth, Conv.StrideWidth, Conv.DilationWidth, Conv.Same);
}

/// <summary>A <c>[Conv2D]</c> class: where it is and what it computes.</summary>
internal sealed record LayerClassModel(TypeTarget Target, ConvSpec Conv);

/// <summary>The parse of one <c>[Conv2D]</c> class: a model to emit (null when there are errors) and the diagnostics.</summary>
internal sealed record ParseResult(LayerClassModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>The attributes a network is declared with.</summary>
internal enum LayerKind
{
    Input, Conv2D, MaxPool2D, Flatten, Dense, Add, Concatenate, BatchNormalization, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D,
    ReLU, ReLU6, LeakyReLU, ELU, Dropout, Tanh, Sigmoid, Softmax, ZeroPadding2D, DepthwiseConv2D,
    Conv1D, MaxPool1D, AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, SiLU, GELU, Reshape, Conv2DTranspose, Cropping2D,
}

/// <summary>Shapes in a network's model: <c>(H, W, C)</c> an image, <c>(0, 0, C)</c> flat, <c>(Sequence, steps, C)</c> a sequence.</summary>
internal static class Shapes
{
    /// <summary>The height that marks a sequence <c>(steps, channels)</c>: its steps are the width.</summary>
    public const int Sequence = -1;

    /// <summary>A shape as Keras prints it: <c>(h, w, c)</c>, <c>(steps, c)</c> or <c>(c)</c>.</summary>
    public static string Text(long h, long w, long c) => h > 0 ? $"({h}, {w}, {c})" : h == Sequence ? $"({w}, {c})" : $"({c})";

    /// <summary>Values in one sample of the shape.</summary>
    public static long Size(long h, long w, long c) => h > 0 ? h * w * c : h == Sequence ? w * c : c;
}

/// <summary>
/// One layer of a compiled network, with its inputs resolved and its shapes inferred. A spatial shape is <c>(H, W, C)</c>; a
/// flat one has <c>H = W = 0</c> and its size in <c>C</c>; a sequence has <c>H = </c><see cref="Shapes.Sequence"/> and its steps in <c>W</c>.
/// </summary>
/// <param name="Kind">The attribute.</param>
/// <param name="Index">0-based position among the layers.</param>
/// <param name="Name">The unique name (explicit, or Keras' default).</param>
/// <param name="ExplicitName">The <c>Name</c> the attribute set, or null.</param>
/// <param name="InputNames">The names the attribute read (<c>Input</c>, or the merge's names), as written; null entries mean the previous layer.</param>
/// <param name="Inputs">The producing layers' indices (-1 for the network's input).</param>
internal sealed record NetworkLayer(
    LayerKind Kind, int Index, string Name, string? ExplicitName, EquatableArray<NameOrPrevious> InputNames, EquatableArray<int> Inputs,
    int InH, int InW, int InC, int OutH, int OutW, int OutC,
    ConvSpec? Conv, PoolSpec? Pool, int Units, bool UseBias, Activation Activation, bool FusePool, NormSpec? Norm = null, float Scalar = 0f, int Seed = 0, float KernelL2 = 0f, PadSpec? Pad = null, bool Approximate = false)
{
    public long OutSize => Shapes.Size(OutH, OutW, OutC);

    public long ParameterCount => Kind switch
    {
        LayerKind.Conv2D or LayerKind.DepthwiseConv2D or LayerKind.Conv1D or LayerKind.Conv2DTranspose => Conv!.WeightCount + (Conv.UseBias ? Conv.OutputChannels : 0),
        LayerKind.Dense => (long)InC * Units + (UseBias ? Units : 0),
        LayerKind.BatchNormalization => (long)OutC * ((Norm!.Scale ? 1 : 0) + (Norm.Center ? 1 : 0)),
        _ => 0,
    };
}

/// <summary>A [ZeroPadding2D]'s rows and columns on each side.</summary>
internal sealed record PadSpec(int Top, int Bottom, int Left, int Right);

/// <summary>A [BatchNormalization]'s arguments.</summary>
internal sealed record NormSpec(float Momentum, float Epsilon, bool Center, bool Scale);

/// <summary>An input a layer names, or (null) the previous layer.</summary>
internal sealed record NameOrPrevious(string? Name);

/// <summary>
/// Everything the emitter needs for one compiled network. An imported one (<c>[OnnxModel]</c>) carries its file's weights as
/// little-endian floats in the order of the model's named weights, and the path it names.
/// </summary>
internal sealed record NetworkModel(TypeTarget Target, int InputHeight, int InputWidth, int InputChannels, EquatableArray<NetworkLayer> Layers,
    EquatableArray<byte> InitialWeights = default, string? OnnxPath = null)
{
    public long ParameterCount
    {
        get
        {
            long sum = 0;
            foreach (var layer in Layers) sum += layer.ParameterCount;
            return sum;
        }
    }
}

/// <summary>The parse of one network class.</summary>
internal sealed record NetworkParseResult(NetworkModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);
