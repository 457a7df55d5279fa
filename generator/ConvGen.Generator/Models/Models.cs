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
    bool Unrolled)
{
    public int Taps => KernelHeight * KernelWidth;

    public bool Same => Padding == 1;
}

/// <summary>The parse of one annotated class: a model to emit (null when there are errors) and the diagnostics.</summary>
internal sealed record ParseResult(Conv2DModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);
