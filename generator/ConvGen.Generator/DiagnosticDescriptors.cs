using Microsoft.CodeAnalysis;

namespace ConvGen.Generator;

/// <summary>Every diagnostic ConvGen reports. Ids are stable; AnalyzerReleases.*.md lists them.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "ConvGen";

    public static readonly DiagnosticDescriptor NotPartial = new(
        "CONVGEN001", "A [Conv2D] class must be partial",
        "'{0}' has [Conv2D] but is not declared partial; declare it 'partial class {0}' so the generator can add its kernels",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor KernelSizeTooSmall = new(
        "CONVGEN002", "Kernel size must be at least 1",
        "{0} is {1}; a kernel needs at least 1 {2}, such as 3",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor StrideTooSmall = new(
        "CONVGEN003", "Stride must be at least 1",
        "{0} is {1}; a stride must be at least 1 (1 visits every position, 2 every other)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DilationTooSmall = new(
        "CONVGEN004", "Dilation must be at least 1",
        "{0} is {1}; a dilation must be at least 1 (1 means adjacent kernel taps)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor FiltersTooSmall = new(
        "CONVGEN005", "Filters must be at least 1",
        "Filters is {0}; a convolution needs at least 1 output channel",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InputChannelsTooSmall = new(
        "CONVGEN006", "InputChannels must be at least 1",
        "InputChannels is {0}; an input needs at least 1 channel (1 for grayscale, 3 for RGB)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ConflictingAxes = new(
        "CONVGEN007", "A both-axes property conflicts with a per-axis one",
        "{0} conflicts with {1}; set either {2} for both axes or {3}Height/{3}Width per axis, not both",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor GenericType = new(
        "CONVGEN008", "Generic types are not supported",
        "'{0}' is generic or nested in a generic type; declare the [Conv2D] class outside generic types and without type parameters",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor MemberNameClash = new(
        "CONVGEN009", "A member name is reserved by the generator",
        "'{0}' already declares a member named '{1}', which the generator emits for [Conv2D]; rename or remove it",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnsupportedTarget = new(
        "CONVGEN010", "Unsupported [Conv2D] target",
        "[Conv2D] cannot be applied to '{0}' because it is {1}; apply it to a non-static, non-abstract 'partial class'",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ContainingTypeNotPartial = new(
        "CONVGEN011", "A type containing a [Conv2D] class must be partial",
        "'{0}' contains the [Conv2D] class '{1}' but is not partial; declare '{0}' partial too",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor KernelNotUnrolled = new(
        "CONVGEN012", "Large kernel generated with loops",
        "The {0}x{1} kernel of '{2}' has {3} taps, more than the {4} the generator unrolls; its kernels loop over the window instead, which is correct but somewhat slower",
        Category, DiagnosticSeverity.Info, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidEnumValue = new(
        "CONVGEN013", "Unknown enum value",
        "{0} is {1}, which is not a defined value; use {2}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnreadableArguments = new(
        "CONVGEN014", "Attribute arguments could not be read",
        "The [Conv2D] arguments on '{0}' are not constants of the expected types; write them like [Conv2D(3, 3, Filters = 16)] and fix the compiler errors reported on it",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor TooLarge = new(
        "CONVGEN015", "Configuration too large",
        "{0} of '{1}' is {2}, more than the supported {3}; use a smaller kernel, dilation, channel or filter count",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InternalError = new(
        "CONVGEN999", "ConvGen generator internal error",
        "The ConvGen generator failed on '{0}': {1}; no code was generated for it. Please report this with the attribute that caused it.",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}
