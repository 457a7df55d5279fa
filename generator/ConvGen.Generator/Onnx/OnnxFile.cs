using System;
using System.Collections.Generic;

namespace ConvGen.Generator.Onnx;

/// <summary>A tensor of an ONNX file (an initializer, or a Constant's value): float or int64 values, checked against its dims.</summary>
internal sealed class OnnxTensor
{
    public string Name = "";
    public long[] Dims = Array.Empty<long>();
    public int DataType;
    public float[]? Floats;
    public long[]? Int64s;

    /// <summary>The number of values its dims hold.</summary>
    public long Count
    {
        get
        {
            long count = 1;
            foreach (long d in Dims) count *= d;
            return count;
        }
    }
}

/// <summary>One attribute of a node: the fields ConvGen reads (float, int, string, tensor, floats, ints).</summary>
internal sealed class OnnxAttribute
{
    public string Name = "";
    public int Type;
    public float F;
    public long I;
    public string S = "";
    public OnnxTensor? T;
    public List<float> Floats = new List<float>();
    public List<long> Ints = new List<long>();
}

/// <summary>One node of the graph.</summary>
internal sealed class OnnxNode
{
    public string Name = "";
    public string OpType = "";
    public string Domain = "";
    public List<string> Inputs = new List<string>();
    public List<string> Outputs = new List<string>();
    public Dictionary<string, OnnxAttribute> Attributes = new Dictionary<string, OnnxAttribute>(StringComparer.Ordinal);

    /// <summary>How the node is named in diagnostics: its name, or its first output's.</summary>
    public string Label => Name.Length > 0 ? Name : Outputs.Count > 0 ? Outputs[0] : "(unnamed)";
}

/// <summary>A graph input or output: its name, element type and dims (a dim is a size, or null where it is symbolic or absent).</summary>
internal sealed class OnnxValueInfo
{
    public string Name = "";
    public int ElementType;
    public List<long?> Dims = new List<long?>();
    public bool HasShape;
}

/// <summary>
/// An ONNX model as ConvGen reads it: the default domain's opset, and the main graph's nodes, initializers, inputs and outputs.
/// Parsing checks every length and every tensor's data against its dims, and bounds what a hostile file can make it allocate
/// (<see cref="MaxValues"/> values in all, <see cref="MaxNodes"/> nodes); anything else is an <see cref="OnnxFormatException"/>.
/// </summary>
internal sealed class OnnxFile
{
    /// <summary>The most values (floats or int64s) a file's tensors may hold in all: 64 M, 256 MB of floats.</summary>
    public const long MaxValues = 64L << 20;

    public const int MaxNodes = 100_000, MaxRank = 8, MaxAttributeValues = 1 << 16;

    public const int Float = 1, Int64 = 7;

    public long IrVersion;
    public long Opset = -1; // the default ("" or "ai.onnx") domain's; -1 when the file imports none
    public List<string> OtherDomains = new List<string>();
    public string GraphName = "";
    public List<OnnxNode> Nodes = new List<OnnxNode>();
    public Dictionary<string, OnnxTensor> Initializers = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
    public List<OnnxValueInfo> Inputs = new List<OnnxValueInfo>();
    public List<OnnxValueInfo> Outputs = new List<OnnxValueInfo>();

    private long _values;

