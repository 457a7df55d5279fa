using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace ConvGen.Peers;

/// <summary>
/// Writes a <see cref="Graph"/> as an ONNX model (opset 17, NCHW input with a dynamic batch axis) in the protobuf wire format,
/// field numbers from onnx.proto. Only what the harness's networks need: Conv, Relu, MaxPool, Flatten, Gemm, Add.
/// </summary>
public static class Onnx
{
    public static byte[] Write(Graph graph)
    {
        var nodes = new List<byte[]>();
        var initializers = new List<byte[]>();
        string previous = "input";
        var produced = new Dictionary<string, string> { ["input"] = "input" };
        string Source(string name) => produced[name];

        foreach (var op in graph.Ops)
        {
            string x = Source(op.Inputs[0]), y = op.Name;
            switch (op)
            {
                case ConvOp c:
                    initializers.Add(FloatTensor(y + ".weight", [c.F, c.C, c.KH, c.KW], c.Weights));
                    var convInputs = new List<string> { x, y + ".weight" };
                    if (c.Bias != null) { initializers.Add(FloatTensor(y + ".bias", [c.F], c.Bias)); convInputs.Add(y + ".bias"); }
                    string convOut = c.Relu ? y + ".linear" : y;
                    nodes.Add(Node("Conv", convInputs, convOut, y,
                        Ints("kernel_shape", c.KH, c.KW), Ints("strides", c.SH, c.SW), Ints("pads", c.Pads[0], c.Pads[1], c.Pads[2], c.Pads[3]),
                        Ints("dilations", 1, 1), Int("group", 1)));
                    if (c.Relu) nodes.Add(Node("Relu", [convOut], y, y + ".relu"));
                    break;
                case MaxPoolOp p:
                    nodes.Add(Node("MaxPool", [x], y, y, Ints("kernel_shape", p.PH, p.PW), Ints("strides", p.SH, p.SW),
                        Ints("pads", p.Pads[0], p.Pads[1], p.Pads[2], p.Pads[3])));
                    break;
                case FlattenOp:
                    nodes.Add(Node("Flatten", [x], y, y, Int("axis", 1)));
                    break;
                case DenseOp d:
                    initializers.Add(FloatTensor(y + ".weight", [d.In, d.Out], d.Weights));
                    var gemmInputs = new List<string> { x, y + ".weight" };
                    if (d.Bias != null) { initializers.Add(FloatTensor(y + ".bias", [d.Out], d.Bias)); gemmInputs.Add(y + ".bias"); }
                    string gemmOut = d.Relu ? y + ".linear" : y;
                    nodes.Add(Node("Gemm", gemmInputs, gemmOut, y));
                    if (d.Relu) nodes.Add(Node("Relu", [gemmOut], y, y + ".relu"));
                    break;
                case AddOp a:
                    string addOut = a.Relu ? y + ".linear" : y;
                    nodes.Add(Node("Add", [x, Source(a.Inputs[1])], addOut, y));
                    if (a.Relu) nodes.Add(Node("Relu", [addOut], y, y + ".relu"));
                    break;
                default:
                    throw new NotSupportedException(op.GetType().Name);
            }
            produced[op.Name] = y;
            previous = y;
        }

        var g = new Proto();
        foreach (var n in nodes) g.Bytes(1, n);
        g.String(2, "convgen");
        foreach (var t in initializers) g.Bytes(5, t);
        g.Bytes(11, ValueInfo("input", ["N", graph.InputShape[0], graph.InputShape[1], graph.InputShape[2]]));
        g.Bytes(12, ValueInfo(previous, ["N", graph.Outputs]));

        var opset = new Proto();
        opset.String(1, "");
        opset.Int(2, 17);
        var model = new Proto();
        model.Int(1, 8); // ir_version 8 (ONNX 1.10+, opset 17 needs IR 8)
        model.String(2, "ConvGen");
        model.String(3, "0.1.0");
        model.Bytes(7, g.ToArray());
        model.Bytes(8, opset.ToArray());
        return model.ToArray();
    }

    private static byte[] Node(string opType, IReadOnlyList<string> inputs, string output, string name, params byte[][] attributes)
    {
        var p = new Proto();
        foreach (var i in inputs) p.String(1, i);
        p.String(2, output);
        p.String(3, name);
        p.String(4, opType);
        foreach (var a in attributes) p.Bytes(5, a);
        return p.ToArray();
    }

    private static byte[] Ints(string name, params long[] values)
    {
        var p = new Proto();
        p.String(1, name);
        foreach (var v in values) p.Int(8, v);
        p.Int(20, 7); // AttributeType.INTS
        return p.ToArray();
    }

    private static byte[] Int(string name, long value)
    {
        var p = new Proto();
        p.String(1, name);
        p.Int(3, value);
        p.Int(20, 2); // AttributeType.INT
        return p.ToArray();
    }

    private static byte[] FloatTensor(string name, long[] dims, float[] data)
    {
        var p = new Proto();
        foreach (var d in dims) p.Int(1, d);
        p.Int(2, 1); // DataType.FLOAT
        p.String(8, name);
        p.Bytes(9, MemoryMarshal.AsBytes(data.AsSpan()).ToArray()); // raw_data, little-endian
        return p.ToArray();
    }

    private static byte[] ValueInfo(string name, object[] dims)
    {
        var shape = new Proto();
        foreach (var d in dims)
        {
            var dim = new Proto();
            if (d is string param) dim.String(2, param); else dim.Int(1, Convert.ToInt64(d));
            shape.Bytes(1, dim.ToArray());
        }
        var tensorType = new Proto();
        tensorType.Int(1, 1); // elem_type FLOAT
        tensorType.Bytes(2, shape.ToArray());
        var type = new Proto();
        type.Bytes(1, tensorType.ToArray());
        var info = new Proto();
        info.String(1, name);
        info.Bytes(2, type.ToArray());
        return info.ToArray();
    }

    /// <summary>A protobuf message being written: varint (wire type 0) and length-delimited (wire type 2) fields.</summary>
    private sealed class Proto
    {
        private readonly MemoryStream _stream = new();

        public void Int(int field, long value) { Varint((ulong)(field << 3)); Varint((ulong)value); }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Bytes(int field, byte[] value)
        {
            Varint((ulong)(field << 3 | 2));
            Varint((ulong)value.Length);
            _stream.Write(value);
        }

        public byte[] ToArray() => _stream.ToArray();

        private void Varint(ulong value)
        {
            while (value >= 0x80) { _stream.WriteByte((byte)(value | 0x80)); value >>= 7; }
            _stream.WriteByte((byte)value);
        }
    }
}
