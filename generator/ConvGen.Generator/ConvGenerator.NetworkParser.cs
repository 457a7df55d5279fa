using System.Collections.Generic;
using System.Linq;
using System.Threading;
using ConvGen.Generator.Helpers;
using ConvGen.Internal;
using ConvGen.Generator.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ConvGen.Generator;

public sealed partial class ConvGenerator
{
    /// <summary>Largest activation count of one sample at any layer, and largest parameter count of a network (2^28 floats = 1 GiB).</summary>
    internal const long MaxNetworkSize = 1L << 28;

    internal static partial class Parser
    {
        /// <summary>A ConvGen layer attribute on a class, with its kind.</summary>
        internal readonly record struct LayerAttribute(LayerKind Kind, AttributeData Data);

        /// <summary>The ConvGen layer attributes on <paramref name="type"/> (every partial declaration), in declaration order.</summary>
        internal static IEnumerable<LayerAttribute> LayerAttributes(INamedTypeSymbol type)
        {
            foreach (var attribute in type.GetAttributes())
            {
                var c = attribute.AttributeClass;
                if (c is null || c.ContainingNamespace is not { Name: "ConvGen", ContainingNamespace.IsGlobalNamespace: true }) continue;
                LayerKind? kind = c.Name switch
                {
                    "InputAttribute" => LayerKind.Input,
                    "Conv2DAttribute" => LayerKind.Conv2D,
                    "MaxPool2DAttribute" => LayerKind.MaxPool2D,
                    "FlattenAttribute" => LayerKind.Flatten,
                    "DenseAttribute" => LayerKind.Dense,
                    "AddAttribute" => LayerKind.Add,
                    "ConcatenateAttribute" => LayerKind.Concatenate,
                    "BatchNormalizationAttribute" => LayerKind.BatchNormalization,
                    "AveragePooling2DAttribute" => LayerKind.AveragePooling2D,
                    "GlobalAveragePooling2DAttribute" => LayerKind.GlobalAveragePooling2D,
                    "GlobalMaxPooling2DAttribute" => LayerKind.GlobalMaxPooling2D,
                    "ReLUAttribute" => LayerKind.ReLU,
                    "ReLU6Attribute" => LayerKind.ReLU6,
                    "LeakyReLUAttribute" => LayerKind.LeakyReLU,
                    "ELUAttribute" => LayerKind.ELU,
                    "DropoutAttribute" => LayerKind.Dropout,
                    "TanhAttribute" => LayerKind.Tanh,
                    "SigmoidAttribute" => LayerKind.Sigmoid,
                    "SoftmaxAttribute" => LayerKind.Softmax,
                    "ZeroPadding2DAttribute" => LayerKind.ZeroPadding2D,
                    "Cropping2DAttribute" => LayerKind.Cropping2D,
                    "DepthwiseConv2DAttribute" => LayerKind.DepthwiseConv2D,
                    "Conv1DAttribute" => LayerKind.Conv1D,
                    "MaxPool1DAttribute" => LayerKind.MaxPool1D,
                    "AveragePooling1DAttribute" => LayerKind.AveragePooling1D,
                    "GlobalAveragePooling1DAttribute" => LayerKind.GlobalAveragePooling1D,
                    "GlobalMaxPooling1DAttribute" => LayerKind.GlobalMaxPooling1D,
                    "SiLUAttribute" => LayerKind.SiLU,
                    "GELUAttribute" => LayerKind.GELU,
                    "ReshapeAttribute" => LayerKind.Reshape,
                    "Conv2DTransposeAttribute" => LayerKind.Conv2DTranspose,
                    _ => null,
                };
                if (kind is not null) yield return new LayerAttribute(kind.Value, attribute);
            }
        }

        /// <summary>Keras' base name of a layer kind, which unnamed layers are named after.</summary>
        internal static string BaseName(LayerKind kind) => kind switch
        {
            LayerKind.Conv2D => "conv2d",
            LayerKind.MaxPool2D => "max_pooling2d",
            LayerKind.Flatten => "flatten",
            LayerKind.Dense => "dense",
            LayerKind.Add => "add",
            LayerKind.BatchNormalization => "batch_normalization",
            LayerKind.AveragePooling2D => "average_pooling2d",
            LayerKind.GlobalAveragePooling2D => "global_average_pooling2d",
            LayerKind.GlobalMaxPooling2D => "global_max_pooling2d",
            LayerKind.ReLU or LayerKind.ReLU6 => "re_lu",
            LayerKind.LeakyReLU => "leaky_re_lu",
            LayerKind.ELU => "elu",
            LayerKind.Dropout => "dropout",
            LayerKind.Tanh => "tanh",
            LayerKind.Sigmoid => "sigmoid",
            LayerKind.Softmax => "softmax",
            LayerKind.ZeroPadding2D => "zero_padding2d",
            LayerKind.Cropping2D => "cropping2d",
            LayerKind.DepthwiseConv2D => "depthwise_conv2d",
            LayerKind.Conv1D => "conv1d",
            LayerKind.MaxPool1D => "max_pooling1d",
            LayerKind.AveragePooling1D => "average_pooling1d",
            LayerKind.GlobalAveragePooling1D => "global_average_pooling1d",
            LayerKind.GlobalMaxPooling1D => "global_max_pooling1d",
            LayerKind.SiLU => "silu",
            LayerKind.GELU => "gelu",
            LayerKind.Reshape => "reshape",
            LayerKind.Conv2DTranspose => "conv2d_transpose",
            _ => "concatenate",
        };

