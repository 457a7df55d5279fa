using ConvGen.Generator.Helpers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace ConvGen.Generator.Models;

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

/// <summary>Everything the emitter needs for one [Conv2D] class; only values, so equal inputs hit the cache.</summary>
internal sealed record Conv2DModel(
    string? Namespace,
    EquatableArray<ContainingType> ContainingTypes,
    string ClassName,
    string FullName,
    string HintName,
    int KernelHeight, int KernelWidth,
    int InputChannels, int Filters,
    int StrideHeight, int StrideWidth,
    int DilationHeight, int DilationWidth,
    int Padding, bool UseBias, int Activation,
    bool Unrolled,
    int FixedHeight = 0, int FixedWidth = 0, bool FuseRelu = false, bool FusePool = false, bool Wide = false)
{
    /// <summary>A layer of a compiled network: the input size is a constant and the kernels have no size parameters.</summary>
    public bool Fixed => FixedHeight > 0;

    // Wide: the Vector512 copy of a network layer's kernels, which the Vector<T> ones call when Vector<T> is narrower and
    // 512-bit vectors are accelerated (Vector<T> stays 256-bit on AVX-512 machines unless DOTNET_MaxVectorTBitWidth says otherwise).
    // FusePool: the network's next layer is a 2x2, stride-2 max pool whose windows tile this layer's (even-sized) output, so
    // the forward kernel is ForwardPooled, one register tile per pooling window, instead of Forward.

    public int Taps => KernelHeight * KernelWidth;

    public bool Same => Padding == 1;
}

/// <summary>The parse of one annotated class: a model to emit (null when there are errors) and the diagnostics.</summary>
internal sealed record ParseResult(Conv2DModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>The layer attributes a network is stacked from.</summary>
internal enum LayerKind { Input, Conv2D, MaxPool2D, Flatten, Dense }

/// <summary>
/// One layer of a compiled network with its shapes inferred. Spatial shapes are <c>(H, W, C)</c>; a flat shape has
/// <c>H = W = 0</c> and its size in <c>C</c>. <see cref="InBuffer"/>/<see cref="OutBuffer"/> index the planned activation buffers
/// (0 is the caller's input); Flatten shares its input's buffer.
/// </summary>
internal sealed record LayerModel(
    LayerKind Kind, string Name, int Index,
    int InH, int InW, int InC, int OutH, int OutW, int OutC,
    int InBuffer, int OutBuffer,
    Conv2DModel? Conv,
    int PoolH, int PoolW, int StrideH, int StrideW, int Padding,
    int Units, bool UseBias, int Activation,
    int WeightOffset, int BiasOffset, int ScratchOffset)
{
    public bool Spatial => OutH > 0;

    public int InSize => InH > 0 ? InH * InW * InC : InC;

    public int OutSize => OutH > 0 ? OutH * OutW * OutC : OutC;

    public bool Relu => Activation == 1;

    public int WeightCount => Kind switch
    {
        LayerKind.Conv2D => Conv!.KernelHeight * Conv.KernelWidth * Conv.InputChannels * Conv.Filters,
        LayerKind.Dense => InC * Units,
        _ => 0,
    };

    public int BiasCount => UseBias && Kind is LayerKind.Conv2D or LayerKind.Dense ? (Kind == LayerKind.Dense ? Units : OutC) : 0;
}

/// <summary>Everything the emitter needs for one compiled network.</summary>
internal sealed record NetworkModel(
    string? Namespace,
    EquatableArray<ContainingType> ContainingTypes,
    string ClassName,
    string FullName,
    string HintName,
    int InputHeight, int InputWidth, int InputChannels,
    EquatableArray<LayerModel> Layers,
    int ParameterCount, int ScratchSize,
    EquatableArray<int> BufferSizes);

/// <summary>The parse of one network class.</summary>
internal sealed record NetworkParseResult(NetworkModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);
