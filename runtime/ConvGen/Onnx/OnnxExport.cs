using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using ConvGen.Internal;

namespace ConvGen.Onnx;

/// <summary>
/// Writes a built <see cref="Model"/> as an ONNX model (the protobuf messages of <c>onnx.proto</c>): one node or a few per
/// layer, each layer writing its own (<see cref="Layer.ExportOnnx"/>) through this class, which keeps the names, the shapes,
/// the initializers and the layout.
/// </summary>
/// <remarks>
/// <para>
/// Layout: inside the graph every tensor is channels first (NCHW for images, NCW for sequences, NC for vectors), as ONNX
/// consumers expect; ConvGen's channels-last weights are permuted as they are written (HWIO to OIHW). ConvGen flattens an
/// image in (H, W, C) order and ONNX's <c>Flatten</c> in (C, H, W) order: a Flatten read only by Dense layers is written as
/// a plain <c>Flatten</c> and those layers get their kernel rows permuted to match; any other Flatten moves the channels
/// last first (<c>Transpose</c>), so its values keep ConvGen's order. With <see cref="OnnxExportOptions.ChannelsLast"/> the
/// graph's input and output keep ConvGen's layout, with a <c>Transpose</c> after the input and before the output.
/// </para>
/// <para>
/// Padding is always explicit (<c>pads</c>, never <c>auto_pad</c>): TF's 'same' puts the extra row or column at the end, and
/// <c>SAME_UPPER</c> would say the same only for some strides.
/// </para>
/// </remarks>
internal sealed class OnnxExport
{
    /// <summary>The opsets the exporter writes: every op it uses means the same from 13 to 21.</summary>
    public const int MinOpset = 13, MaxOpset = 21;

    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly HashSet<string> _used = [];
    private readonly Dictionary<string, string> _tensors = []; // a ConvGen node's name (or "input") -> its ONNX tensor
    private readonly Dictionary<string, Shape> _shapes = [];   // a ConvGen node's name (or "input") -> one sample, channels last
    private readonly Dictionary<string, Shape> _flattenedChannelsFirst = []; // flat tensors in (C, spatial...) order -> the shape flattened
    private readonly Dictionary<string, List<ModelNode>> _readers = [];
    private ModelNode _node = null!;
    private string _output = "";

    private OnnxExport(int opset) => Opset = opset;

    /// <summary>The opset being written.</summary>
    public int Opset { get; }

    /// <summary>The name of the layer being written.</summary>
    public string LayerName => _node.Name;

    /// <summary>The ONNX tensor the layer being written must produce.</summary>
    public string Output => _output;

    /// <summary>One sample of the layer's output, channels last (ConvGen's shape).</summary>
    public Shape OutputShape => _node.OutputShape;

    /// <summary>The ONNX tensor of the layer's input <paramref name="index"/>.</summary>
    public string Input(int index = 0) => _tensors[_node.Inputs[index]];

    /// <summary>The number of inputs the layer reads.</summary>
    public int InputCount => _node.Inputs.Count;

    /// <summary>One sample of the layer's input <paramref name="index"/>, channels last (ConvGen's shape).</summary>
    public Shape InputShape(int index = 0) => _shapes[_node.Inputs[index]];

    /// <summary>A name for an intermediate tensor of the layer being written, unique in the graph.</summary>
    public string Temporary(string suffix) => Unique($"{_node.Name}/{suffix}");

    /// <summary>
    /// Whether input <paramref name="index"/> is flat in channels-first order (a Flatten read only by Dense layers), and the
    /// channels-last shape it flattened.
    /// </summary>
    public bool IsFlattenedChannelsFirst(int index, out Shape flattened) => _flattenedChannelsFirst.TryGetValue(_node.Inputs[index], out flattened);

    /// <summary>Whether every layer that reads the layer being written is a <typeparamref name="T"/> (false when none does: the output is the model's).</summary>
    public bool AllReadersAre<T>() where T : Layer
        => _readers.TryGetValue(_node.Name, out var readers) && readers.Count > 0 && readers.All(r => r.Layer is T);

