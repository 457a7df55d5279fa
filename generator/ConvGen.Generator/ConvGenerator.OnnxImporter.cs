using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using ConvGen.Generator.Helpers;
using ConvGen.Generator.Models;
using ConvGen.Generator.Onnx;
using ConvGen.Internal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ConvGen.Generator;

/// <summary>The class an <c>[OnnxModel]</c> is on, the file it names, and what was wrong with either.</summary>
internal sealed record OnnxTarget(TypeTarget? Target, string ClassName, string Path, LocationInfo? Location, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>An <c>.onnx</c> additional file: its path and bytes, or why it could not be read.</summary>
internal sealed record OnnxFileData(string Path, EquatableArray<byte> Bytes, string? Error);

public sealed partial class ConvGenerator
{
    internal const string OnnxModelAttributeMetadataName = "ConvGen.OnnxModelAttribute";

    internal static partial class Parser
    {
        /// <summary>The class an <c>[OnnxModel]</c> is on: checked as an <c>[Input]</c> network's is, with the file path it names.</summary>
        public static OnnxTarget ParseOnnxTarget(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax declaration || context.Attributes.Length == 0)
                return new OnnxTarget(null, "", "", null, EquatableArray<DiagnosticInfo>.Empty);
            var syntax = context.Attributes[0].ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
            var location = LocationInfo.From(syntax) ?? LocationInfo.From(declaration.Identifier);
            var diagnostics = new Diagnostics(location);
            var containing = CheckTarget(type, declaration, "OnnxModel", diagnostics, cancellationToken);
            CheckBaseClass(type, declaration, "OnnxModel", "ConvGen.CompiledNetwork", allowed: "ConvGen.CompiledNetwork", diagnostics);
            if (LayerAttributes(type).Any())
                diagnostics.Report(DiagnosticDescriptors.OnnxModelWithLayers, location, type.Name);
            CheckReservedMembers(type, NetworkEmitter.ReservedMemberNames, diagnostics);
            var args = context.Attributes[0].ConstructorArguments;
            string path = args.Length == 1 && args[0].Value is string p ? p : "";
            if (path.Trim().Length == 0) diagnostics.Report(DiagnosticDescriptors.OnnxFileNotFound, location, type.Name, path, "give the file's path as listed in AdditionalFiles, e.g. [OnnxModel(\"models/net.onnx\")]");
            var target = containing is null || diagnostics.HasErrors ? null : Target(type, containing);
            return new OnnxTarget(target, type.Name, path, location, diagnostics.ToArray());
        }

        /// <summary>Reads an <c>.onnx</c> additional file's bytes (the compiler gives additional files as text only).</summary>
        public static OnnxFileData ReadOnnxFile(AdditionalText text, CancellationToken cancellationToken)
        {
            try
            {
#pragma warning disable RS1035 // An ONNX model is binary; AdditionalText.GetText would decode its bytes as text. The file is a declared input.
                var bytes = System.IO.File.ReadAllBytes(text.Path);
#pragma warning restore RS1035
                return new OnnxFileData(text.Path, new EquatableArray<byte>(bytes), null);
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException or System.Security.SecurityException)
            {
                return new OnnxFileData(text.Path, EquatableArray<byte>.Empty, e.Message);
            }
        }

        /// <summary>
        /// The network an <c>[OnnxModel]</c> names: its file found among the additional files, parsed, and translated into
        /// ConvGen's layers with the file's weights, or the diagnostics that say why not (at the attribute).
        /// </summary>
        public static NetworkParseResult ImportOnnx(OnnxTarget target, ImmutableArray<OnnxFileData> files)
        {
            var diagnostics = new Diagnostics(target.Location);
            foreach (var d in target.Diagnostics) diagnostics.Add(d);
            if (target.Target is null || diagnostics.HasErrors) return new NetworkParseResult(null, diagnostics.ToArray());
            string wanted = Normalize(target.Path);
            var matches = files.Where(f => Normalize(f.Path) == wanted || Normalize(f.Path).EndsWith("/" + wanted, StringComparison.Ordinal)).ToList();
            if (matches.Count != 1)
            {
                diagnostics.Report(DiagnosticDescriptors.OnnxFileNotFound, target.Location, target.ClassName, target.Path,
                    matches.Count == 0
                        ? $"list it in the project: <AdditionalFiles Include=\"{target.Path}\" />{(files.Length > 0 ? $" (the .onnx additional files are {string.Join(", ", files.Select(f => f.Path))})" : "")}"
                        : $"{matches.Count} additional files end so ({string.Join(", ", matches.Select(f => f.Path))}): give more of the path");
                return new NetworkParseResult(null, diagnostics.ToArray());
            }
            var file = matches[0];
            if (file.Error is not null)
            {
                diagnostics.Report(DiagnosticDescriptors.OnnxUnreadable, target.Location, target.ClassName, file.Path, $"it could not be read: {file.Error}");
                return new NetworkParseResult(null, diagnostics.ToArray());
            }
            try
            {
                var onnx = OnnxFile.Parse(file.Bytes.AsSpan().ToArray());
                var model = new OnnxTranslation(onnx, target, diagnostics).Translate();
                return new NetworkParseResult(diagnostics.HasErrors ? null : model, diagnostics.ToArray());
            }
            catch (OnnxFormatException e)
            {
                diagnostics.Report(DiagnosticDescriptors.OnnxUnreadable, target.Location, target.ClassName, file.Path, e.Message);
                return new NetworkParseResult(null, diagnostics.ToArray());
            }
        }

        private static string Normalize(string path) => path.Replace('\\', '/').Trim();

        /// <summary>
        /// ONNX's graph in ConvGen's terms. Every ONNX value becomes the output of a ConvGen layer (or of the input), channels
        /// last; kernels are permuted to HWIO as they are read; a Flatten of an image is remembered so the Gemm after it can
        /// permute its rows from ONNX's (C, H, W) order to ConvGen's (H, W, C). An activation read only by the op before it is
        /// fused into that layer where ConvGen fuses it.
        /// </summary>
        private sealed class OnnxTranslation(OnnxFile onnx, OnnxTarget target, Diagnostics diagnostics)
        {
            /// <summary>
            /// A value of the graph: the layer that makes it (-1: the input), its ConvGen shape (<c>H</c> 0 flat,
            /// <see cref="Shapes.Sequence"/> a sequence), for a flattened image or sequence its shape before (ONNX's order then
            /// differs from ConvGen's), and whether ONNX holds it channels last (after a Transpose that only changes layout).
            /// </summary>
            private sealed record Value(int Layer, int H, int W, int C, (int H, int W, int C)? Flattened = null, bool OnesSpatial = false, bool Last = false)
            {
                public bool Flat => H == 0;

                public bool Sequence => H == Shapes.Sequence;

                public long Size => Shapes.Size(H, W, C);
            }

            private sealed class Pending
            {
                public LayerKind Kind;
                public int[] Inputs = [];
                public int InH, InW, InC, OutH, OutW, OutC;
                public ConvSpec? Conv;
                public PoolSpec? Pool;
                public int Units;
                public bool UseBias;
                public Activation Activation;
                public NormSpec? Norm;
                public float Scalar;
                public PadSpec? Pad;
                public List<float> Weights = [];
            }

            private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
            private readonly List<Pending> _layers = [];
            private readonly Dictionary<string, int> _readers = new(StringComparer.Ordinal);
            private readonly HashSet<OnnxNode> _consumed = [];

            public NetworkModel? Translate()
            {
                if (onnx.Opset < 0) onnx.Opset = 1; // a file that imports no opset of the default domain: the oldest
                if (onnx.Opset is < MinOpset or > MaxOpset)
                    return Fail(null, $"its opset is {onnx.Opset}; ConvGen reads opsets {MinOpset} to {MaxOpset}");
                var inputs = onnx.Inputs.Where(i => !onnx.Initializers.ContainsKey(i.Name)).ToList();
                if (inputs.Count != 1) return Fail(null, $"its graph has {inputs.Count} inputs that are not initializers; ConvGen compiles networks of one input");
                var input = inputs[0];
                if (input.ElementType != OnnxFile.Float) return Fail(null, $"its input '{input.Name}' is of element type {input.ElementType}; ConvGen reads float (1) inputs");
                if (!input.HasShape || input.Dims.Count is not (2 or 3 or 4) || input.Dims.Skip(1).Any(d => d is null or < 1 or > int.MaxValue))
                    return Fail(null, $"its input '{input.Name}' has shape [{string.Join(", ", input.Dims.Select(d => d?.ToString() ?? "?"))}]; ConvGen compiles images [N, C, H, W], sequences [N, C, steps] and vectors [N, features] with every size but the batch fixed");
                foreach (var node in onnx.Nodes)
                    foreach (var name in node.Inputs)
                        if (name.Length > 0) _readers[name] = _readers.TryGetValue(name, out int n) ? n + 1 : 1;
                // An input that only Transposes to channels first read is channels last itself (ConvGen's export with ChannelsLast).
                bool image = input.Dims.Count == 4;
                long[] toFirst = image ? [0, 3, 1, 2] : [0, 2, 1];
                var inputReaders = onnx.Nodes.Where(n => n.Inputs.Contains(input.Name)).ToList();
                bool last = inputReaders.Count > 0 && inputReaders.All(n => n.OpType == "Transpose" && Ints(n, "perm") is { } perm && perm.SequenceEqual(toFirst));
                var d = input.Dims.Skip(1).Select(v => (int)v!.Value).ToArray();
                int h, w, c;
                if (d.Length == 1) (h, w, c, last) = (0, 0, d[0], false);
                else if (image) (h, w, c) = last ? (d[0], d[1], d[2]) : (d[1], d[2], d[0]);
                else (h, w, c) = (Shapes.Sequence, last ? d[0] : d[1], last ? d[1] : d[0]);
                if (Shapes.Size(h, w, c) > MaxNetworkSize) return Fail(null, $"its input holds {Shapes.Size(h, w, c)} values, more than the {MaxNetworkSize} ConvGen compiles");
                _values[input.Name] = new Value(-1, h, w, c, Last: last);
                if (onnx.Outputs.Count != 1) return Fail(null, $"its graph has {onnx.Outputs.Count} outputs; ConvGen compiles networks of one output");

                foreach (var node in onnx.Nodes)
                {
                    if (_consumed.Contains(node)) continue;
                    if (node.Domain is not ("" or "ai.onnx"))
                        return Fail(node, $"its domain '{node.Domain}' is not ONNX's own");
                    foreach (var name in node.Inputs)
                        if (name.Length > 0 && !_values.ContainsKey(name) && !onnx.Initializers.ContainsKey(name))
                            return Fail(node, $"it reads '{name}' before any node makes it (the graph has a cycle, is not in order, or reads a value nothing makes)");
                    if (node.Outputs.Count == 0 || node.Outputs[0].Length == 0) return Fail(node, "it has no output");
                    if (node.OpType == "Transpose" && node.Inputs.Count == 1 && Constant(node, 0) is { } transposed)
                    {
                        // A transposed weight matrix (PyTorch's Linear without bias: Transpose, MatMul) is folded here.
                        if (transposed is not { Floats: not null, Dims.Length: 2 } || Ints(node, "perm") is { } p && !p.SequenceEqual(new long[] { 1, 0 }))
                            return Fail(node, "it transposes an initializer other than a float matrix");
                        int rows = (int)transposed.Dims[0], columns = (int)transposed.Dims[1];
                        var folded = new float[transposed.Floats.Length];
                        for (int r = 0; r < rows; r++)
                            for (int k = 0; k < columns; k++)
                                folded[k * rows + r] = transposed.Floats[r * columns + k];
                        onnx.Initializers[node.Outputs[0]] = new OnnxTensor { Name = node.Outputs[0], Dims = [columns, rows], DataType = OnnxFile.Float, Floats = folded };
                        continue;
                    }
                    if (node.OpType != "Constant" && (node.Inputs.Count == 0 || !_values.ContainsKey(node.Inputs[0])))
                        return Fail(node, node.Inputs.Count == 0 || node.Inputs[0].Length == 0 ? "it has no input" : $"its first input '{node.Inputs[0]}' is an initializer, not a layer's output");
                    if (!TranslateNode(node)) return null;
                    foreach (var name in node.Outputs)
                        if (_values.TryGetValue(name, out var made) && made.Size > MaxNetworkSize)
                            return Fail(node, $"its output holds {made.Size} values a sample, more than the {MaxNetworkSize} ConvGen compiles");
                }

                if (!_values.TryGetValue(onnx.Outputs[0].Name, out var output) || output.Layer < 0)
                    return Fail(null, $"its output '{onnx.Outputs[0].Name}' is not made by a layer ConvGen compiles");
                if (output.Layer != _layers.Count - 1)
                    return Fail(null, $"its output '{onnx.Outputs[0].Name}' is not made by its last node (ConvGen's network ends in its output)");
                if (output.Flattened is not null && _layers[output.Layer].Kind == LayerKind.Flatten)
                    return Fail(null, $"its output is a Flatten of an image, whose order ONNX (C, H, W) and ConvGen (H, W, C) do not share; end the model with a Dense or a pool");
                return Build(h, w, c);
            }

            private const int MinOpset = 6, MaxOpset = 21;

            /// <summary>The most weight bytes an imported class embeds: 12 MiB, as 6 Mi chars of one string constant.</summary>
            internal const long MaxEmbeddedWeightBytes = 12L << 20;

            private NetworkModel? Fail(OnnxNode? node, string what)
            {
                diagnostics.Report(node is null ? DiagnosticDescriptors.OnnxUnsupported : DiagnosticDescriptors.OnnxUnsupportedNode, target.Location,
                    node is null ? new object[] { target.ClassName, target.Path, what } : new object[] { target.ClassName, target.Path, node.Label, node.OpType, what });
                return null;
            }

            private bool Unsupported(OnnxNode node, string what)
            {
                Fail(node, what);
                return false;
            }

            private Value In(OnnxNode node, int index = 0) => _values[node.Inputs[index]];

            private long Int(OnnxNode node, string name, long fallback) => node.Attributes.TryGetValue(name, out var a) ? a.I : fallback;

            private float Float(OnnxNode node, string name, float fallback) => node.Attributes.TryGetValue(name, out var a) ? a.F : fallback;

            private long[]? Ints(OnnxNode node, string name) => node.Attributes.TryGetValue(name, out var a) ? a.Ints.ToArray() : null;

            private OnnxTensor? Constant(OnnxNode node, int index) =>
                index < node.Inputs.Count && node.Inputs[index].Length > 0 && onnx.Initializers.TryGetValue(node.Inputs[index], out var t) ? t : null;

            /// <summary>The one node that reads <paramref name="value"/>, if exactly one does and the value is not the graph's output.</summary>
            private OnnxNode? OnlyReader(string value)
            {
                if (!_readers.TryGetValue(value, out int count) || count != 1 || onnx.Outputs.Any(o => o.Name == value)) return null;
                return onnx.Nodes.FirstOrDefault(n => !_consumed.Contains(n) && n.Inputs.Contains(value));
            }

            private int Add(Pending layer, string output, Value value)
            {
                _layers.Add(layer);
                _values[output] = value with { Layer = _layers.Count - 1 };
                return _layers.Count - 1;
            }

            /// <summary>The activation an ONNX activation node computes, if ConvGen has it; <paramref name="alpha"/> for LeakyRelu.</summary>
            private Activation? ActivationOf(OnnxNode node, out float alpha)
            {
                alpha = 0;
                switch (node.OpType)
                {
                    case "Relu": return Activation.ReLU;
                    case "Sigmoid": return Activation.Sigmoid;
                    case "Tanh": return Activation.Tanh;
                    case "LeakyRelu": alpha = Float(node, "alpha", 0.01f); return Activation.LeakyReLU;
                    case "Elu": alpha = Float(node, "alpha", 1f); return Activation.ELU;
                    case "Clip":
                    {
                        float min = float.NegativeInfinity, max = float.PositiveInfinity;
                        if (onnx.Opset < 11)
                        {
                            min = Float(node, "min", min);
                            max = Float(node, "max", max);
                        }
                        else
                        {
                            if (node.Inputs.Count > 1 && node.Inputs[1].Length > 0) { if (Constant(node, 1) is { Floats: { Length: 1 } lo }) min = lo[0]; else return null; }
                            if (node.Inputs.Count > 2 && node.Inputs[2].Length > 0) { if (Constant(node, 2) is { Floats: { Length: 1 } hi }) max = hi[0]; else return null; }
                        }
                        if (min == 0 && max == 6) return Activation.ReLU6;
                        if (min == 0 && float.IsPositiveInfinity(max)) return Activation.ReLU;
                        return null;
                    }
                    default: return null;
                }
            }

            /// <summary>
            /// If the only reader of <paramref name="output"/> is an activation ConvGen fuses into the layer (ReLU always; the
            /// others with Keras' arguments), consumes it and returns the activation and the name it writes.
            /// </summary>
            private (Activation Activation, string Output) FuseActivation(string output)
            {
                if (OnlyReader(output) is not { } next || next.Inputs.Count == 0 || next.Inputs[0] != output || next.Outputs.Count == 0) return (Activation.None, output);
                var activation = ActivationOf(next, out float alpha);
                bool fusable = activation is Activation.ReLU or Activation.ReLU6 or Activation.Sigmoid or Activation.Tanh
                    || (activation == Activation.LeakyReLU && alpha == 0.2f) || (activation == Activation.ELU && alpha == 1f);
                if (!fusable) return (Activation.None, output);
                _consumed.Add(next);
                return (activation!.Value, next.Outputs[0]);
            }

            private bool TranslateNode(OnnxNode node)
            {
                string output = node.Outputs[0];
                if (node.OpType is not ("Transpose" or "Reshape" or "Flatten" or "Identity" or "Dropout" or "Constant")
                    && node.Inputs.Any(i => _values.TryGetValue(i, out var v) && v.Last && !v.Flat))
                    return Unsupported(node, "it reads a value held channels last (after a Transpose); ConvGen reads a channels-last value only in a Reshape, a Flatten or the Transpose back");
                switch (node.OpType)
                {
                    case "Transpose": return Transpose(node);
                    case "Identity":
                    case "Dropout":
                        if (!_values.ContainsKey(node.Inputs[0])) return Unsupported(node, "it passes on an initializer, not a layer's output");
                        _values[output] = In(node);
                        return true;
                    case "Constant":
                    {
                        // A constant is an initializer by another name (PyTorch writes Clip's bounds and Pad's pads so).
                        if (!node.Attributes.TryGetValue("value", out var value) || value.T is null || value.T.Floats is null && value.T.Int64s is null)
                            return Unsupported(node, "its value is not a float or int64 tensor (value)");
                        if (onnx.Initializers.ContainsKey(output) || _values.ContainsKey(output)) return Unsupported(node, $"its output '{output}' is also made elsewhere");
                        value.T.Name = output;
                        onnx.Initializers[output] = value.T;
                        return true;
                    }
                    case "Pad": return Pad(node);
                    case "Slice": return Slice(node);
                    case "Conv": return Conv(node);
                    case "ConvTranspose": return ConvTranspose(node);
                    case "BatchNormalization": return BatchNorm(node);
                    case "MaxPool":
                    case "AveragePool": return Pool(node);
                    case "GlobalAveragePool":
                    case "GlobalMaxPool":
                    {
                        var x = In(node);
                        if (x.Flat) return Unsupported(node, "its input is not an image or a sequence");
                        bool average = node.OpType == "GlobalAveragePool";
                        var kind = x.Sequence ? (average ? LayerKind.GlobalAveragePooling1D : LayerKind.GlobalMaxPooling1D) : (average ? LayerKind.GlobalAveragePooling2D : LayerKind.GlobalMaxPooling2D);
                        Add(new Pending { Kind = kind, Inputs = [x.Layer], InH = x.H, InW = x.W, InC = x.C, OutC = x.C },
                            output, new Value(0, 0, 0, x.C, OnesSpatial: true));
                        return true;
                    }
                    case "Flatten":
                    case "Reshape": return Flatten(node);
                    case "Gemm":
                    case "MatMul": return Dense(node);
                    case "Add": return Merge(node, LayerKind.Add);
                    case "Concat":
                    {
                        long axis = Int(node, "axis", 1);
                        var first = In(node);
                        int rank = first.Flat ? 2 : 4;
                        if (axis != 1 && axis != 1 - rank) return Unsupported(node, $"it concatenates along axis {axis}; ConvGen concatenates channels (axis 1)");
                        return Merge(node, LayerKind.Concatenate);
                    }
                    case "Softmax":
                    {
                        var x = In(node);
                        long axis = Int(node, "axis", onnx.Opset >= 13 ? -1 : 1);
                        int rank = x.Flat ? 2 : x.Sequence ? 3 : 4;
                        if (!(x.Flat && (axis == 1 || axis == -1) || !x.Flat && onnx.Opset >= 13 && (axis == 1 || axis == 1 - rank)))
                            return Unsupported(node, $"it takes the softmax along axis {axis} of a rank-{rank} value; ConvGen's Softmax is over the channels (axis 1)");
                        return Elementwise(node, LayerKind.Softmax, 0);
                    }
                    default:
                    {
                        var activation = ActivationOf(node, out float alpha);
                        if (activation is null)
                            return Unsupported(node, node.OpType == "Clip" ? "ConvGen has Clip(0, 6) (ReLU6) and Clip(0) (ReLU) only"
                                : "ConvGen compiles Conv (1-D and 2-D), ConvTranspose, BatchNormalization, Relu, Clip(0, 6), LeakyRelu, Elu, Sigmoid, Tanh, Softmax, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Flatten, Reshape, Transpose (channels last and back), Pad (zeros), Gemm, MatMul (+ Add of a bias), Add, Concat, Constant, Identity and Dropout");
                        var kind = activation switch
                        {
                            Activation.ReLU => LayerKind.ReLU, Activation.ReLU6 => LayerKind.ReLU6, Activation.Sigmoid => LayerKind.Sigmoid,
                            Activation.Tanh => LayerKind.Tanh, Activation.LeakyReLU => LayerKind.LeakyReLU, _ => LayerKind.ELU,
                        };
                        return Elementwise(node, kind, alpha);
                    }
                }
            }

            private bool Elementwise(OnnxNode node, LayerKind kind, float scalar)
            {
                var x = In(node);
                if (x.Flattened is not null) return Unsupported(node, "it reads a Flatten of an image, whose order ONNX (C, H, W) and ConvGen (H, W, C) do not share; ConvGen reads such a value with Gemm or MatMul only");
                Add(new Pending { Kind = kind, Inputs = [x.Layer], InH = x.H, InW = x.W, InC = x.C, OutH = x.H, OutW = x.W, OutC = x.C, Scalar = scalar }, node.Outputs[0], x);
                return true;
            }

            /// <summary>Pads as ConvGen says them: Valid (all 0), Same (TF's, with the extra at the end), or explicit (a ZeroPadding2D first).</summary>
            private static (Padding Padding, PadSpec? Explicit) PaddingOf(long[] pads, int h, int w, int kh, int kw, int sh, int sw, int dh, int dw)
            {
                if (pads.All(p => p == 0)) return (Padding.Valid, null);
                var (top, bottom) = Geometry.Padding(h, kh, sh, dh, same: true);
                var (left, right) = Geometry.Padding(w, kw, sw, dw, same: true);
                if (pads[0] == top && pads[1] == left && pads[2] == bottom && pads[3] == right) return (Padding.Same, null);
                return (Padding.Valid, new PadSpec((int)pads[0], (int)pads[2], (int)pads[1], (int)pads[3]));
            }

            private long[]? Pads(OnnxNode node, int h, int w, int kh, int kw, int sh, int sw, int dh, int dw, out string? problem)
            {
                problem = null;
                string autoPad = node.Attributes.TryGetValue("auto_pad", out var a) ? a.S : "NOTSET";
                switch (autoPad)
                {
                    case "NOTSET":
                        var pads = Ints(node, "pads") ?? new long[4];
                        if (pads.Length != 4 || pads.Any(p => p < 0 || p > 1 << 16)) { problem = $"its pads are [{string.Join(", ", pads)}]; ConvGen reads four pads of at least 0"; return null; }
                        return pads;
                    case "VALID": return new long[4];
                    case "SAME_UPPER":
                        var (top, bottom) = Geometry.Padding(h, kh, sh, dh, same: true);
                        var (left, right) = Geometry.Padding(w, kw, sw, dw, same: true);
                        return [top, left, bottom, right];
                    default: problem = $"its auto_pad is {autoPad}; ConvGen reads NOTSET (explicit pads), VALID and SAME_UPPER"; return null;
                }
            }

            private bool Conv(OnnxNode node)
            {
                var x = In(node);
                if (x.Flat) return Unsupported(node, "its input is not an image [N, C, H, W] or a sequence [N, C, steps]");
                if (x.Sequence) return Conv1D(node, x);
                if (!Weights(node, "[F, C/group, KH, KW]", out var weight, out var bias)) return false;
                int f = (int)weight.Dims[0], cg = (int)weight.Dims[1], kh = (int)weight.Dims[2], kw = (int)weight.Dims[3];
                long group = Int(node, "group", 1);
                var strides = Ints(node, "strides") ?? [1, 1];
                var dilations = Ints(node, "dilations") ?? [1, 1];
                var kernelShape = Ints(node, "kernel_shape");
                if (strides.Length != 2 || dilations.Length != 2 || strides.Any(s => s < 1 || s > 1 << 16) || dilations.Any(d => d < 1 || d > 1 << 16))
                    return Unsupported(node, $"its strides [{string.Join(", ", strides)}] and dilations [{string.Join(", ", dilations)}] are not two sizes of at least 1");
                if (kernelShape is not null && (kernelShape.Length != 2 || kernelShape[0] != kh || kernelShape[1] != kw))
                    return Unsupported(node, $"its kernel_shape [{string.Join(", ", kernelShape)}] is not its weights' {kh}x{kw}");
                if (group < 1 || x.C % group != 0 || f % group != 0 || cg * group != x.C)
                    return Unsupported(node, $"its weights [{string.Join(", ", weight.Dims)}] with group {group} do not read the input's {x.C} channels");
                if (bias is not null && bias.Floats!.Length != f) return Unsupported(node, $"its bias has {bias.Floats.Length} values for {f} filters");
                int sh = (int)strides[0], sw = (int)strides[1], dh = (int)dilations[0], dw = (int)dilations[1];
                var pads = Pads(node, x.H, x.W, kh, kw, sh, sw, dh, dw, out string? problem);
                if (pads is null) return Unsupported(node, problem!);
                var (padding, explicitPads) = PaddingOf(pads, x.H, x.W, kh, kw, sh, sw, dh, dw);
                if (explicitPads is not null) x = ZeroPad(x, explicitPads);
                int oh = Geometry.OutputSize(x.H, kh, sh, dh, padding == Padding.Same), ow = Geometry.OutputSize(x.W, kw, sw, dw, padding == Padding.Same);
                if (oh < 1 || ow < 1) return Unsupported(node, $"its {kh}x{kw} window (dilation {dh}x{dw}) does not fit its {x.H}x{x.W} input");
                bool depthwise = group == x.C && group > 1 && cg == 1;
                var (activation, output) = FuseActivation(node.Outputs[0]);
                var conv = new ConvSpec(kh, kw, x.C, depthwise ? f / x.C : f, sh, sw, dh, dw, padding, bias is not null, activation,
                    Depthwise: depthwise, Groups: depthwise ? 1 : (int)group);
                var layer = new Pending
                {
                    Kind = depthwise ? LayerKind.DepthwiseConv2D : LayerKind.Conv2D, Inputs = [x.Layer], InH = x.H, InW = x.W, InC = x.C,
                    OutH = oh, OutW = ow, OutC = f, Conv = conv, UseBias = bias is not null, Activation = activation,
                };
                // OIHW [F, C/G, KH, KW] to HWIO [KH, KW, C/G, F]; a depthwise [C·M, 1, KH, KW] is [KH, KW, C, M] read the same way.
                layer.Weights.AddRange(ChannelsLastKernel(weight.Floats!, f, cg, kh, kw));
                if (bias is not null) layer.Weights.AddRange(bias.Floats!);
                Add(layer, output, new Value(0, oh, ow, f));
                return true;
            }

            /// <summary>A Pad of zeros on the height and width: a ZeroPadding2D (none when every pad is 0).</summary>
            private bool Pad(OnnxNode node)
            {
                var x = In(node);
                if (x.Flat || x.Sequence) return Unsupported(node, "its input is not an image (ConvGen pads images)");
                string mode = node.Attributes.TryGetValue("mode", out var m) ? m.S : "constant";
                if (mode != "constant") return Unsupported(node, $"its mode is {mode}; ConvGen pads with zeros (constant) only");
                long[]? pads;
                float fill;
                if (onnx.Opset < 11)
                {
                    pads = Ints(node, "pads");
                    fill = Float(node, "value", 0f);
                }
                else
                {
                    pads = Constant(node, 1)?.Int64s;
                    fill = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? Constant(node, 2) is { Floats: { Length: 1 } v } ? v[0] : float.NaN : 0f;
                    if (node.Inputs.Count > 3 && node.Inputs[3].Length > 0)
                    {
                        var axes = Constant(node, 3)?.Int64s;
                        if (pads is null || axes is null || axes.Length * 2 != pads.Length) return Unsupported(node, "its pads and axes are not int64 initializers of matching length");
                        var full = new long[8];
                        for (int a = 0; a < axes.Length; a++)
                        {
                            long axis = axes[a] < 0 ? axes[a] + 4 : axes[a];
                            if (axis is < 0 or > 3) return Unsupported(node, $"it pads axis {axes[a]} of a 4-D value");
                            full[axis] = pads[a];
                            full[axis + 4] = pads[axes.Length + a];
                        }
                        pads = full;
                    }
                }
                if (fill != 0f) return Unsupported(node, "it pads with a value other than 0");
                if (pads is not { Length: 8 } || pads.Any(p => p < 0 || p > 1 << 16)) return Unsupported(node, "its pads are not eight sizes of at least 0 (negative pads crop, which ConvGen does not)");
                if (pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0) return Unsupported(node, "it pads the batch or the channels; ConvGen pads the height and width");
                if (pads.All(p => p == 0))
                {
                    _values[node.Outputs[0]] = x;
                    return true;
                }
                var padded = ZeroPad(x, new PadSpec((int)pads[2], (int)pads[6], (int)pads[3], (int)pads[7]));
                _values[node.Outputs[0]] = padded;
                return true;
            }

            /// <summary>
            /// A ConvTranspose whose pads and output_padding give Keras' output for 'same' or 'valid' (as ConvGen's export writes
            /// them): ConvGen's Conv2DTranspose. Other pads crop the output elsewhere, which ConvGen cannot say (it has no
            /// Cropping2D).
            /// </summary>
            private bool ConvTranspose(OnnxNode node)
            {
                var x = In(node);
                if (x.Flat || x.Sequence) return Unsupported(node, "its input is not an image [N, C, H, W]");
                if (!Weights(node, "[C, F, KH, KW]", out var weight, out var bias)) return false;
                int c = (int)weight.Dims[0], f = (int)weight.Dims[1], kh = (int)weight.Dims[2], kw = (int)weight.Dims[3];
                if (Int(node, "group", 1) != 1) return Unsupported(node, "it is grouped; ConvGen's Conv2DTranspose is not");
                if (c != x.C) return Unsupported(node, $"its weights read {c} channels but its input has {x.C}");
                if (bias is not null && bias.Floats!.Length != f) return Unsupported(node, $"its bias has {bias.Floats.Length} values for {f} filters");
                if (node.Attributes.ContainsKey("output_shape")) return Unsupported(node, "it gives output_shape; ConvGen reads pads and output_padding");
                if (node.Attributes.TryGetValue("auto_pad", out var autoPad) && autoPad.S is not ("NOTSET" or "")) return Unsupported(node, $"its auto_pad is {autoPad.S}; ConvGen reads explicit pads");
                var strides = Ints(node, "strides") ?? [1, 1];
                var dilations = Ints(node, "dilations") ?? [1, 1];
                var pads = Ints(node, "pads") ?? new long[4];
                var extra = Ints(node, "output_padding") ?? new long[2];
                if (strides.Length != 2 || dilations.Length != 2 || pads.Length != 4 || extra.Length != 2 || strides.Any(s => s < 1 || s > 1 << 16) || dilations.Any(d => d < 1 || d > 1 << 16))
                    return Unsupported(node, "its strides, dilations, pads or output_padding are not as many sizes as its axes");
                int sh = (int)strides[0], sw = (int)strides[1], dh = (int)dilations[0], dw = (int)dilations[1];
                if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) return Unsupported(node, "it has both a stride and a dilation above 1, which Keras' (and ConvGen's) Conv2DTranspose refuses");
                // What ConvGen's export writes for each padding: (before, after, output_padding) per axis.
                (long, long, long) Expected(int size, int k, int s, int d, bool same)
                {
                    long before = Geometry.TransposedPaddingBefore(k, s, d, same);
                    long output = Geometry.TransposedOutputSize(size, k, s, d, same);
                    long after = (long)(size - 1) * s + Geometry.Extent(k, d) - before - output;
                    return after >= 0 ? (before, after, 0) : (before, 0, -after);
                }
                Padding? padding = null;
                foreach (bool same in new[] { false, true })
                    if (Expected(x.H, kh, sh, dh, same) == (pads[0], pads[2], extra[0]) && Expected(x.W, kw, sw, dw, same) == (pads[1], pads[3], extra[1]))
                        padding = same ? Padding.Same : Padding.Valid;
                PadSpec? crop = null;
                if (padding is null)
                {
                    // Other pads (PyTorch's padding and output_padding) crop Keras' 'valid' output: ONNX's position j is 'valid''s j + begin.
                    (long Before, long After) Crop(int size, int k, int s, int d, long begin, long end, long extraEnd)
                    {
                        long valid = Geometry.TransposedOutputSize(size, k, s, d, same: false);
                        long output = (long)s * (size - 1) + extraEnd + Geometry.Extent(k, d) - begin - end;
                        return (begin, valid - begin - output);
                    }
                    var (top, bottom) = Crop(x.H, kh, sh, dh, pads[0], pads[2], extra[0]);
                    var (left, right) = Crop(x.W, kw, sw, dw, pads[1], pads[3], extra[1]);
                    if (pads.Any(p => p < 0 || p >= 1 << 16) || extra.Any(e => e < 0 || e >= 1 << 16) || bottom < 0 || right < 0
                        || Geometry.TransposedOutputSize(x.H, kh, sh, dh, false) - top - bottom < 1 || Geometry.TransposedOutputSize(x.W, kw, sw, dw, false) - left - right < 1)
                        return Unsupported(node, $"its pads [{string.Join(", ", pads)}] and output_padding [{string.Join(", ", extra)}] ask for more than Keras' 'valid' output holds");
                    padding = Padding.Valid;
                    crop = new PadSpec((int)top, (int)bottom, (int)left, (int)right);
                }
                int oh = (int)Geometry.TransposedOutputSize(x.H, kh, sh, dh, padding == Padding.Same), ow = (int)Geometry.TransposedOutputSize(x.W, kw, sw, dw, padding == Padding.Same);
                if ((long)oh * ow * f > MaxNetworkSize) return Unsupported(node, $"its output of {oh}x{ow}x{f} is larger than ConvGen compiles");
                var (activation, output) = FuseActivation(node.Outputs[0]);
                var layer = new Pending
                {
                    Kind = LayerKind.Conv2DTranspose, Inputs = [x.Layer], InH = x.H, InW = x.W, InC = x.C, OutH = oh, OutW = ow, OutC = f,
                    Conv = new ConvSpec(kh, kw, x.C, f, sh, sw, dh, dw, padding.Value, bias is not null, activation, Transposed: true),
                    UseBias = bias is not null, Activation = activation,
                };
                // ONNX's [C, F, KH, KW] to Keras' [KH, KW, F, C].
                layer.Weights.AddRange(ChannelsLastKernel(weight.Floats!, c, f, kh, kw));
                if (bias is not null) layer.Weights.AddRange(bias.Floats!);
                if (crop is null)
                {
                    Add(layer, output, new Value(0, oh, ow, f));
                    return true;
                }
                _layers.Add(layer);
                int ch = oh - crop.Top - crop.Bottom, cw = ow - crop.Left - crop.Right;
                Add(new Pending { Kind = LayerKind.Cropping2D, Inputs = [_layers.Count - 1], InH = oh, InW = ow, InC = f, OutH = ch, OutW = cw, OutC = f, Pad = crop },
                    output, new Value(0, ch, cw, f));
                return true;
            }

            /// <summary>A 1-D Conv (weights [F, C/G, K]): Conv1D, with pads Valid, TF's 'same', or causal (all (K-1)·d before).</summary>
            private bool Conv1D(OnnxNode node, Value x)
            {
                if (!Weights(node, "[F, C/group, K]", out var weight, out var bias)) return false;
                int f = (int)weight.Dims[0], cg = (int)weight.Dims[1], k = (int)weight.Dims[2];
                long group = Int(node, "group", 1);
                if (group != 1 || cg != x.C) return Unsupported(node, $"its weights [{string.Join(", ", weight.Dims)}] with group {group} are not an ungrouped convolution of the input's {x.C} channels");
                if (bias is not null && bias.Floats!.Length != f) return Unsupported(node, $"its bias has {bias.Floats.Length} values for {f} filters");
                var strides = Ints(node, "strides") ?? [1];
                var dilations = Ints(node, "dilations") ?? [1];
                var pads = Ints(node, "pads") ?? [0, 0];
                if (node.Attributes.TryGetValue("auto_pad", out var autoPad) && autoPad.S is not ("NOTSET" or "")) return Unsupported(node, $"its auto_pad is {autoPad.S}; ConvGen reads explicit pads on 1-D convolutions");
                if (strides.Length != 1 || dilations.Length != 1 || pads.Length != 2 || strides[0] is < 1 or > 1 << 16 || dilations[0] is < 1 or > 1 << 16)
                    return Unsupported(node, "its strides, dilations or pads are not one axis' worth");
                int s = (int)strides[0], d = (int)dilations[0];
                long extent = Geometry.Extent(k, d);
                var (before, after) = Geometry.Padding(x.W, k, s, d, same: true);
                Padding padding;
                if (pads[0] == 0 && pads[1] == 0) padding = Padding.Valid;
                else if (pads[0] == before && pads[1] == after) padding = Padding.Same;
                else if (pads[0] == extent - 1 && pads[1] == 0 && s == 1) padding = Padding.Causal;
                else return Unsupported(node, $"its pads [{string.Join(", ", pads)}] are neither 0, TF's 'same' [{before}, {after}] nor causal [{extent - 1}, 0]");
                int ow = Geometry.OutputSize(x.W + (padding == Padding.Causal ? (int)extent - 1 : 0), k, s, d, padding == Padding.Same);
                if (ow < 1) return Unsupported(node, $"its window of {extent} steps does not fit its {x.W} steps");
                var (activation, output) = FuseActivation(node.Outputs[0]);
                // A causal convolution's layer pads the sequence and runs Valid kernels.
                var conv = new ConvSpec(1, k, x.C, f, 1, s, 1, d, padding == Padding.Causal ? Padding.Valid : padding, bias is not null, activation, Sequence: true, Causal: padding == Padding.Causal);
                var layer = new Pending { Kind = LayerKind.Conv1D, Inputs = [x.Layer], InH = x.H, InW = x.W, InC = x.C, OutH = Shapes.Sequence, OutW = ow, OutC = f, Conv = conv, UseBias = bias is not null, Activation = activation };
                // [F, C, K] to Keras' [K, C, F]: the 2-D case with one row.
                layer.Weights.AddRange(ChannelsLastKernel(weight.Floats!, f, cg, 1, k));
                if (bias is not null) layer.Weights.AddRange(bias.Floats!);
                Add(layer, output, new Value(0, Shapes.Sequence, ow, f));
                return true;
            }

            /// <summary>A Slice of an image's height and width with step 1: a Cropping2D.</summary>
            private bool Slice(OnnxNode node)
            {
                var x = In(node);
                if (x.Flat || x.Sequence) return Unsupported(node, "its input is not an image; ConvGen crops images");
                long[]? starts, ends, axes, steps;
                if (onnx.Opset < 10) (starts, ends, axes, steps) = (Ints(node, "starts"), Ints(node, "ends"), Ints(node, "axes"), null);
                else
                {
                    starts = Constant(node, 1)?.Int64s;
                    ends = Constant(node, 2)?.Int64s;
                    axes = node.Inputs.Count > 3 && node.Inputs[3].Length > 0 ? Constant(node, 3)?.Int64s : null;
                    steps = node.Inputs.Count > 4 && node.Inputs[4].Length > 0 ? Constant(node, 4)?.Int64s : null;
                    if (node.Inputs.Count > 3 && node.Inputs[3].Length > 0 && axes is null || node.Inputs.Count > 4 && node.Inputs[4].Length > 0 && steps is null)
                        return Unsupported(node, "its axes or steps are not int64 initializers");
                }
                if (starts is null || ends is null || starts.Length != ends.Length || axes is not null && axes.Length != starts.Length || steps is not null && steps.Any(s => s != 1))
                    return Unsupported(node, "its starts, ends, axes and steps are not int64 initializers of one length with steps of 1");
                axes ??= [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
                long top = 0, bottom = 0, left = 0, right = 0;
                for (int i = 0; i < axes.Length; i++)
                {
                    long axis = axes[i] < 0 ? axes[i] + 4 : axes[i];
                    if (axis is not (2 or 3)) return Unsupported(node, $"it slices axis {axes[i]}; ConvGen crops the height and width (axes 2 and 3)");
                    long size = axis == 2 ? x.H : x.W;
                    long start = starts[i] < 0 ? starts[i] + size : starts[i], end = ends[i] < 0 ? ends[i] + size : Math.Min(ends[i], size);
                    if (start < 0 || end > size || start >= end) return Unsupported(node, $"it slices [{starts[i]}, {ends[i]}) of an axis of {size}");
                    if (axis == 2) (top, bottom) = (start, size - end); else (left, right) = (start, size - end);
                }
                var crop = new PadSpec((int)top, (int)bottom, (int)left, (int)right);
                int h = x.H - crop.Top - crop.Bottom, w = x.W - crop.Left - crop.Right;
                Add(new Pending { Kind = LayerKind.Cropping2D, Inputs = [x.Layer], InH = x.H, InW = x.W, InC = x.C, OutH = h, OutW = w, OutC = x.C, Pad = crop },
                    node.Outputs[0], new Value(0, h, w, x.C));
                return true;
            }

            /// <summary>
            /// A convolution's weights (input 1, a float initializer of as many axes as <paramref name="layout"/> names, none empty,
            /// at most <see cref="MaxWeights"/> values) and its optional bias (input 2), or false after the diagnostic.
            /// </summary>
            private bool Weights(OnnxNode node, string layout, out OnnxTensor weight, out OnnxTensor? bias)
            {
                weight = Constant(node, 1)!;
                bias = Constant(node, 2);
                int rank = layout.Count(ch => ch == ',') + 1;
                if (weight is not { Floats: not null } || weight.Dims.Length != rank) return Unsupported(node, $"its weights are not a float initializer {layout}");
                if (node.Inputs.Count > 2 && node.Inputs[2].Length > 0 && bias is not { Floats: not null }) return Unsupported(node, "its bias is not a float initializer");
                if (weight.Dims.Any(d => d < 1) || weight.Count > MaxWeights) return Unsupported(node, $"its weights [{string.Join(", ", weight.Dims)}] are empty or larger than the {MaxWeights} ConvGen compiles");
                return true;
            }

            /// <summary>ONNX's channels-first kernel <c>[A, B, KH, KW]</c> as Keras' <c>[KH, KW, B, A]</c> (Conv's OIHW to HWIO, ConvTranspose's [C, F, ...] to [..., F, C]).</summary>
            private static float[] ChannelsLastKernel(float[] w, int a, int b, int kh, int kw)
            {
                var result = new float[w.Length];
                for (int i = 0; i < a; i++)
                    for (int j = 0; j < b; j++)
                        for (int y = 0; y < kh; y++)
                            for (int x = 0; x < kw; x++)
                                result[((y * kw + x) * b + j) * a + i] = w[((i * b + j) * kh + y) * kw + x];
                return result;
            }

            private Value ZeroPad(Value x, PadSpec pad)
            {
                var layer = new Pending { Kind = LayerKind.ZeroPadding2D, Inputs = [x.Layer], InH = x.H, InW = x.W, InC = x.C, OutH = x.H + pad.Top + pad.Bottom, OutW = x.W + pad.Left + pad.Right, OutC = x.C, Pad = pad };
                _layers.Add(layer);
                return new Value(_layers.Count - 1, layer.OutH, layer.OutW, x.C);
            }

            private bool BatchNorm(OnnxNode node)
            {
                var x = In(node);
                if (x.Flattened is not null) return Unsupported(node, "it reads a Flatten of an image, whose order ONNX and ConvGen do not share");
                var parts = Enumerable.Range(1, 4).Select(i => Constant(node, i)).ToArray();
                if (parts.Any(p => p is not { Floats: not null } || p.Floats.Length != x.C))
                    return Unsupported(node, $"its scale, bias, mean and variance are not float initializers of {x.C} values");
                if (node.Outputs.Count > 1 && node.Outputs.Skip(1).Any(o => o.Length > 0 && _readers.ContainsKey(o)))
                    return Unsupported(node, "its training outputs (running mean and variance) are read; ConvGen imports the inference form");
                float epsilon = Float(node, "epsilon", 1e-5f), momentum = Float(node, "momentum", 0.9f);
                var layer = new Pending { Kind = LayerKind.BatchNormalization, Inputs = [x.Layer], InH = x.H, InW = x.W, InC = x.C, OutH = x.H, OutW = x.W, OutC = x.C, Norm = new NormSpec(momentum, epsilon, true, true) };
                foreach (var p in parts) layer.Weights.AddRange(p!.Floats!); // gamma, beta, moving mean, moving variance: ConvGen's order too
                Add(layer, node.Outputs[0], x);
                return true;
            }

            private bool Pool(OnnxNode node)
            {
                var x = In(node);
                bool max = node.OpType == "MaxPool";
                if (x.Flat) return Unsupported(node, "its input is not an image [N, C, H, W] or a sequence [N, C, steps]");
                if (x.Sequence) return Pool1D(node, x, max);
                var kernel = Ints(node, "kernel_shape");
                var strides = Ints(node, "strides") ?? [1, 1];
                if (kernel is not { Length: 2 } || kernel.Any(k => k < 1 || k > 1 << 16) || strides.Length != 2 || strides.Any(s => s < 1 || s > 1 << 16))
                    return Unsupported(node, "its kernel_shape and strides are not two sizes of at least 1");
                if (Int(node, "ceil_mode", 0) != 0) return Unsupported(node, "its ceil_mode is 1; ConvGen's pools round down, as TF's");
                if ((Ints(node, "dilations") ?? [1, 1]).Any(d => d != 1)) return Unsupported(node, "it is dilated");
                if (node.Outputs.Count > 1 && node.Outputs[1].Length > 0) return Unsupported(node, "it returns indices");
                int kh = (int)kernel[0], kw = (int)kernel[1], sh = (int)strides[0], sw = (int)strides[1];
                var pads = Pads(node, x.H, x.W, kh, kw, sh, sw, 1, 1, out string? problem);
                if (pads is null) return Unsupported(node, problem!);
                var (padding, explicitPads) = PaddingOf(pads, x.H, x.W, kh, kw, sh, sw, 1, 1);
                if (explicitPads is not null)
                {
                    // A max pool pads with -inf and an average without count_include_pad ignores the padding: only TF's 'same' says that.
                    if (max || Int(node, "count_include_pad", 0) == 0)
                        return Unsupported(node, $"its pads [{string.Join(", ", pads)}] are neither 0 nor TF's 'same' for this input, and ConvGen's pools pad only so");
                    x = ZeroPad(x, explicitPads);
                }
                else if (padding == Padding.Same && !max && Int(node, "count_include_pad", 0) != 0)
                    return Unsupported(node, "it counts padding in its averages (count_include_pad 1) with 'same' pads; ConvGen's average ignores them, as TF's");
                int oh = Geometry.OutputSize(x.H, kh, sh, 1, padding == Padding.Same), ow = Geometry.OutputSize(x.W, kw, sw, 1, padding == Padding.Same);
                if (oh < 1 || ow < 1) return Unsupported(node, $"its {kh}x{kw} window does not fit its {x.H}x{x.W} input");
                Add(new Pending { Kind = max ? LayerKind.MaxPool2D : LayerKind.AveragePooling2D, Inputs = [x.Layer], InH = x.H, InW = x.W, InC = x.C, OutH = oh, OutW = ow, OutC = x.C, Pool = new PoolSpec(kh, kw, sh, sw, padding) },
                    node.Outputs[0], new Value(0, oh, ow, x.C));
                return true;
            }

            /// <summary>A 1-D MaxPool or AveragePool: pads 0 or TF's 'same' (an average ignoring them, as TF's).</summary>
            private bool Pool1D(OnnxNode node, Value x, bool max)
            {
                var kernel = Ints(node, "kernel_shape");
                var strides = Ints(node, "strides") ?? [1];
                var pads = Ints(node, "pads") ?? [0, 0];
                if (kernel is not { Length: 1 } || kernel[0] is < 1 or > 1 << 16 || strides.Length != 1 || strides[0] is < 1 or > 1 << 16 || pads.Length != 2)
                    return Unsupported(node, "its kernel_shape, strides and pads are not one axis' worth");
                if (Int(node, "ceil_mode", 0) != 0 || (Ints(node, "dilations") ?? [1]).Any(d => d != 1) || node.Attributes.ContainsKey("auto_pad") && node.Attributes["auto_pad"].S is not ("NOTSET" or ""))
                    return Unsupported(node, "it has ceil_mode, dilations or auto_pad, which ConvGen's 1-D pools do not");
                int k = (int)kernel[0], s = (int)strides[0];
                var (before, after) = Geometry.Padding(x.W, k, s, 1, same: true);
                Padding padding;
                if (pads[0] == 0 && pads[1] == 0) padding = Padding.Valid;
                else if (pads[0] == before && pads[1] == after && (max || Int(node, "count_include_pad", 0) == 0)) padding = Padding.Same;
                else return Unsupported(node, $"its pads [{string.Join(", ", pads)}] are neither 0 nor TF's 'same' [{before}, {after}] (without count_include_pad)");
                int ow = Geometry.OutputSize(x.W, k, s, 1, padding == Padding.Same);
                if (ow < 1) return Unsupported(node, $"its window of {k} does not fit its {x.W} steps");
                Add(new Pending { Kind = max ? LayerKind.MaxPool1D : LayerKind.AveragePooling1D, Inputs = [x.Layer], InH = x.H, InW = x.W, InC = x.C, OutH = Shapes.Sequence, OutW = ow, OutC = x.C, Pool = new PoolSpec(1, k, 1, s, padding) },
                    node.Outputs[0], new Value(0, Shapes.Sequence, ow, x.C));
                return true;
            }

            private bool Flatten(OnnxNode node)
            {
                var x = In(node);
                if (!_values.ContainsKey(node.Inputs[0])) return Unsupported(node, "it reshapes an initializer");
                if (node.OpType == "Flatten" && Int(node, "axis", 1) != 1) return Unsupported(node, "it flattens from an axis other than 1");
                if (node.OpType == "Reshape")
                {
                    var shape = Constant(node, 1)?.Int64s;
                    if (shape is null || shape.Length is < 2 or > 4) return Unsupported(node, "its shape is not an int64 initializer of 2 to 4 sizes");
                    bool flattens = shape.Length == 2 && (shape[0] == 0 || shape[0] == -1 || shape[0] >= 1) && (shape[1] == -1 || shape[1] == x.Size) && !(shape[0] == -1 && shape[1] == -1);
                    if (!flattens)
                    {
                        // Any other reshape is ConvGen's own, of channels-last values: the values must be held so in ONNX.
                        if (!x.Last && !x.Flat) return Unsupported(node, "it reshapes a channels-first value other than to [N, -1]; ConvGen reshapes channels-last values (a Transpose to channels last first)");
                        return Reshape(node, x, shape);
                    }
                }
                if (x.Flat)
                {
                    _values[node.Outputs[0]] = x with { Last = false }; // already [N, C] (or [N, C, 1, 1] after a global pool)
                    return true;
                }
                Add(new Pending { Kind = LayerKind.Flatten, Inputs = [x.Layer], InH = x.H, InW = x.W, InC = x.C, OutC = (int)x.Size },
                    node.Outputs[0], new Value(0, 0, 0, (int)x.Size, Flattened: x.Last ? null : (x.Sequence ? 1 : x.H, x.W, x.C)));
                return true;
            }

            /// <summary>A reshape of channels-last values to [N, ...] (one size may be -1, a 0 keeps the batch): ConvGen's Reshape.</summary>
            private bool Reshape(OnnxNode node, Value x, long[] shape)
            {
                if (shape[0] is not (0 or -1 or >= 1)) return Unsupported(node, $"its batch size is {shape[0]}");
                var sizes = shape.Skip(1).ToArray();
                if (shape[0] == -1 && sizes.Any(s => s == -1)) return Unsupported(node, "it has two sizes of -1");
                if (sizes.Any(s => s is < -1 or 0 or > int.MaxValue) || sizes.Count(s => s == -1) > 1) return Unsupported(node, $"its sizes [{string.Join(", ", sizes)}] are not positive (with at most one -1)");
                long known = sizes.Where(s => s > 0).Aggregate(1L, (a, b) => a * b);
                if (sizes.Contains(-1))
                {
                    if (x.Size % known != 0) return Unsupported(node, $"its sizes do not divide the input's {x.Size} values");
                    sizes = sizes.Select(s => s == -1 ? x.Size / known : s).ToArray();
                }
                if (sizes.Aggregate(1L, (a, b) => a * b) != x.Size) return Unsupported(node, $"its sizes [{string.Join(", ", sizes)}] do not hold the input's {x.Size} values");
                var (h, w, c) = sizes.Length switch { 1 => (0, 0, (int)sizes[0]), 2 => (Shapes.Sequence, (int)sizes[0], (int)sizes[1]), _ => ((int)sizes[0], (int)sizes[1], (int)sizes[2]) };
                Add(new Pending { Kind = LayerKind.Reshape, Inputs = [x.Layer], InH = x.H, InW = x.W, InC = x.C, OutH = h, OutW = w, OutC = c },
                    node.Outputs[0], new Value(0, h, w, c, Last: sizes.Length > 1));
                return true;
            }

            /// <summary>A Transpose that only moves the channels last or back: the same ConvGen value, held the other way in ONNX.</summary>
            private bool Transpose(OnnxNode node)
            {
                var x = In(node);
                var perm = Ints(node, "perm");
                int rank = x.Flat ? 2 : x.Sequence ? 3 : 4;
                long[] toLast = [0, .. Enumerable.Range(2, rank - 2).Select(i => (long)i), 1], toFirst = [0, rank - 1, .. Enumerable.Range(1, rank - 2).Select(i => (long)i)];
                if (perm is not null && !x.Flat && !x.Last && perm.SequenceEqual(toLast)) _values[node.Outputs[0]] = x with { Last = true };
                else if (perm is not null && !x.Flat && x.Last && perm.SequenceEqual(toFirst)) _values[node.Outputs[0]] = x with { Last = false };
                else return Unsupported(node, $"its perm [{string.Join(", ", perm ?? [])}] does more than move the channels of a {(x.Flat ? "flat" : x.Sequence ? "sequence" : "image")} value last or back, the only transposes ConvGen imports");
                return true;
            }

            private bool Dense(OnnxNode node)
            {
                var x = In(node);
                if (!x.Flat) return Unsupported(node, "its input is not [N, features]; flatten the image first");
                var b = Constant(node, 1);
                if (b is not { Floats: not null, Dims.Length: 2 } || b.Dims.Any(d => d < 1)) return Unsupported(node, "its second input is not a float initializer matrix");
                bool gemm = node.OpType == "Gemm";
                if (gemm && Int(node, "transA", 0) != 0) return Unsupported(node, "it transposes its input (transA)");
                bool transB = gemm && Int(node, "transB", 0) != 0;
                float alpha = gemm ? Float(node, "alpha", 1f) : 1f, beta = gemm ? Float(node, "beta", 1f) : 1f;
                int inputs = (int)(transB ? b.Dims[1] : b.Dims[0]), units = (int)(transB ? b.Dims[0] : b.Dims[1]);
                if (inputs != x.C) return Unsupported(node, $"its weights take {inputs} features but its input has {x.C}");
                float[]? bias = null;
                string output = node.Outputs[0];
                if (gemm && node.Inputs.Count > 2 && node.Inputs[2].Length > 0)
                {
                    var c = Constant(node, 2);
                    if (c is not { Floats: not null } || !(c.Floats.Length == units || c.Floats.Length == 1))
                        return Unsupported(node, "its C is not a float initializer of one value or one per unit");
                    bias = c.Floats.Length == units ? c.Floats.Select(v => beta * v).ToArray() : Enumerable.Repeat(beta * c.Floats[0], units).ToArray();
                }
                else if (!gemm && OnlyReader(output) is { OpType: "Add" } add && add.Inputs.Count == 2)
                {
                    // MatMul then Add of a bias: one Dense.
                    int other = add.Inputs[0] == output ? 1 : 0;
                    if (Constant(add, other) is { Floats: not null } c && c.Floats.Length == units && c.Dims.All(d => d == units || d == 1))
                    {
                        bias = c.Floats;
                        _consumed.Add(add);
                        output = add.Outputs[0];
                    }
                }
                var (activation, finalOutput) = FuseActivation(output);
                var layer = new Pending { Kind = LayerKind.Dense, Inputs = [x.Layer], InC = x.C, OutC = units, Units = units, UseBias = bias is not null, Activation = activation };
                // ConvGen's kernel is [In, Out]; after a Flatten of an image its row (position, channel) is ONNX's (channel, position).
                var kernel = new float[inputs * units];
                int channels = x.Flattened?.C ?? 1, positions = x.Flattened is { } s ? s.H * s.W : inputs;
                for (int q = 0; q < positions; q++)
                    for (int ch = 0; ch < channels; ch++)
                    {
                        int row = x.Flattened is null ? q : q * channels + ch, onnxRow = x.Flattened is null ? q : ch * positions + q;
                        for (int o = 0; o < units; o++)
                            kernel[row * units + o] = alpha * b.Floats[transB ? o * inputs + onnxRow : onnxRow * units + o];
                    }
                layer.Weights.AddRange(kernel);
                if (bias is not null) layer.Weights.AddRange(bias);
                Add(layer, finalOutput, new Value(0, 0, 0, units));
                return true;
            }

            private bool Merge(OnnxNode node, LayerKind kind)
            {
                if (node.Inputs.Count < 2) return Unsupported(node, "it has fewer than two inputs");
                var values = new List<Value>();
                foreach (var name in node.Inputs)
                {
                    if (!_values.TryGetValue(name, out var v))
                        return Unsupported(node, $"it {(kind == LayerKind.Add ? "adds" : "concatenates")} the initializer '{name}'; ConvGen {(kind == LayerKind.Add ? "adds" : "concatenates")} layers' outputs (a bias belongs to the Conv, Gemm or MatMul before)");
                    if (v.Flattened is not null) return Unsupported(node, "it reads a Flatten of an image, whose order ONNX and ConvGen do not share");
                    values.Add(v);
                }
                var first = values[0];
                if (kind == LayerKind.Add && values.Any(v => v.H != first.H || v.W != first.W || v.C != first.C))
                    return Unsupported(node, "its inputs differ in shape (ConvGen's Add does not broadcast)");
                if (kind == LayerKind.Concatenate && values.Any(v => v.H != first.H || v.W != first.W))
                    return Unsupported(node, "its inputs differ in height or width");
                int channels = kind == LayerKind.Add ? first.C : values.Sum(v => v.C);
                var (activation, output) = kind == LayerKind.Add ? FuseActivation(node.Outputs[0]) : (Activation.None, node.Outputs[0]);
                Add(new Pending { Kind = kind, Inputs = values.Select(v => v.Layer).ToArray(), InH = first.H, InW = first.W, InC = first.C, OutH = first.H, OutW = first.W, OutC = channels, Activation = activation },
                    output, first with { C = channels });
                return true;
            }

            /// <summary>Names every layer as Keras would, resolves the inputs by name, and packs the weights.</summary>
            private NetworkModel Build(int h, int w, int c)
            {
                var names = LayerNaming.Assign(_layers.Select(l => (BaseName(l.Kind), (string?)null)).ToList(), out _)!;
                string Name(int layer) => layer < 0 ? LayerNaming.ModelInput : names[layer];
                var layers = new List<NetworkLayer>();
                for (int i = 0; i < _layers.Count; i++)
                {
                    var p = _layers[i];
                    var inputNames = p.Kind is LayerKind.Add or LayerKind.Concatenate
                        ? p.Inputs.Select(j => new NameOrPrevious(Name(j))).ToEquatableArray()
                        : new[] { new NameOrPrevious(p.Inputs[0] == i - 1 ? null : Name(p.Inputs[0])) }.ToEquatableArray();
                    layers.Add(new NetworkLayer(p.Kind, i, names[i], null, inputNames, p.Inputs.ToEquatableArray(),
                        p.InH, p.InW, p.InC, p.OutH, p.OutW, p.OutC, p.Conv, p.Pool, p.Units, p.UseBias, p.Activation, false, p.Norm, p.Scalar, Pad: p.Pad));
                }
                PlanFusion(layers);
                long values = _layers.Sum(l => (long)l.Weights.Count);
                if (values * 4 > MaxEmbeddedWeightBytes)
                {
                    Fail(null, $"its weights take {values * 4} bytes; the generated class embeds at most {MaxEmbeddedWeightBytes} (one string constant, and an assembly's string heap holds 16 MiB)");
                    return null!;
                }
                var bytes = new byte[values * 4];
                int offset = 0;
                foreach (var layer in _layers)
                    foreach (float v in layer.Weights)
                    {
                        var b = BitConverter.GetBytes(v);
                        if (!BitConverter.IsLittleEndian) Array.Reverse(b);
                        Buffer.BlockCopy(b, 0, bytes, offset, 4);
                        offset += 4;
                    }
                return new NetworkModel(target.Target!, h, w, c, layers.ToEquatableArray(), new EquatableArray<byte>(bytes), target.Path);
            }
        }
    }
}