        private static string Example(LayerKind kind) => kind switch
        {
            LayerKind.Conv2D => "[Conv2D(3, 3, Filters = 16)]",
            LayerKind.MaxPool2D => "[MaxPool2D(2)]",
            LayerKind.Flatten => "[Flatten]",
            LayerKind.Dense => "[Dense(10)]",
            LayerKind.Add => "[Add(\"stem\")]",
            LayerKind.BatchNormalization => "[BatchNormalization]",
            LayerKind.AveragePooling2D => "[AveragePooling2D(2)]",
            LayerKind.GlobalAveragePooling2D => "[GlobalAveragePooling2D]",
            LayerKind.GlobalMaxPooling2D => "[GlobalMaxPooling2D]",
            LayerKind.ReLU => "[ReLU]",
            LayerKind.ReLU6 => "[ReLU6]",
            LayerKind.LeakyReLU => "[LeakyReLU(0.2f)]",
            LayerKind.ELU => "[ELU]",
            LayerKind.Dropout => "[Dropout(0.5f)]",
            LayerKind.Tanh => "[Tanh]",
            LayerKind.Sigmoid => "[Sigmoid]",
            LayerKind.Softmax => "[Softmax]",
            LayerKind.ZeroPadding2D => "[ZeroPadding2D(1)]",
            LayerKind.Cropping2D => "[Cropping2D(1)]",
            LayerKind.DepthwiseConv2D => "[DepthwiseConv2D(3, 3)]",
            LayerKind.Conv1D => "[Conv1D(3, Filters = 16)]",
            LayerKind.MaxPool1D => "[MaxPool1D(2)]",
            LayerKind.AveragePooling1D => "[AveragePooling1D(2)]",
            LayerKind.GlobalAveragePooling1D => "[GlobalAveragePooling1D]",
            LayerKind.GlobalMaxPooling1D => "[GlobalMaxPooling1D]",
            LayerKind.SiLU => "[SiLU]",
            LayerKind.GELU => "[GELU]",
            LayerKind.Reshape => "[Reshape(7, 7, 16)]",
            LayerKind.Conv2DTranspose => "[Conv2DTranspose(3, 3, Filters = 16, Stride = 2)]",
            _ => "[Concatenate(\"a\", \"b\")]",
        };

        /// <summary>The layer kinds whose attribute alone makes a class one layer (a <c>[Conv2D]</c>, <c>[DepthwiseConv2D]</c>, <c>[Conv1D]</c> or <c>[Conv2DTranspose]</c> class).</summary>
        internal static bool StandsAlone(LayerKind kind) => kind is LayerKind.Conv2D or LayerKind.DepthwiseConv2D or LayerKind.Conv1D or LayerKind.Conv2DTranspose;

        /// <summary>
        /// Layer attributes on a class without [Input] that do not make it one layer (a network-only attribute, or two kinds that stand
        /// alone): one CONVGEN016 per class, reported by the pipeline of the first attribute that does not fit, at the class's first
        /// layer attribute. A repeated attribute of a kind that stands alone is its own pipeline's to report.
        /// </summary>
        public static EquatableArray<DiagnosticInfo> ParseOrphan(GeneratorAttributeSyntaxContext context, LayerKind kind, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type) return EquatableArray<DiagnosticInfo>.Empty;
            var layers = LayerAttributes(type).ToList();
            if (layers.Any(l => l.Kind == LayerKind.Input)) return EquatableArray<DiagnosticInfo>.Empty;
            var firstNetworkOnly = layers.FirstOrDefault(l => !StandsAlone(l.Kind) || l.Kind != layers[0].Kind);
            if (firstNetworkOnly.Data is null || firstNetworkOnly.Kind != kind) return EquatableArray<DiagnosticInfo>.Empty;
            // Runs once per declaration with a [kind] attribute: only the one holding the first of them reports.
            var firstOfKind = layers.First(l => l.Kind == kind).Data.ApplicationSyntaxReference?.GetSyntax(cancellationToken);
            if (context.TargetNode is TypeDeclarationSyntax declaration && firstOfKind is not null && !Holds(declaration, firstOfKind))
                return EquatableArray<DiagnosticInfo>.Empty;
            var firstSyntax = layers[0].Data.ApplicationSyntaxReference?.GetSyntax(cancellationToken);
            var location = LocationInfo.From(firstSyntax);
            var diagnostics = new Diagnostics(location ?? LocationInfo.From(context.TargetNode));
            diagnostics.Report(DiagnosticDescriptors.LayersWithoutInput, location, type.Name, kind.ToString());
            return diagnostics.ToArray();
        }

        /// <summary>A layer attribute as written: its arguments, name and the inputs it names.</summary>
        private sealed record Declared(LayerKind Kind, Arguments Args, string? Name, string?[] Inputs);