    /// <summary>Records that the layer's output is flat in channels-first order: the flattening of <paramref name="flattened"/>.</summary>
    public void MarkFlattenedChannelsFirst(Shape flattened) => _flattenedChannelsFirst[_node.Name] = flattened;

    /// <summary>Adds a float initializer (a weight) named after the layer and returns its name.</summary>
    public string Initializer(string suffix, ReadOnlySpan<long> dims, ReadOnlySpan<float> values)
    {
        string name = Unique($"{_node.Name}/{suffix}");
        var raw = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), values[i]);
        _initializers.Add(Tensor(name, dims, DataTypeFloat, raw));
        return name;
    }

    /// <summary>Adds a one-dimensional int64 initializer (a shape, pads) named after the layer and returns its name.</summary>
    public string Int64Initializer(string suffix, ReadOnlySpan<long> values)
    {
        string name = Unique($"{_node.Name}/{suffix}");
        var raw = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(8 * i), values[i]);
        _initializers.Add(Tensor(name, [values.Length], DataTypeInt64, raw));
        return name;
    }

    /// <summary>Adds a float scalar initializer (a constant of a composite activation) and returns its name.</summary>
    public string Scalar(string suffix, float value) => Initializer(suffix, [], [value]);

    /// <summary>Adds a node.</summary>
    public void Node(string opType, string[] inputs, string output, params ProtoWriter[] attributes)
    {
        var node = new ProtoWriter();
        foreach (var input in inputs) node.String(1, input);
        node.String(2, output);
        node.String(3, Unique($"{_node?.Name ?? "graph"}/{opType}"));
        node.String(4, opType);
        foreach (var attribute in attributes) node.Message(5, attribute);
        _nodes.Add(node);
    }

    /// <summary>An INTS attribute.</summary>
    public static ProtoWriter Ints(string name, params long[] values)
    {
        var a = new ProtoWriter().String(1, name);
        foreach (long v in values) a.Varint(8, v);
        return a.Varint(20, 7);
    }

    /// <summary>An INT attribute.</summary>
    public static ProtoWriter Int(string name, long value) => new ProtoWriter().String(1, name).Varint(3, value).Varint(20, 2);

    /// <summary>A FLOAT attribute.</summary>
    public static ProtoWriter Float(string name, float value) => new ProtoWriter().String(1, name).Float(2, value).Varint(20, 1);

    /// <summary>A STRING attribute.</summary>
    public static ProtoWriter String(string name, string value) => new ProtoWriter().String(1, name).String(4, value).Varint(20, 3);

    /// <summary>Where a layer with a fused <paramref name="activation"/> writes its linear result: the output itself without one.</summary>
    public string LinearOutput(Activation activation) => activation == Activation.None ? Output : Temporary("linear");

    /// <summary>
    /// Writes <paramref name="activation"/> from <paramref name="x"/> to <paramref name="y"/> (nothing for None when they are the
    /// same tensor). <paramref name="alpha"/> is LeakyReLU's negative slope or ELU's alpha (the fused activations' are Keras'
    /// defaults, 0.2 and 1); <paramref name="approximate"/> is GELU's tanh form. Softmax is over the channels, ONNX axis 1.
    /// </summary>
    public void Activate(Activation activation, string x, string y, float? alpha = null, bool approximate = false)
    {
        switch (activation)
        {
            case Activation.None:
                if (x != y) Node("Identity", [x], y);
                break;
            case Activation.ReLU: Node("Relu", [x], y); break;
            case Activation.ReLU6: Node("Clip", [x, Scalar("min", 0f), Scalar("max", 6f)], y); break;
            case Activation.LeakyReLU: Node("LeakyRelu", [x], y, Float("alpha", alpha ?? 0.2f)); break;
            case Activation.ELU: Node("Elu", [x], y, Float("alpha", alpha ?? 1f)); break;
            case Activation.Sigmoid: Node("Sigmoid", [x], y); break;
            case Activation.Tanh: Node("Tanh", [x], y); break;
            case Activation.Softmax: Node("Softmax", [x], y, Int("axis", 1)); break;
            case Activation.SiLU:
            {
                string s = Temporary("sigmoid");
                Node("Sigmoid", [x], s);
                Node("Mul", [x, s], y);
                break;
            }
            case Activation.GELU:
                Gelu(x, y, approximate);
                break;
            default:
                throw new NotSupportedException($"{LayerName}: activation {activation} has no ONNX form here.");
        }
    }

    /// <summary>
    /// GELU: ONNX's <c>Gelu</c> from opset 20; before, its formula, <c>x · (1 + erf(x / √2)) / 2</c>, or with
    /// <paramref name="approximate"/>, <c>x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))) / 2</c>.
    /// </summary>
    private void Gelu(string x, string y, bool approximate)
    {
        if (Opset >= 20)
        {
            Node("Gelu", [x], y, String("approximate", approximate ? "tanh" : "none"));
            return;
        }
        string inner;
        if (approximate)
        {
            string square = Temporary("square"), cube = Temporary("cube"), scaled = Temporary("scaled"), sum = Temporary("sum"), argument = Temporary("argument");
            Node("Mul", [x, x], square);
            Node("Mul", [square, x], cube);
            Node("Mul", [cube, Scalar("c", 0.044715f)], scaled);
            Node("Add", [x, scaled], sum);
            Node("Mul", [sum, Scalar("sqrt_2_over_pi", (float)Math.Sqrt(2 / Math.PI))], argument);
            Node("Tanh", [argument], inner = Temporary("tanh"));
        }
        else
        {
            string scaled = Temporary("scaled");
            Node("Mul", [x, Scalar("inv_sqrt2", (float)(1 / Math.Sqrt(2)))], scaled);
            Node("Erf", [scaled], inner = Temporary("erf"));
        }
        string plusOne = Temporary("plus_one"), half = Temporary("half_x");
        Node("Add", [inner, Scalar("one", 1f)], plusOne);
        Node("Mul", [x, Scalar("half", 0.5f)], half);
        Node("Mul", [half, plusOne], y);
    }

    /// <summary>The error for a layer or a setting with no ONNX form.</summary>
    public NotSupportedException Unsupported(string what) => new($"ONNX export: layer '{LayerName}' ({_node.Layer.TypeName}): {what}.");

    /// <summary>
    /// Writes a <c>Conv</c> or <c>ConvTranspose</c> of a channels-last kernel <paramref name="hwio"/>,
    /// <c>[KH, KW, I, O]</c>, as ONNX's <c>[O, I, KH, KW]</c> (<paramref name="spatial"/> gives its spatial axes: one for a 1-D
    /// convolution), the bias, and the fused activation. Every ConvGen convolution's kernel reads so: Conv2D's
    /// <c>[KH, KW, C/G, F]</c>, Conv1D's <c>[K, C/G, F]</c> (KH = 1), DepthwiseConv2D's <c>[KH, KW, C, M]</c> as
    /// <c>[KH, KW, 1, C·M]</c> (output channel <c>c·M + m</c>, ONNX's group = C), and Conv2DTranspose's <c>[KH, KW, F, C]</c>
    /// as ConvTranspose's <c>[C, F, KH, KW]</c>.
    /// </summary>
    public void Convolution(string opType, ReadOnlySpan<float> hwio, int kh, int kw, int inputs, int outputs, long[] spatial,
        ReadOnlySpan<float> bias, Activation activation, params ProtoWriter[] attributes)
    {
        var oihw = new float[hwio.Length];
        for (int y = 0; y < kh; y++)
            for (int x = 0; x < kw; x++)
                for (int i = 0; i < inputs; i++)
                    for (int o = 0; o < outputs; o++)
                        oihw[((o * inputs + i) * kh + y) * kw + x] = hwio[((y * kw + x) * inputs + i) * outputs + o];
        var convInputs = new List<string> { Input(), Initializer("kernel", [outputs, inputs, .. spatial], oihw) };
        if (!bias.IsEmpty) convInputs.Add(Initializer("bias", [bias.Length], bias));
        string linear = LinearOutput(activation);
        Node(opType, [.. convInputs], linear, attributes);
        Activate(activation, linear, Output);
    }

    /// <summary>
    /// A 2-D window's attributes over the layer's input: <c>kernel_shape</c>, <c>strides</c>, <c>dilations</c> (when given) and
    /// explicit <c>pads</c>, TF's 'same' (the extra row or column at the end) or none.
    /// </summary>
    public ProtoWriter[] Window(int kh, int kw, int sh, int sw, Padding padding, int dh = 1, int dw = 1, bool dilations = true)
    {
        var input = InputShape();
        bool same = padding == Padding.Same;
        var pads = Ints("pads", Pads(Geometry.Padding(input[0], kh, sh, dh, same), Geometry.Padding(input[1], kw, sw, dw, same)));
        return dilations
            ? [Ints("kernel_shape", kh, kw), Ints("strides", sh, sw), Ints("dilations", dh, dw), pads]
            : [Ints("kernel_shape", kh, kw), Ints("strides", sh, sw), pads];
    }

    // ------------------------------------------------------------------ layout helpers

    /// <summary>ONNX pads (every axis' start, then every axis' end) from per-axis (before, after) pairs.</summary>
    public static long[] Pads(params (int Before, int After)[] axes)
        => [.. axes.Select(a => (long)a.Before), .. axes.Select(a => (long)a.After)];

    /// <summary>The permutation of a channels-last tensor of <paramref name="rank"/> axes (batch included) to channels first.</summary>
    public static long[] ToChannelsFirst(int rank) => [0, rank - 1, .. Enumerable.Range(1, rank - 2).Select(i => (long)i)];

    /// <summary>The permutation of a channels-first tensor of <paramref name="rank"/> axes (batch included) to channels last.</summary>
    public static long[] ToChannelsLast(int rank) => [0, .. Enumerable.Range(2, rank - 2).Select(i => (long)i), 1];

    /// <summary>A batch of <paramref name="sample"/> (channels last) as ONNX dims, channels first, the batch dynamic.</summary>
    private static object[] BatchDims(Shape sample, bool channelsLast)
    {
        var dims = sample.Dimensions.ToArray().Select(d => (object)(long)d).ToList();
        if (!channelsLast && dims.Count > 1)
        {
            var c = dims[^1];
            dims.RemoveAt(dims.Count - 1);
            dims.Insert(0, c);
        }
        return ["N", .. dims];
    }

    // ------------------------------------------------------------------ the model

    /// <summary>The ONNX model of <paramref name="model"/> (built) with its current weights and moving statistics.</summary>
    public static byte[] Write(Model model, OnnxExportOptions options)
    {
        if (options.Opset is < MinOpset or > MaxOpset)
            throw new ArgumentOutOfRangeException(nameof(options), options.Opset, $"options.Opset is {options.Opset}; ConvGen writes opsets {MinOpset} to {MaxOpset}.");
        if (string.IsNullOrEmpty(options.InputName) || string.IsNullOrEmpty(options.OutputName) || options.InputName == options.OutputName)
            throw new ArgumentException($"options.InputName ('{options.InputName}') and options.OutputName ('{options.OutputName}') must be two different, non-empty names.", nameof(options));
        var nodes = model.Nodes;
        foreach (var n in nodes)
            if (n.Name == options.InputName || n.Name == options.OutputName)
                throw new ArgumentException($"Layer '{n.Name}' has the name options gives the graph's {(n.Name == options.InputName ? "input" : "output")}; choose another in OnnxExportOptions.", nameof(options));

        var export = new OnnxExport(options.Opset);
        export._used.Add(options.InputName);
        export._used.Add(options.OutputName);
        foreach (var n in nodes)
        {
            export._used.Add(n.Name);
            foreach (var input in n.Inputs)
            {
                if (!export._readers.TryGetValue(input, out var list)) export._readers[input] = list = [];
                list.Add(n);
            }
        }

        var inputShape = model.InputShape;
        export._shapes["input"] = inputShape;
        export._tensors["input"] = options.InputName;
        if (options.ChannelsLast && inputShape.Rank > 1)
        {
            string channelsFirst = export.Unique("input/channels_first");
            export.Node("Transpose", [options.InputName], channelsFirst, Ints("perm", ToChannelsFirst(inputShape.Rank + 1)));
            export._tensors["input"] = channelsFirst;
        }

        for (int i = 0; i < nodes.Count; i++)
        {
            var n = nodes[i];
            bool last = i == nodes.Count - 1;
            bool transposeOut = last && options.ChannelsLast && n.OutputShape.Rank > 1;
            export._node = n;
            export._output = last && !transposeOut ? options.OutputName : n.Name;
            n.Layer.ExportOnnx(export);
            export._tensors[n.Name] = export._output;
            export._shapes[n.Name] = n.OutputShape;
            if (last && export._flattenedChannelsFirst.ContainsKey(n.Name))
                throw new InvalidOperationException($"ONNX export: the model's output '{n.Name}' would be flat in channels-first order."); // Flatten checks its readers
            if (transposeOut) export.Node("Transpose", [n.Name], options.OutputName, Ints("perm", ToChannelsLast(n.OutputShape.Rank + 1)));
        }

        var graph = new ProtoWriter();
        foreach (var node in export._nodes) graph.Message(1, node);
        graph.String(2, model.GetType().Name);
        foreach (var initializer in export._initializers) graph.Message(5, initializer);
        graph.Message(11, ValueInfo(options.InputName, BatchDims(inputShape, options.ChannelsLast)));
        graph.Message(12, ValueInfo(options.OutputName, BatchDims(model.OutputShape, options.ChannelsLast)));

        var result = new ProtoWriter();
        result.Varint(1, IrVersion(options.Opset));
        result.String(2, "ConvGen");
        result.String(3, ProducerVersion);
        result.Message(7, graph);
        result.Message(8, new ProtoWriter().String(1, "").Varint(2, options.Opset));
        result.Message(14, new ProtoWriter().String(1, "convgen.layout").String(2, options.ChannelsLast ? "channels_last" : "channels_first"));
        return result.WrittenSpan.ToArray();
    }

    /// <summary>The IR version of an opset's ONNX release (opset 13: IR 7; 15-18: 8; 19-20: 9; 21: 10), the oldest that reads it.</summary>
    private static long IrVersion(int opset) => opset switch { <= 14 => 7, <= 18 => 8, <= 20 => 9, _ => 10 };

    private static readonly string ProducerVersion =
        typeof(Model).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(Model).Assembly.GetName().Version?.ToString() ?? "0";

    private const int DataTypeFloat = 1, DataTypeInt64 = 7;

    private static ProtoWriter Tensor(string name, ReadOnlySpan<long> dims, int dataType, byte[] raw)
    {
        var t = new ProtoWriter();
        foreach (long d in dims) t.Varint(1, d);
        t.Varint(2, dataType);
        t.String(8, name);
        t.Bytes(9, raw);
        return t;
    }

    private static ProtoWriter ValueInfo(string name, object[] dims)
    {
        var shape = new ProtoWriter();
        foreach (var d in dims)
        {
            var dim = new ProtoWriter();
            if (d is string param) dim.String(2, param); else dim.Varint(1, (long)d);
            shape.Message(1, dim);
        }
        var tensorType = new ProtoWriter().Varint(1, DataTypeFloat).Message(2, shape);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }

    private string Unique(string name)
    {
        string candidate = name;
        for (int k = 1; !_used.Add(candidate); k++) candidate = $"{name}_{k}";
        return candidate;
    }
}