    /// <summary>Parses a model file; throws <see cref="OnnxFormatException"/> naming what is wrong.</summary>
    public static OnnxFile Parse(byte[] data)
    {
        var file = new OnnxFile();
        var r = new ProtoReader(data);
        bool hasGraph = false;
        while (r.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 1: file.IrVersion = r.ReadInt64(wire); break;
                case 7: file.ParseGraph(r.ReadMessage(wire)); hasGraph = true; break;
                case 8:
                {
                    var opset = r.ReadMessage(wire);
                    string domain = "";
                    long version = -1;
                    while (opset.Next(out int f, out int w))
                    {
                        if (f == 1) domain = opset.ReadString(w);
                        else if (f == 2) version = opset.ReadInt64(w);
                        else opset.Skip(w);
                    }
                    if (domain is "" or "ai.onnx") file.Opset = version;
                    else file.OtherDomains.Add(domain);
                    break;
                }
                default: r.Skip(wire); break;
            }
        }
        if (!hasGraph) throw new OnnxFormatException("no graph (ModelProto field 7); is this an ONNX model file?");
        return file;
    }

    private void ParseGraph(ProtoReader r)
    {
        while (r.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 1:
                    if (Nodes.Count >= MaxNodes) throw new OnnxFormatException($"more than {MaxNodes} nodes");
                    Nodes.Add(ParseNode(r.ReadMessage(wire)));
                    break;
                case 2: GraphName = r.ReadString(wire); break;
                case 5:
                {
                    var tensor = ParseTensor(r.ReadMessage(wire));
                    if (tensor.Name.Length == 0) throw new OnnxFormatException("an initializer without a name");
                    if (Initializers.ContainsKey(tensor.Name)) throw new OnnxFormatException($"two initializers named '{tensor.Name}'");
                    Initializers[tensor.Name] = tensor;
                    break;
                }
                case 11: Inputs.Add(ParseValueInfo(r.ReadMessage(wire))); break;
                case 12: Outputs.Add(ParseValueInfo(r.ReadMessage(wire))); break;
                case 15: throw new OnnxFormatException("sparse initializers, which ConvGen does not read");
                default: r.Skip(wire); break;
            }
        }
    }

    private OnnxNode ParseNode(ProtoReader r)
    {
        var node = new OnnxNode();
        while (r.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 1: node.Inputs.Add(r.ReadString(wire)); break;
                case 2: node.Outputs.Add(r.ReadString(wire)); break;
                case 3: node.Name = r.ReadString(wire); break;
                case 4: node.OpType = r.ReadString(wire); break;
                case 7: node.Domain = r.ReadString(wire); break;
                case 5:
                {
                    var attribute = ParseAttribute(r.ReadMessage(wire));
                    if (node.Attributes.ContainsKey(attribute.Name)) throw new OnnxFormatException($"node '{node.Label}' has two attributes named '{attribute.Name}'");
                    node.Attributes[attribute.Name] = attribute;
                    break;
                }
                default: r.Skip(wire); break;
            }
        }
        return node;
    }

    private OnnxAttribute ParseAttribute(ProtoReader r)
    {
        var a = new OnnxAttribute();
        while (r.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 1: a.Name = r.ReadString(wire); break;
                case 2: a.F = r.ReadFloat(wire); break;
                case 3: a.I = r.ReadInt64(wire); break;
                case 4: a.S = r.ReadString(wire); break;
                case 5: a.T = ParseTensor(r.ReadMessage(wire)); break;
                case 7: ReadFloats(ref r, wire, a.Floats); break;
                case 8: r.ReadInt64s(wire, a.Ints, MaxAttributeValues); break;
                case 20: a.Type = (int)r.ReadInt64(wire); break;
                default: r.Skip(wire); break; // g, graphs, sparse tensors, strings, type protos: not read
            }
        }
        return a;
    }

    private OnnxTensor ParseTensor(ProtoReader r)
    {
        var t = new OnnxTensor();
        var dims = new List<long>();
        var floats = new List<float>();
        var int64s = new List<long>();
        ArraySegment<byte>? raw = null;
        while (r.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 1: r.ReadInt64s(wire, dims, MaxRank); break;
                case 2: t.DataType = (int)r.ReadInt64(wire); break;
                case 4: ReadFloats(ref r, wire, floats); break;
                case 7: r.ReadInt64s(wire, int64s, (int)Math.Min(MaxValues - _values, int.MaxValue)); break;
                case 8: t.Name = r.ReadString(wire); break;
                case 9: raw = r.ReadBytes(wire); break;
                case 13: throw new OnnxFormatException($"tensor '{t.Name}' keeps its data in an external file, which ConvGen does not read; save the model with its data inside (onnx.save_model(..., save_as_external_data=False))");
                case 14:
                    if (r.ReadInt64(wire) != 0) throw new OnnxFormatException($"tensor '{t.Name}' keeps its data in an external file, which ConvGen does not read; save the model with its data inside (onnx.save_model(..., save_as_external_data=False))");
                    break;
                default: r.Skip(wire); break;
            }
        }
        foreach (long d in dims)
            if (d < 0 || d > int.MaxValue) throw new OnnxFormatException($"tensor '{t.Name}' has a dimension of {d}");
        t.Dims = dims.ToArray();
        long count = 1;
        foreach (long d in t.Dims)
        {
            count *= d;
            if (count > MaxValues) throw new OnnxFormatException($"tensor '{t.Name}' claims {string.Join(" x ", t.Dims)} values, more than the {MaxValues} ConvGen reads");
        }
        if (_values + count > MaxValues) throw new OnnxFormatException($"the tensors hold more than the {MaxValues} values ConvGen reads");
        _values += count;
        switch (t.DataType)
        {
            case Float:
                if (raw is { } bytes)
                {
                    if (bytes.Count != count * 4) throw new OnnxFormatException($"tensor '{t.Name}' ({string.Join(" x ", t.Dims)} floats) has {bytes.Count} bytes of data, not {count * 4}");
                    t.Floats = new float[count];
                    if (BitConverter.IsLittleEndian) Buffer.BlockCopy(bytes.Array!, bytes.Offset, t.Floats, 0, bytes.Count);
                    else for (int i = 0; i < count; i++) t.Floats[i] = BitConverter.ToSingle(ProtoReader.LittleEndian(bytes.Array!, bytes.Offset + 4 * i, 4), 0);
                }
                else
                {
                    if (floats.Count != count) throw new OnnxFormatException($"tensor '{t.Name}' ({string.Join(" x ", t.Dims)} floats) has {floats.Count} values");
                    t.Floats = floats.ToArray();
                }
                break;
            case Int64:
                if (raw is { } rawLongs)
                {
                    if (rawLongs.Count != count * 8) throw new OnnxFormatException($"tensor '{t.Name}' ({string.Join(" x ", t.Dims)} int64s) has {rawLongs.Count} bytes of data, not {count * 8}");
                    t.Int64s = new long[count];
                    for (int i = 0; i < count; i++) t.Int64s[i] = BitConverter.ToInt64(ProtoReader.LittleEndian(rawLongs.Array!, rawLongs.Offset + 8 * i, 8), 0);
                }
                else
                {
                    if (int64s.Count != count) throw new OnnxFormatException($"tensor '{t.Name}' ({string.Join(" x ", t.Dims)} int64s) has {int64s.Count} values");
                    t.Int64s = int64s.ToArray();
                }
                break;
            default:
                break; // other types are read only when an op needs them, and then refused by name
        }
        return t;
    }

    private void ReadFloats(ref ProtoReader r, int wire, List<float> floats)
    {
        if (wire == ProtoReader.LengthDelimited)
        {
            var bytes = r.ReadBytes(wire);
            if (bytes.Count % 4 != 0) throw new OnnxFormatException($"packed floats of {bytes.Count} bytes");
            if (floats.Count + bytes.Count / 4 > MaxValues) throw new OnnxFormatException($"more than {MaxValues} floats");
            for (int i = 0; i < bytes.Count; i += 4) floats.Add(BitConverter.ToSingle(ProtoReader.LittleEndian(bytes.Array!, bytes.Offset + i, 4), 0));
        }
        else
        {
            if (floats.Count >= MaxValues) throw new OnnxFormatException($"more than {MaxValues} floats");
            floats.Add(r.ReadFloat(wire));
        }
    }

    private static OnnxValueInfo ParseValueInfo(ProtoReader r)
    {
        var info = new OnnxValueInfo();
        while (r.Next(out int field, out int wire))
        {
            if (field == 1) info.Name = r.ReadString(wire);
            else if (field == 2)
            {
                var type = r.ReadMessage(wire);
                while (type.Next(out int f, out int w))
                {
                    if (f != 1) { type.Skip(w); continue; }
                    var tensorType = type.ReadMessage(w);
                    while (tensorType.Next(out int tf, out int tw))
                    {
                        if (tf == 1) info.ElementType = (int)tensorType.ReadInt64(tw);
                        else if (tf == 2)
                        {
                            info.HasShape = true;
                            var shape = tensorType.ReadMessage(tw);
                            while (shape.Next(out int sf, out int sw))
                            {
                                if (sf != 1) { shape.Skip(sw); continue; }
                                if (info.Dims.Count >= MaxRank) throw new OnnxFormatException($"value '{info.Name}' has more than {MaxRank} dimensions");
                                var dim = shape.ReadMessage(sw);
                                long? size = null;
                                while (dim.Next(out int df, out int dw))
                                {
                                    if (df == 1) size = dim.ReadInt64(dw);
                                    else dim.Skip(dw);
                                }
                                info.Dims.Add(size);
                            }
                        }
                        else tensorType.Skip(tw);
                    }
                }
            }
            else r.Skip(wire);
        }
        return info;
    }
}