        /// <summary>A class with [Input]: its layers, every input resolved and every shape inferred, or the diagnostics that say what does not fit.</summary>
        public static NetworkParseResult ParseNetwork(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax declaration || context.Attributes.Length == 0)
                return new NetworkParseResult(null, EquatableArray<DiagnosticInfo>.Empty);
            if (declaration.Identifier.IsMissing || string.IsNullOrEmpty(type.Name))
                return new NetworkParseResult(null, EquatableArray<DiagnosticInfo>.Empty);

            // [Input] on two partial declarations is CS0579 from the compiler; generate nothing (one file per type).
            if (LayerAttributes(type).Count(a => a.Kind == LayerKind.Input) > 1)
                return new NetworkParseResult(null, EquatableArray<DiagnosticInfo>.Empty);

            var inputSyntax = context.Attributes[0].ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
            var diagnostics = new Diagnostics(LocationInfo.From(inputSyntax) ?? LocationInfo.From(declaration.Identifier));
            NetworkParseResult Done() => new(null, diagnostics.ToArray());

            var containing = CheckTarget(type, declaration, "Input", diagnostics, cancellationToken);
            if (containing is null) return Done();
            CheckBaseClass(type, declaration, "Input", "ConvGen.CompiledNetwork", allowed: "ConvGen.CompiledNetwork", diagnostics);

            // The layer attributes of the declaration that has [Input], in source order; any on another part is an error.
            var attributes = new List<(LayerKind Kind, AttributeData Data, AttributeSyntax? Syntax)>();
            foreach (var (kind, data) in LayerAttributes(type))
            {
                var syntax = data.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
                if (syntax?.Parent?.Parent is not TypeDeclarationSyntax owner || owner.SyntaxTree != declaration.SyntaxTree || owner.Span != declaration.Span)
                {
                    diagnostics.Report(DiagnosticDescriptors.LayersSplitAcrossPartials, LocationInfo.From(syntax), kind.ToString(), type.Name);
                    continue;
                }
                attributes.Add((kind, data, syntax));
            }
            attributes.Sort((a, b) => a.Syntax!.SpanStart.CompareTo(b.Syntax!.SpanStart));
            if (attributes.Count == 0 || attributes[0].Kind != LayerKind.Input)
            {
                var first = attributes.FirstOrDefault();
                if (first.Data is not null) diagnostics.Report(DiagnosticDescriptors.InputNotFirst, LocationInfo.From(first.Syntax), type.Name, first.Kind.ToString());
                return Done();
            }

            var inputArgs = new Arguments(attributes[0].Data, attributes[0].Syntax, context.SemanticModel, 2, 3);
            if (!inputArgs.Readable)
            {
                diagnostics.Report(DiagnosticDescriptors.UnreadableArguments, inputArgs.Attribute, type.Name, "Input", "[Input(28, 28, 1)]");
                return Done();
            }
            // [Input(height, width, channels)] is an image; [Input(steps, channels)] a sequence (Shapes.Sequence as its height).
            bool sequence = inputArgs.PositionalCount == 2;
            string[] axes = sequence ? ["steps", "channels"] : ["height", "width", "channels"];
            for (int i = 0; i < axes.Length; i++)
            {
                if (inputArgs.Positional(i) < 1)
                    diagnostics.Report(DiagnosticDescriptors.InputSizeTooSmall, inputArgs.PositionalLocation(i, axes[i]), axes[i], inputArgs.Positional(i));
            }
            int inputH = sequence ? Shapes.Sequence : inputArgs.Positional(0), inputW = inputArgs.Positional(sequence ? 0 : 1), inputC = inputArgs.Positional(sequence ? 1 : 2);
            long inputSize = sequence ? (long)inputW * inputC : (long)inputH * inputW * inputC;
            if (inputSize > MaxNetworkSize)
                diagnostics.Report(DiagnosticDescriptors.TooLarge, inputArgs.Attribute, $"The input size {string.Join(" * ", axes)}", type.Name, inputSize, MaxNetworkSize);
            if (attributes.Count == 1) diagnostics.Report(DiagnosticDescriptors.NoLayers, inputArgs.Attribute, type.Name);
            if (diagnostics.HasErrors) return Done();

            var declared = ReadLayers(type, attributes.Skip(1).ToList(), context.SemanticModel, diagnostics);
            if (declared is null) return Done();
            var names = AssignNames(type, declared, diagnostics);
            if (names is null) return Done();
            var layers = InferShapes(type, declared, names, inputH, inputW, inputC, diagnostics);
            if (layers is null) return Done();

            // Only [Flatten] and [Reshape] layers: a network with nothing to compute.
            if (layers.All(l => l.Kind is LayerKind.Flatten or LayerKind.Reshape))
            {
                diagnostics.Report(DiagnosticDescriptors.NoLayers, inputArgs.Attribute, type.Name);
                return Done();
            }
            PlanFusion(layers);
            CheckReservedMembers(type, NetworkEmitter.ReservedMemberNames, diagnostics);
            if (diagnostics.HasErrors) return Done();

