using System.Collections.Generic;
using System.Linq;
using System.Threading;
using ConvGen.Generator.Helpers;
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
                    _ => null,
                };
                if (kind is not null) yield return new LayerAttribute(kind.Value, attribute);
            }
        }

        /// <summary>
        /// [MaxPool2D], [Flatten] or [Dense] on a class without [Input]: one CONVGEN016 per class, reported by the pipeline of the
        /// first such attribute, at the class's first layer attribute.
        /// </summary>
        public static EquatableArray<DiagnosticInfo> ParseOrphan(GeneratorAttributeSyntaxContext context, LayerKind kind, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type) return EquatableArray<DiagnosticInfo>.Empty;
            var layers = LayerAttributes(type).ToList();
            if (layers.Any(l => l.Kind == LayerKind.Input)) return EquatableArray<DiagnosticInfo>.Empty;
            var firstNetworkOnly = layers.FirstOrDefault(l => l.Kind != LayerKind.Conv2D);
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

        /// <summary>A class with [Input]: its layers, every shape inferred, or the diagnostics that say what does not fit.</summary>
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
            if (type.BaseType is { SpecialType: not SpecialType.System_Object } baseType
                && baseType.ToDisplayString() != "ConvGen.CompiledNetwork")
                diagnostics.Report(DiagnosticDescriptors.NetworkBaseClass, LocationInfo.From(declaration.Identifier), type.Name, baseType.ToDisplayString());

            // The layer attributes of the declaration that has [Input], in source order; any on another part is an error.
            var layers = new List<(LayerKind Kind, AttributeData Data, AttributeSyntax? Syntax)>();
            foreach (var (kind, data) in LayerAttributes(type))
            {
                var syntax = data.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
                if (syntax?.Parent?.Parent is not TypeDeclarationSyntax owner || owner.SyntaxTree != declaration.SyntaxTree || owner.Span != declaration.Span)
                {
                    diagnostics.Report(DiagnosticDescriptors.LayersSplitAcrossPartials, LocationInfo.From(syntax), kind.ToString(), type.Name);
                    continue;
                }
                layers.Add((kind, data, syntax));
            }
            layers.Sort((a, b) => a.Syntax!.SpanStart.CompareTo(b.Syntax!.SpanStart));
            if (layers.Count == 0 || layers[0].Kind != LayerKind.Input)
            {
                var first = layers.FirstOrDefault();
                if (first.Data is not null) diagnostics.Report(DiagnosticDescriptors.InputNotFirst, LocationInfo.From(first.Syntax), type.Name, first.Kind.ToString());
                return Done();
            }

            var inputArgs = new Arguments(layers[0].Data, layers[0].Syntax, context.SemanticModel, 3);
            if (!inputArgs.Readable)
            {
                diagnostics.Report(DiagnosticDescriptors.UnreadableArguments, inputArgs.Attribute, type.Name, "Input", "[Input(28, 28, 1)]");
                return Done();
            }
            int h = inputArgs.Positional(0), w = inputArgs.Positional(1), c = inputArgs.Positional(2);
            string[] axes = ["height", "width", "channels"];
            for (int i = 0; i < 3; i++)
            {
                if (inputArgs.Positional(i) < 1)
                    diagnostics.Report(DiagnosticDescriptors.InputSizeTooSmall, inputArgs.PositionalLocation(i, axes[i]), axes[i], inputArgs.Positional(i));
            }
            if ((long)h * w * c > MaxNetworkSize)
                diagnostics.Report(DiagnosticDescriptors.TooLarge, inputArgs.Attribute, "The input size height * width * channels", type.Name, (long)h * w * c, MaxNetworkSize);
            if (layers.Count == 1) diagnostics.Report(DiagnosticDescriptors.NoLayers, inputArgs.Attribute, type.Name);
            if (diagnostics.HasErrors) return Done();

            var (ns, fullName) = Names(type);
            string kernelPrefix = type.Name.TrimStart('@') + "_";
            var planned = new List<LayerModel>();
            var bufferSizes = new List<int>();
            var counts = new Dictionary<LayerKind, int>();
            bool spatial = true;
            int buffer = 0;
            long parameters = 0, scratch = 0;
            string from = $"the input ({h}, {w}, {c})";
            string Shape() => spatial ? $"({h}, {w}, {c})" : $"({c})";

            for (int index = 1; index < layers.Count; index++)
            {
                var (kind, data, syntax) = layers[index];
                if (kind == LayerKind.Input)
                {
                    // [Input] twice is CS0579 from the compiler (AllowMultiple = false); nothing more to say.
                    return Done();
                }
                int n = counts.TryGetValue(kind, out int seen) ? seen : 0;
                counts[kind] = n + 1;
                string baseName = kind switch { LayerKind.Conv2D => "conv2d", LayerKind.MaxPool2D => "max_pooling2d", LayerKind.Flatten => "flatten", _ => "dense" };
                string name = n == 0 ? baseName : $"{baseName}_{n}";
                string layer = $"{index} ({name})";
                int[] positional = kind switch { LayerKind.Conv2D => [2], LayerKind.MaxPool2D => [1, 2], LayerKind.Flatten => [0], _ => [1] };
                var args = new Arguments(data, syntax, context.SemanticModel, positional);
                if (!args.Readable)
                {
                    string example = kind switch { LayerKind.Conv2D => "[Conv2D(3, 3, Filters = 16)]", LayerKind.MaxPool2D => "[MaxPool2D(2)]", LayerKind.Flatten => "[Flatten]", _ => "[Dense(10)]" };
                    diagnostics.Report(DiagnosticDescriptors.UnreadableArguments, args.Attribute, type.Name, kind.ToString(), example);
                    return Done();
                }
                if (kind is LayerKind.Conv2D or LayerKind.MaxPool2D && !spatial)
                {
                    diagnostics.Report(DiagnosticDescriptors.NeedsSpatialInput, args.Attribute, layer, type.Name, kind.ToString(), Shape(), from);
                    return Done();
                }
                if (kind == LayerKind.Dense && spatial)
                {
                    diagnostics.Report(DiagnosticDescriptors.DenseNeedsFlatten, args.Attribute, layer, type.Name, Shape(), from, (long)h * w * c);
                    return Done();
                }

                int inH = spatial ? h : 0, inW = spatial ? w : 0, inC = c, inBuffer = buffer;
                Conv2DModel? conv = null;
                int poolH = 0, poolW = 0, strideH = 0, strideW = 0, padding = 0, units = 0, activation = 0;
                bool useBias = false;
                long outH = h, outW = w, outC = c;
                switch (kind)
                {
                    case LayerKind.Conv2D:
                        conv = ReadConv(args, type.Name, inferredChannels: c, diagnostics);
                        if (conv is null) return Done();
                        if (args.Has("InputChannels") && conv.InputChannels != c)
                        {
                            diagnostics.Report(DiagnosticDescriptors.InputChannelsMismatch, args.Location("InputChannels"), layer, type.Name, conv.InputChannels, Shape(), from, c);
                            return Done();
                        }
                        int eh = (conv.KernelHeight - 1) * conv.DilationHeight + 1, ew = (conv.KernelWidth - 1) * conv.DilationWidth + 1;
                        if (!conv.Same && (eh > h || ew > w))
                        {
                            string window = eh == conv.KernelHeight && ew == conv.KernelWidth ? $"{eh}x{ew}" : $"{eh}x{ew} dilated";
                            diagnostics.Report(DiagnosticDescriptors.KernelLargerThanInput, args.Attribute, layer, type.Name, $"{conv.KernelHeight}x{conv.KernelWidth}", window, Shape(), from);
                            return Done();
                        }
                        if (!conv.Unrolled)
                            diagnostics.Report(DiagnosticDescriptors.KernelNotUnrolled, args.Attribute, conv.KernelHeight, conv.KernelWidth, type.Name, conv.KernelHeight * conv.KernelWidth, MaxUnrolledTaps);
                        outH = conv.Same ? (h - 1) / conv.StrideHeight + 1 : (h - eh) / conv.StrideHeight + 1;
                        outW = conv.Same ? (w - 1) / conv.StrideWidth + 1 : (w - ew) / conv.StrideWidth + 1;
                        outC = conv.Filters;
                        conv = conv with
                        {
                            ClassName = kernelPrefix + name, FullName = fullName,
                            FixedHeight = h, FixedWidth = w, FuseRelu = conv.Activation == 1,
                        };
                        useBias = conv.UseBias;
                        activation = conv.Activation;
                        break;

                    case LayerKind.MaxPool2D:
                        poolH = args.Positional(0);
                        poolW = args.PositionalCount == 2 ? args.Positional(1) : poolH;
                        if (poolH < 1) diagnostics.Report(DiagnosticDescriptors.PoolSizeTooSmall, args.PositionalLocation(0, args.PositionalCount == 2 ? "poolHeight" : "poolSize"), "PoolHeight", poolH);
                        if (poolW < 1) diagnostics.Report(DiagnosticDescriptors.PoolSizeTooSmall, args.PositionalLocation(args.PositionalCount == 2 ? 1 : 0, args.PositionalCount == 2 ? "poolWidth" : "poolSize"), "PoolWidth", poolW);
                        (strideH, strideW) = args.BothOrPerAxis("Stride", poolH, poolW, DiagnosticDescriptors.PoolSizeTooSmall, diagnostics);
                        padding = args.Int("Padding", 0);
                        CheckPadding(args, padding, diagnostics);
                        if (diagnostics.HasErrors) return Done();
                        if (padding == 0 && (poolH > h || poolW > w))
                        {
                            diagnostics.Report(DiagnosticDescriptors.PoolLargerThanInput, args.Attribute, layer, type.Name, $"{poolH}x{poolW}", Shape(), from);
                            return Done();
                        }
                        outH = padding == 1 ? (h - 1) / strideH + 1 : (h - poolH) / strideH + 1;
                        outW = padding == 1 ? (w - 1) / strideW + 1 : (w - poolW) / strideW + 1;
                        break;

                    case LayerKind.Flatten:
                        if (spatial) (outH, outW, outC) = (0, 0, (long)h * w * c);
                        break;

                    case LayerKind.Dense:
                        units = args.Positional(0);
                        if (units < 1) diagnostics.Report(DiagnosticDescriptors.UnitsTooSmall, args.PositionalLocation(0, "units"), units);
                        activation = args.Int("Activation", 0);
                        CheckActivation(args, activation, diagnostics);
                        useBias = args.Bool("UseBias", true);
                        if (diagnostics.HasErrors) return Done();
                        (outH, outW, outC) = (0, 0, units);
                        break;
                }

                long outSize = outH > 0 ? outH * outW * outC : outC;
                if (outSize > MaxNetworkSize)
                {
                    diagnostics.Report(DiagnosticDescriptors.TooLarge, args.Attribute, $"The output size of layer {layer}", type.Name, outSize, MaxNetworkSize);
                    return Done();
                }

                // Parameters (kernel, then bias) and, for convolutions, per-thread gradient scratch.
                long weightCount = kind switch
                {
                    LayerKind.Conv2D => (long)conv!.KernelHeight * conv.KernelWidth * conv.InputChannels * conv.Filters,
                    LayerKind.Dense => (long)c * units,
                    _ => 0,
                };
                long biasCount = useBias ? (kind == LayerKind.Dense ? units : outC) : 0;
                int weightOffset = (int)parameters, biasOffset = (int)(parameters + weightCount), scratchOffset = (int)scratch;
                parameters += weightCount + biasCount;
                if (kind == LayerKind.Conv2D) scratch += weightCount + biasCount;
                if (parameters > MaxNetworkSize)
                {
                    diagnostics.Report(DiagnosticDescriptors.TooLarge, args.Attribute, "The parameter count up to layer " + layer, type.Name, parameters, MaxNetworkSize);
                    return Done();
                }

                if (kind != LayerKind.Flatten)
                {
                    bufferSizes.Add((int)outSize);
                    buffer = bufferSizes.Count;
                }
                (h, w, c, spatial) = ((int)outH, (int)outW, (int)outC, outH > 0);
                planned.Add(new LayerModel(kind, name, index, inH, inW, inC, h, w, c, inBuffer, buffer, conv,
                    poolH, poolW, strideH, strideW, padding, units, useBias, activation, weightOffset, biasOffset, scratchOffset));
                from = $"layer {layer}";
            }

            // Only [Flatten] layers: a network with nothing to compute.
            if (bufferSizes.Count == 0)
            {
                diagnostics.Report(DiagnosticDescriptors.NoLayers, inputArgs.Attribute, type.Name);
                return Done();
            }
            // A 2x2, stride-2 max pool that tiles a convolution's output is fused into the convolution's forward kernel: each
            // register tile is one pooling window, so there are no partial tiles, and the pool costs four Vector.Max per window.
            for (int i = 0; i + 1 < planned.Count; i++)
            {
                LayerModel conv = planned[i], pool = planned[i + 1];
                if (conv.Kind == LayerKind.Conv2D && pool.Kind == LayerKind.MaxPool2D
                    && pool.PoolH == 2 && pool.PoolW == 2 && pool.StrideH == 2 && pool.StrideW == 2
                    && conv.OutH % 2 == 0 && conv.OutW % 2 == 0)
                    planned[i] = conv with { Conv = conv.Conv! with { FusePool = true } };
            }
            CheckReservedMembers(type, NetworkEmitter.ReservedMemberNames, diagnostics);
            if (diagnostics.HasErrors) return Done();

            var model = new NetworkModel(ns, containing.ToEquatableArray(), Identifier(type.Name), fullName, fullName.Replace("@", "") + ".g.cs",
                inputArgs.Positional(0), inputArgs.Positional(1), inputArgs.Positional(2), planned.ToEquatableArray(),
                (int)parameters, (int)scratch, bufferSizes.ToEquatableArray());
            return new NetworkParseResult(model, diagnostics.ToArray());
        }
    }
}
