using Microsoft.CodeAnalysis;

namespace ConvGen.Generator;

/// <summary>Every diagnostic ConvGen reports. Ids are stable; AnalyzerReleases.*.md lists them.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "ConvGen";

    public static readonly DiagnosticDescriptor NotPartial = new(
        "CONVGEN001", "A [Conv2D] or network class must be partial",
        "'{0}' has [{1}] but is not declared partial; declare it 'partial class {0}' so the generator can add its kernels",
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
        "CONVGEN010", "Unsupported [Conv2D] or network target",
        "[{2}] cannot be applied to '{0}' because it is {1}; apply it to a non-static, non-abstract 'partial class'",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ContainingTypeNotPartial = new(
        "CONVGEN011", "A type containing a [Conv2D] or network class must be partial",
        "'{0}' contains the [{2}] class '{1}' but is not partial; declare '{0}' partial too",
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
        "The [{1}] arguments on '{0}' are not constants of the expected types; write them like {2} and fix the compiler errors reported on it",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor TooLarge = new(
        "CONVGEN015", "Configuration too large",
        "{0} of '{1}' is {2}, more than the supported {3}; use a smaller kernel, dilation, channel or filter count",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor LayersWithoutInput = new(
        "CONVGEN016", "Stacked layer attributes need [Input]",
        "'{0}' has [{1}] among several layer attributes but no [Input]; add [Input(height, width, channels)] above the first layer to make it a compiled network (or keep a single [Conv2D] for a layer class)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InputNotFirst = new(
        "CONVGEN017", "[Input] must come first",
        "[{1}] comes before [Input] on '{0}'; a network's layers are read top to bottom from its input, so move [Input(...)] above every layer attribute",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor KernelLargerThanInput = new(
        "CONVGEN018", "Valid kernel larger than its input",
        "Layer {0} of '{1}' is a Valid {2} convolution (window {3}) but its input is {4}, from {5}; use Padding = Padding.Same, a smaller kernel, or remove a pooling layer before it",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor PoolLargerThanInput = new(
        "CONVGEN019", "Valid pool larger than its input",
        "Layer {0} of '{1}' is a Valid {2} pool but its input is {3}, from {4}; use a smaller pool, Padding = Padding.Same, or remove a pooling layer before it",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NeedsSpatialInput = new(
        "CONVGEN020", "Spatial layer after the input was flattened",
        "Layer {0} of '{1}' ([{2}]) needs a (height, width, channels) input but gets {3}, from {4}; put [{2}] before [Flatten] and [Dense]",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DenseNeedsFlatten = new(
        "CONVGEN021", "Dense layer on a 3-D shape",
        "Layer {0} of '{1}' ([Dense]) needs a flat input but gets {2}, from {3}; add [Flatten] before it, which gives ({4})",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InputChannelsMismatch = new(
        "CONVGEN022", "InputChannels disagrees with the layer before",
        "Layer {0} of '{1}' states InputChannels = {2}, but its input is {3}, from {4}, with {5} channels; remove InputChannels (a network infers it) or set it to {5}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor LayersSplitAcrossPartials = new(
        "CONVGEN023", "Network layers split across partial declarations",
        "[{0}] is on a different partial declaration of '{1}' than [Input]; their order would be undefined, so put every layer attribute of a network on the declaration that has [Input], in order",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor PoolSizeTooSmall = new(
        "CONVGEN024", "Pool size and stride must be at least 1",
        "{0} is {1}; a pooling window and its stride must be at least 1, such as [MaxPool2D(2)]",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnitsTooSmall = new(
        "CONVGEN025", "Dense units must be at least 1",
        "Units is {0}; a Dense layer needs at least 1 output, such as [Dense(10)]",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InputSizeTooSmall = new(
        "CONVGEN026", "Input dimensions must be at least 1",
        "The input {0} is {1}; every input dimension must be at least 1, such as [Input(28, 28, 1)]",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NoLayers = new(
        "CONVGEN027", "Network without layers",
        "'{0}' has [Input] but no layer attributes; add layers after it, such as [Conv2D(3, 3, Filters = 8)], [MaxPool2D(2)], [Flatten] and [Dense(10)]",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BaseClass = new(
        "CONVGEN028", "A generated class cannot have a base class",
        "'{0}' derives from '{1}', but the generated part of {2} class derives from {3}; remove the base class",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnknownLayerName = new(
        "CONVGEN029", "A layer reads a name no earlier layer has",
        "Layer {0} of '{1}' reads '{2}', but no layer before it has that name; the layers before it are: {3} (and 'input', the network's input)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor LaterLayerName = new(
        "CONVGEN030", "A layer reads a later layer",
        "Layer {0} of '{1}' reads '{2}', which is layer {3}, {4}; a layer can read only earlier layers, so move it below '{2}'",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DuplicateLayerName = new(
        "CONVGEN031", "Two layers have one name",
        "Layer {0} of '{1}' is named '{2}', which already names {3}; every layer name in a network must be unique",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor AddShapeMismatch = new(
        "CONVGEN032", "Add of different shapes",
        "Layer {0} of '{1}' ([Add]) adds {2}, from {3}, to {4}, from {5}; Add needs inputs of one shape",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ConcatenateShapeMismatch = new(
        "CONVGEN033", "Concatenate of different heights or widths",
        "Layer {0} of '{1}' ([Concatenate]) joins {2}, from {3}, with {4}, from {5}; the inputs are joined along the last axis (channels), so the others (height and width) must agree",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor OutputNeverUsed = new(
        "CONVGEN034", "A layer's output is never used",
        "The output of layer {0} of '{1}' is never used: the next layer reads {3}, and no later layer names '{2}'; read it with Input = \"{2}\" or an [Add]/[Concatenate], or remove the layer",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidLayerName = new(
        "CONVGEN035", "Invalid layer name",
        "Layer {0} of '{1}': {2} is '{3}'; a layer name is a non-empty string without '/', such as \"stem\"",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor MergeNeedsInputs = new(
        "CONVGEN036", "A merge layer names no inputs",
        "Layer {0} of '{1}' names no inputs; write [{2}(\"a\")] to merge the previous layer with 'a', or [{2}(\"a\", \"b\")] to merge 'a' and 'b'",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NetworkOnlyProperty = new(
        "CONVGEN037", "Name, Input and KernelL2 belong to a network's layers",
        "{0} is set on the [Conv2D] class '{1}', but it applies only to the layers of a compiled network (after [Input]); remove it, and set it on the layer object instead (new {1} {{ {0} = value }})",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NormalizationArgument = new(
        "CONVGEN038", "Invalid BatchNormalization argument",
        "Layer {0} of '{1}' ([BatchNormalization]): {2} is {3}; it must be {4}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor LayerArgument = new(
        "CONVGEN039", "Invalid layer argument",
        "Layer {0} of '{1}' ([{2}]): {3} is {4}; it must be {5}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DepthMultiplierTooSmall = new(
        "CONVGEN040", "DepthMultiplier must be at least 1",
        "DepthMultiplier is {0}; a depthwise convolution gives each input channel at least 1 filter (1, as in MobileNet, keeps the channel count)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor WrongRank = new(
        "CONVGEN041", "A 2-D layer on a sequence or a 1-D layer on an image",
        "Layer {0} of '{1}' ([{2}]) needs {3} but gets {4}, from {5}; {6}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor CausalOutsideConv1D = new(
        "CONVGEN042", "Causal padding is for Conv1D only",
        "Padding.Causal puts zero steps before a sequence and is for [Conv1D] only; use Padding.Valid or Padding.Same here",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor TransposedStrideAndDilation = new(
        "CONVGEN043", "A transposed convolution with both a stride and a dilation above 1",
        "[Conv2DTranspose] has {0} and {1}; as in Keras, a transposed convolution takes a stride above 1 or a dilation above 1, not both: set one of them to 1",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor GroupsNotDividing = new(
        "CONVGEN044", "Groups must be at least 1 and divide the input channels and the filters",
        "Groups is {0}, {1}; a grouped convolution splits the input channels and the filters into Groups equal parts, so Groups must divide both {2} and {3}: use {4}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ReshapeSize = new(
        "CONVGEN045", "Reshape to a different number of values",
        "Layer {0} of '{1}' ([Reshape]): {2} holds {3} values, but its input {4}, from {5}, holds {6}; give sizes that multiply to {6}, or -1 for one of them",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor OnnxFileNotFound = new(
        "CONVGEN050", "The ONNX model file is not an additional file",
        "[OnnxModel] on '{0}' names '{1}', which is not one .onnx file among the project's AdditionalFiles; {2}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor OnnxUnreadable = new(
        "CONVGEN051", "The ONNX model file cannot be read",
        "[OnnxModel] on '{0}': '{1}' is not an ONNX model ConvGen can read: {2}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor OnnxUnsupported = new(
        "CONVGEN052", "The ONNX model cannot be compiled",
        "[OnnxModel] on '{0}': '{1}' cannot be compiled: {2}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor OnnxUnsupportedNode = new(
        "CONVGEN053", "An ONNX node ConvGen cannot compile",
        "[OnnxModel] on '{0}': in '{1}', node '{2}' ({3}) cannot be compiled: {4}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor OnnxModelWithLayers = new(
        "CONVGEN054", "An ONNX model class with layer attributes",
        "'{0}' has [OnnxModel] and layer attributes; its layers come from the model file: remove the layer attributes, or [OnnxModel]",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InternalError = new(
        "CONVGEN999", "ConvGen generator internal error",
        "The ConvGen generator failed on '{0}': {1}; no code was generated for it. Please report this with the attribute that caused it.",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}