            var model = new NetworkModel(Target(type, containing), inputH, inputW, inputC, layers.ToEquatableArray());
            return new NetworkParseResult(model, diagnostics.ToArray());
        }

        /// <summary>Each layer attribute's arguments, name and named inputs, or null (with diagnostics) when one cannot be read.</summary>
        private static List<Declared>? ReadLayers(INamedTypeSymbol type, List<(LayerKind Kind, AttributeData Data, AttributeSyntax? Syntax)> attributes,
            SemanticModel model, Diagnostics diagnostics)
        {
            var declared = new List<Declared>();
            for (int i = 0; i < attributes.Count; i++)
            {
                var (kind, data, syntax) = attributes[i];
                if (kind == LayerKind.Input) return null; // [Input] twice is CS0579 from the compiler (AllowMultiple = false)
                bool merge = kind is LayerKind.Add or LayerKind.Concatenate;
                int[] positional = kind switch { LayerKind.Conv2D or LayerKind.DepthwiseConv2D or LayerKind.Conv2DTranspose => [2], LayerKind.Conv1D => [1], LayerKind.MaxPool1D or LayerKind.AveragePooling1D => [0, 1],
                    LayerKind.GlobalAveragePooling1D or LayerKind.GlobalMaxPooling1D or LayerKind.SiLU or LayerKind.GELU => [0], LayerKind.Reshape => [1, 2, 3], LayerKind.MaxPool2D or LayerKind.AveragePooling2D => [1, 2],
                    LayerKind.Flatten or LayerKind.BatchNormalization or LayerKind.GlobalAveragePooling2D or LayerKind.GlobalMaxPooling2D or LayerKind.ReLU or LayerKind.ReLU6
                        or LayerKind.Tanh or LayerKind.Sigmoid or LayerKind.Softmax => [0],
                    LayerKind.LeakyReLU or LayerKind.ELU => [0, 1], LayerKind.Dropout => [1], LayerKind.ZeroPadding2D => [0, 1, 2, 4], LayerKind.Cropping2D => [1, 2, 4], LayerKind.Dense => [1], _ => [] };
                var args = new Arguments(data, syntax, model, positional);
                if (!args.Readable)
                {
                    diagnostics.Report(DiagnosticDescriptors.UnreadableArguments, args.Attribute, type.Name, kind.ToString(), Example(kind));
                    return null;
                }
                string layer = $"{i + 1} ([{kind}])";
                string? name = args.String("Name");
                if (args.Has("Name") && !ValidName(name))
                    diagnostics.Report(DiagnosticDescriptors.InvalidLayerName, args.Location("Name"), layer, type.Name, "Name", name ?? "null");
                string?[] inputs;
                if (merge)
                {
                    var strings = args.Strings;
                    if (strings.Length == 0)
                        diagnostics.Report(DiagnosticDescriptors.MergeNeedsInputs, args.Attribute, layer, type.Name, kind.ToString());
                    for (int k = 0; k < strings.Length; k++)
                    {
                        if (!ValidName(strings[k])) diagnostics.Report(DiagnosticDescriptors.InvalidLayerName, args.StringLocation(k), layer, type.Name, $"input {k + 1}", strings[k]);
                    }
                    inputs = strings.Length == 1 ? [null, strings[0]] : [.. strings];
                }
                else
                {
                    string? input = args.String("Input");
                    if (args.Has("Input") && !ValidName(input))
                        diagnostics.Report(DiagnosticDescriptors.InvalidLayerName, args.Location("Input"), layer, type.Name, "Input", input ?? "null");
                    inputs = [input];
                }
                declared.Add(new Declared(kind, args, name, inputs));
            }
            return diagnostics.HasErrors ? null : declared;
        }

        private static bool ValidName(string? name) => !string.IsNullOrEmpty(name) && name!.IndexOf('/') < 0;

        /// <summary>Keras' unique names (<see cref="LayerNaming"/>, as the runtime gives them), or null after CONVGEN031 for a repeated name.</summary>
        private static string[]? AssignNames(INamedTypeSymbol type, List<Declared> declared, Diagnostics diagnostics)
        {
            var names = LayerNaming.Assign(declared.Select(d => (BaseName(d.Kind), d.Name)).ToList(), out int duplicate);
            if (names is not null) return names;
            string name = declared[duplicate].Name!;
            int first = declared.FindIndex(d => d.Name == name);
            string holder = name == LayerNaming.ModelInput ? "the network's input" : $"layer {first + 1} ([{declared[first].Kind}])";
            diagnostics.Report(DiagnosticDescriptors.DuplicateLayerName, declared[duplicate].Args.Location("Name"), duplicate + 1, type.Name, name, holder);
            return null;
        }

        /// <summary>
        /// Resolves every input and infers every shape in order; null after the first layer that cannot take its input (later
        /// shapes would be guesses). Then reports outputs nothing reads.
        /// </summary>
        private static List<NetworkLayer>? InferShapes(INamedTypeSymbol type, List<Declared> declared, string[] names, int inputH, int inputW, int inputC, Diagnostics diagnostics)
        {
            var layers = new List<NetworkLayer>();
            long parameters = 0;
            for (int i = 0; i < declared.Count; i++)
            {
                var (kind, args, explicitName, inputNames) = declared[i];
                string layer = $"{i + 1} ({names[i]})";

                // Inputs: the previous layer, or the named ones (earlier layers or "input").
                var inputs = new int[inputNames.Length];
                for (int k = 0; k < inputNames.Length; k++)
                {
                    string? wanted = inputNames[k];
                    var location = kind is LayerKind.Add or LayerKind.Concatenate ? args.StringLocation(inputNames.Length == 2 && inputNames[0] is null ? 0 : k) : args.Location("Input");
                    if (wanted is null) { inputs[k] = i - 1; continue; }
                    if (wanted == LayerNaming.ModelInput) { inputs[k] = -1; continue; }
                    int j = System.Array.IndexOf(names, wanted);
                    if (j < 0)
                    {
                        string before = i == 0 ? "none" : string.Join(", ", names.Take(i));
                        diagnostics.Report(DiagnosticDescriptors.UnknownLayerName, location, layer, type.Name, wanted, before);
                        return null;
                    }
                    if (j >= i)
                    {
                        diagnostics.Report(DiagnosticDescriptors.LaterLayerName, location, layer, type.Name, wanted, j + 1, j == i ? "itself" : "after it");
                        return null;
                    }
                    inputs[k] = j;
                }
                (int H, int W, int C) Shape(int producer) => producer < 0 ? (inputH, inputW, inputC) : (layers[producer].OutH, layers[producer].OutW, layers[producer].OutC);
                string Text((int H, int W, int C) s) => Shapes.Text(s.H, s.W, s.C);
                string From(int producer) => producer < 0 ? $"the input {Text((inputH, inputW, inputC))}" : $"layer {producer + 1} ({names[producer]})";
                var (h, w, c) = Shape(inputs[0]);
                bool spatial = h > 0, sequence = h == Shapes.Sequence;

                bool needsImage = kind is LayerKind.Conv2D or LayerKind.DepthwiseConv2D or LayerKind.Conv2DTranspose or LayerKind.MaxPool2D or LayerKind.AveragePooling2D
                    or LayerKind.GlobalAveragePooling2D or LayerKind.GlobalMaxPooling2D or LayerKind.ZeroPadding2D or LayerKind.Cropping2D;
                bool needsSequence = kind is LayerKind.Conv1D or LayerKind.MaxPool1D or LayerKind.AveragePooling1D or LayerKind.GlobalAveragePooling1D or LayerKind.GlobalMaxPooling1D;
                if ((needsImage && sequence) || (needsSequence && !sequence))
                {
                    diagnostics.Report(DiagnosticDescriptors.WrongRank, args.Attribute, layer, type.Name, kind.ToString(),
                        needsImage ? "an image (height, width, channels)" : "a sequence (steps, channels)", Text((h, w, c)), From(inputs[0]),
                        needsImage ? "1-D layers ([Conv1D], [MaxPool1D], ...) take sequences" : "[Input(steps, channels)] declares a sequence input; 2-D layers ([Conv2D], [MaxPool2D], ...) take images");
                    return null;
                }
                if (needsImage && !spatial)
                {
                    diagnostics.Report(DiagnosticDescriptors.NeedsSpatialInput, args.Attribute, layer, type.Name, kind.ToString(), Text((h, w, c)), From(inputs[0]));
                    return null;
                }
                if (kind == LayerKind.Dense && h != 0)
                {
                    diagnostics.Report(DiagnosticDescriptors.DenseNeedsFlatten, args.Attribute, layer, type.Name, Text((h, w, c)), From(inputs[0]), Shapes.Size(h, w, c));
                    return null;
                }

                ConvSpec? conv = null;
                PoolSpec? pool = null;
                NormSpec? norm = null;
                float scalar = 0f;
                int seed = 0;
                float kernelL2 = 0f;
                bool approximate = false;
                PadSpec? pad = null;
                if (kind is LayerKind.Conv2D or LayerKind.Conv1D or LayerKind.Conv2DTranspose or LayerKind.Dense)
                {
                    kernelL2 = args.Float("KernelL2", 0f);
                    if (!(kernelL2 >= 0f && !float.IsInfinity(kernelL2)))
                    {
                        diagnostics.Report(DiagnosticDescriptors.LayerArgument, args.Location("KernelL2"), layer, type.Name, kind.ToString(), "KernelL2", kernelL2, "finite and at least 0, such as 1e-4f");
                        return null;
                    }
                }
                int units = 0;
                bool useBias = false;
                var activation = Activation.None;
                long outH = h, outW = w, outC = c;
                switch (kind)
                {
                    case LayerKind.Conv2D:
                    case LayerKind.DepthwiseConv2D:
                    case LayerKind.Conv1D:
                    case LayerKind.Conv2DTranspose:
                        conv = ReadConv(args, type.Name, inferredChannels: c, diagnostics, kind);
                        if (conv is null) return null;
                        if (args.Has("InputChannels") && conv.InputChannels != c)
                        {
                            diagnostics.Report(DiagnosticDescriptors.InputChannelsMismatch, args.Location("InputChannels"), layer, type.Name, conv.InputChannels, Text((h, w, c)), From(inputs[0]), c);
                            return null;
                        }
                        if (conv.Transposed)
                        {
                            // Keras' output size: input * stride (Same) or (input - 1) * stride + max(extent, stride) (Valid), never
                            // empty, but it grows: an output larger than a network takes is CONVGEN015 (here before the product overflows).
                            outH = Geometry.TransposedOutputSize(h, conv.KernelHeight, conv.StrideHeight, conv.DilationHeight, conv.Same);
                            outW = Geometry.TransposedOutputSize(w, conv.KernelWidth, conv.StrideWidth, conv.DilationWidth, conv.Same);
                            if (outH > MaxNetworkSize || outW > MaxNetworkSize || outH * outW > MaxNetworkSize)
                            {
                                diagnostics.Report(DiagnosticDescriptors.TooLarge, args.Attribute, $"The output height times width of layer {layer}", type.Name, $"{outH} x {outW}", MaxNetworkSize);
                                return null;
                            }
                        }
                        else
                        {
                            outH = sequence ? Shapes.Sequence : Geometry.OutputSize(h, conv.KernelHeight, conv.StrideHeight, conv.DilationHeight, conv.Same);
                            outW = Geometry.OutputSize(w + conv.CausalPad, conv.KernelWidth, conv.StrideWidth, conv.DilationWidth, conv.Same);
                        }
                        if ((outH < 1 && !sequence) || outW < 1)
                        {
                            int eh = conv.ExtentHeight, ew = conv.ExtentWidth;
                            string window = eh == conv.KernelHeight && ew == conv.KernelWidth ? $"{eh}x{ew}" : $"{eh}x{ew} dilated";
                            diagnostics.Report(DiagnosticDescriptors.KernelLargerThanInput, args.Attribute, layer, type.Name, $"{conv.KernelHeight}x{conv.KernelWidth}", window, Text((h, w, c)), From(inputs[0]));
                            return null;
                        }
                        if (!conv.Unrollable && !conv.Transposed) // a transposed one always loops over the taps that reach a pixel
                            diagnostics.Report(DiagnosticDescriptors.KernelNotUnrolled, args.Attribute, conv.KernelHeight, conv.KernelWidth, type.Name, conv.Taps, MaxUnrolledTaps);
                        outC = conv.OutputChannels;
                        useBias = conv.UseBias;
                        activation = conv.Activation;
                        break;

                    case LayerKind.MaxPool2D:
                    case LayerKind.AveragePooling2D:
                        int poolH = args.Positional(0), poolW = args.PositionalCount == 2 ? args.Positional(1) : poolH;
                        if (poolH < 1) diagnostics.Report(DiagnosticDescriptors.PoolSizeTooSmall, args.PositionalLocation(0, args.PositionalCount == 2 ? "poolHeight" : "poolSize"), "PoolHeight", poolH);
                        if (poolW < 1) diagnostics.Report(DiagnosticDescriptors.PoolSizeTooSmall, args.PositionalLocation(args.PositionalCount == 2 ? 1 : 0, args.PositionalCount == 2 ? "poolWidth" : "poolSize"), "PoolWidth", poolW);
                        var (strideH, strideW) = args.BothOrPerAxis("Stride", poolH, poolW, DiagnosticDescriptors.PoolSizeTooSmall, diagnostics);
                        var padding = ReadPadding(args, diagnostics);
                        if (diagnostics.HasErrors) return null;
                        pool = new PoolSpec(poolH, poolW, strideH, strideW, padding);
                        outH = Geometry.OutputSize(h, poolH, strideH, 1, pool.Same);
                        outW = Geometry.OutputSize(w, poolW, strideW, 1, pool.Same);
                        if (outH < 1 || outW < 1)
                        {
                            diagnostics.Report(DiagnosticDescriptors.PoolLargerThanInput, args.Attribute, layer, type.Name, $"{poolH}x{poolW}", Text((h, w, c)), From(inputs[0]));
                            return null;
                        }
                        break;

                    case LayerKind.Flatten:
                        if (h != 0) (outH, outW, outC) = (0, 0, Shapes.Size(h, w, c));
                        break;

                    case LayerKind.MaxPool1D:
                    case LayerKind.AveragePooling1D:
                        int size = args.PositionalCount == 1 ? args.Positional(0) : 2;
                        if (size < 1) diagnostics.Report(DiagnosticDescriptors.PoolSizeTooSmall, args.PositionalLocation(0, "poolSize"), "PoolSize", size);
                        int stride = args.Has("Stride") ? args.Int("Stride", 0) : size;
                        if (stride < 1) diagnostics.Report(DiagnosticDescriptors.PoolSizeTooSmall, args.Location("Stride"), "Stride", stride);
                        var padding1D = ReadPadding(args, diagnostics);
                        if (diagnostics.HasErrors) return null;
                        pool = new PoolSpec(1, size, 1, stride, padding1D);
                        outW = Geometry.OutputSize(w, size, stride, 1, pool.Same);
                        if (outW < 1)
                        {
                            diagnostics.Report(DiagnosticDescriptors.PoolLargerThanInput, args.Attribute, layer, type.Name, $"{size}", Text((h, w, c)), From(inputs[0]));
                            return null;
                        }
                        break;

                    case LayerKind.GlobalAveragePooling1D:
                    case LayerKind.GlobalMaxPooling1D:
                        (outH, outW, outC) = (0, 0, c);
                        break;

                    case LayerKind.GELU:
                        approximate = args.Bool("Approximate", false);
                        break;

                    case LayerKind.Reshape:
                        var target = ReadReshape(args, layer, type.Name, Text((h, w, c)), From(inputs[0]), Shapes.Size(h, w, c), diagnostics);
                        if (target is null) return null;
                        (outH, outW, outC) = target.Value;
                        break;

                    case LayerKind.ZeroPadding2D:
                    case LayerKind.Cropping2D:
                        bool crop = kind == LayerKind.Cropping2D;
                        int[] sides = args.PositionalCount switch
                        {
                            0 => [1, 1, 1, 1],
                            1 => [args.Positional(0), args.Positional(0), args.Positional(0), args.Positional(0)],
                            2 => [args.Positional(0), args.Positional(0), args.Positional(1), args.Positional(1)],
                            _ => [args.Positional(0), args.Positional(1), args.Positional(2), args.Positional(3)],
                        };
                        for (int k = 0; k < args.PositionalCount; k++)
                        {
                            if (args.Positional(k) < 0)
                            {
                                diagnostics.Report(DiagnosticDescriptors.LayerArgument, args.PositionalLocation(k, crop ? "cropping" : "padding"), layer, type.Name, kind.ToString(), crop ? "a cropping" : "a padding", args.Positional(k), "0 or more");
                                return null;
                            }
                        }
                        pad = new PadSpec(sides[0], sides[1], sides[2], sides[3]);
                        int sign = crop ? -1 : 1;
                        (outH, outW) = ((long)h + sign * (sides[0] + sides[1]), (long)w + sign * (sides[2] + sides[3]));
                        if (crop && (outH < 1 || outW < 1))
                        {
                            diagnostics.Report(DiagnosticDescriptors.LayerArgument, args.Attribute, layer, type.Name, "Cropping2D", "the cropping",
                                $"{sides[0]} + {sides[1]} rows and {sides[2]} + {sides[3]} columns of a {h}x{w} input", $"fewer than {h} rows and {w} columns in all");
                            return null;
                        }
                        break;

                    case LayerKind.GlobalAveragePooling2D:
                    case LayerKind.GlobalMaxPooling2D:
                        (outH, outW, outC) = (0, 0, c);
                        break;

                    case LayerKind.Dense:
                        units = args.Positional(0);
                        if (units < 1) diagnostics.Report(DiagnosticDescriptors.UnitsTooSmall, args.PositionalLocation(0, "units"), units);
                        activation = ReadActivation(args, diagnostics);
                        useBias = args.Bool("UseBias", true);
                        if (diagnostics.HasErrors) return null;
                        (outH, outW, outC) = (0, 0, units);
                        break;

                    case LayerKind.BatchNormalization:
                        float momentum = args.Float("Momentum", 0.99f), epsilon = args.Float("Epsilon", 1e-3f);
                        if (!(momentum >= 0f && momentum <= 1f))
                            diagnostics.Report(DiagnosticDescriptors.NormalizationArgument, args.Location("Momentum"), layer, type.Name, "Momentum", momentum, "in [0, 1], such as Keras' 0.99");
                        if (!(epsilon > 0f && !float.IsInfinity(epsilon)))
                            diagnostics.Report(DiagnosticDescriptors.NormalizationArgument, args.Location("Epsilon"), layer, type.Name, "Epsilon", epsilon, "finite and greater than 0, such as Keras' 0.001");
                        if (diagnostics.HasErrors) return null;
                        norm = new NormSpec(momentum, epsilon, args.Bool("Center", true), args.Bool("Scale", true));
                        break;

                    case LayerKind.LeakyReLU:
                        scalar = args.PositionalFloat(0, 0.3f);
                        if (!(scalar >= 0f && !float.IsInfinity(scalar)))
                            diagnostics.Report(DiagnosticDescriptors.LayerArgument, args.PositionalLocation(0, "negativeSlope"), layer, type.Name, "LeakyReLU", "negativeSlope", scalar, "finite and at least 0, such as Keras' 0.3");
                        if (diagnostics.HasErrors) return null;
                        break;

                    case LayerKind.ELU:
                        scalar = args.PositionalFloat(0, 1f);
                        if (!(scalar > 0f && !float.IsInfinity(scalar)))
                            diagnostics.Report(DiagnosticDescriptors.LayerArgument, args.PositionalLocation(0, "alpha"), layer, type.Name, "ELU", "alpha", scalar, "finite and greater than 0, such as Keras' 1.0");
                        if (diagnostics.HasErrors) return null;
                        break;

                    case LayerKind.Dropout:
                        scalar = args.PositionalFloat(0, float.NaN);
                        seed = args.Int("Seed", 0);
                        if (!(scalar >= 0f && scalar < 1f))
                            diagnostics.Report(DiagnosticDescriptors.LayerArgument, args.PositionalLocation(0, "rate"), layer, type.Name, "Dropout", "rate", scalar, "in [0, 1), such as 0.5");
                        if (diagnostics.HasErrors) return null;
                        break;

                    case LayerKind.Add:
                        activation = ReadActivation(args, diagnostics);
                        if (diagnostics.HasErrors) return null;
                        for (int k = 1; k < inputs.Length; k++)
                        {
                            if (Shape(inputs[k]) != (h, w, c))
                            {
                                diagnostics.Report(DiagnosticDescriptors.AddShapeMismatch, args.StringLocation(inputNames[0] is null ? 0 : k), layer, type.Name,
                                    Text(Shape(inputs[k])), From(inputs[k]), Text((h, w, c)), From(inputs[0]));
                                return null;
                            }
                        }
                        break;

                    case LayerKind.Concatenate:
                        outC = 0;
                        for (int k = 0; k < inputs.Length; k++)
                        {
                            var s = Shape(inputs[k]);
                            if (s.H != h || s.W != w)
                            {
                                diagnostics.Report(DiagnosticDescriptors.ConcatenateShapeMismatch, args.StringLocation(inputNames[0] is null ? 0 : k), layer, type.Name,
                                    Text(s), From(inputs[k]), Text((h, w, c)), From(inputs[0]));
                                return null;
                            }
                            outC += s.C;
                        }
                        break;
                }

                long outSize = Shapes.Size(outH, outW, outC);
                if (outSize > MaxNetworkSize)
                {
                    diagnostics.Report(DiagnosticDescriptors.TooLarge, args.Attribute, $"The output size of layer {layer}", type.Name, outSize, MaxNetworkSize);
                    return null;
                }
                var planned = new NetworkLayer(kind, i, names[i], explicitName, inputNames.Select(n => new NameOrPrevious(n)).ToEquatableArray(), inputs.ToEquatableArray(),
                    h, w, c, (int)outH, (int)outW, (int)outC, conv, pool, units, useBias, activation, FusePool: false, norm, scalar, seed, kernelL2, pad, approximate);
                parameters += planned.ParameterCount;
                if (parameters > MaxNetworkSize)
                {
                    diagnostics.Report(DiagnosticDescriptors.TooLarge, args.Attribute, "The parameter count up to layer " + layer, type.Name, parameters, MaxNetworkSize);
                    return null;
                }
                layers.Add(planned);
            }

            for (int i = 0; i + 1 < layers.Count; i++)
            {
                if (layers.Any(l => l.Inputs.Contains(i))) continue;
                var next = declared[i + 1];
                string reads = string.Join(", ", next.Inputs.Select(n => n is null ? $"'{names[i]}' (the previous layer)" : $"'{n}'"));
                diagnostics.Report(DiagnosticDescriptors.OutputNeverUsed, declared[i].Args.Attribute, $"{i + 1} ({names[i]})", type.Name, names[i], reads);
                return null;
            }
            return layers;
        }

        /// <summary>
        /// A [Reshape]'s target as a network shape (image, <see cref="Shapes.Sequence"/> or flat), its -1 inferred; or null after
        /// CONVGEN039 (a size below 1 other than one -1) or CONVGEN045 (sizes that do not hold the input's values).
        /// </summary>
        private static (long H, long W, long C)? ReadReshape(Arguments args, string layer, string typeName, string inputText, string from, long inputSize, Diagnostics diagnostics)
        {
            int count = args.PositionalCount;
            string[] names = count switch { 1 => ["size"], 2 => ["steps", "channels"], _ => ["height", "width", "channels"] };
            var sizes = new long[count];
            int unknown = -1;
            long known = 1;
            for (int k = 0; k < count; k++)
            {
                sizes[k] = args.Positional(k);
                if (sizes[k] == -1 && unknown < 0) { unknown = k; continue; }
                if (sizes[k] < 1)
                {
                    diagnostics.Report(DiagnosticDescriptors.LayerArgument, args.PositionalLocation(k, names[k]), layer, typeName, "Reshape", names[k], sizes[k],
                        "at least 1, or -1 (once) for the size the others leave");
                    return null;
                }
                known *= sizes[k];
            }
            if (unknown >= 0 && known > 0 && inputSize % known == 0) sizes[unknown] = inputSize / known;
            long total = 1;
            foreach (long s in sizes) total *= s;
            if (unknown >= 0 && sizes[unknown] < 1 || total != inputSize)
            {
                string target = "(" + string.Join(", ", Enumerable.Range(0, count).Select(k => args.Positional(k))) + ")";
                diagnostics.Report(DiagnosticDescriptors.ReshapeSize, args.Attribute, layer, typeName, target, unknown >= 0 ? $"a multiple of {known}" : total.ToString(), inputText, from, inputSize);
                return null;
            }
            return count switch
            {
                1 => (0, 0, sizes[0]),
                2 => (Shapes.Sequence, sizes[0], sizes[1]),
                _ => (sizes[0], sizes[1], sizes[2]),
            };
        }

        /// <summary>
        /// A 2x2, stride-2 max pool that reads only the convolution before it, when nothing else reads that convolution and its output
        /// height and width are even, runs inside the convolution's forward kernel (as the runtime's planner decides too): each register
        /// tile is one pooling window, and the pool costs four maxima per window. A grouped convolution's kernels have no pooled
        /// forward (as at run time, where its kernel class reports none).
        /// </summary>
        private static void PlanFusion(List<NetworkLayer> layers)
        {
            for (int i = 0; i + 1 < layers.Count; i++)
            {
                NetworkLayer conv = layers[i], pool = layers[i + 1];
                bool onlyReader = layers.Count(l => l.Inputs.Contains(i)) == 1;
                if (conv.Kind == LayerKind.Conv2D && !conv.Conv!.Grouped && (conv.Activation is Activation.None or Activation.ReLU) && pool.Kind == LayerKind.MaxPool2D && pool.Pool is { PoolHeight: 2, PoolWidth: 2, StrideHeight: 2, StrideWidth: 2 }
                    && pool.Inputs.Count == 1 && pool.Inputs[0] == i && onlyReader && conv.OutH % 2 == 0 && conv.OutW % 2 == 0)
                    layers[i] = conv with { FusePool = true };
            }
        }
    }
}
