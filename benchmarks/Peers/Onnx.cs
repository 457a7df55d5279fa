using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;

namespace ConvGen.Peers;

/// <summary>
/// Writes a <see cref="Graph"/> as an ONNX model (opset 17, channels-first input with a dynamic batch axis) in the protobuf wire
/// format, field numbers from onnx.proto. Only what the harness's networks need: Conv (grouped, 1-D or 2-D), BatchNormalization
/// (inference: the moving statistics), Relu, Clip (ReLU6), Tanh, MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm, Add.
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
        bool clipBounds = false;

        // The op's own node writes `linear`; its activation, if any, turns that into `y`.
        void Activate(Act activation, string linear, string y)
        {
            switch (activation)
            {
                case Act.Relu: nodes.Add(Node("Relu", [linear], y, y + ".relu")); break;
                case Act.Relu6:
                    // Clip takes its bounds as inputs since opset 11.
                    if (!clipBounds)
                    {
                        initializers.Add(FloatTensor("relu6.min", [], [0f]));
                        initializers.Add(FloatTensor("relu6.max", [], [6f]));
                        clipBounds = true;
                    }
                    nodes.Add(Node("Clip", [linear, "relu6.min", "relu6.max"], y, y + ".relu6"));
                    break;
                case Act.Tanh: nodes.Add(Node("Tanh", [linear], y, y + ".tanh")); break;
            }
        }
        string Linear(Act activation, string y) => activation == Act.None ? y : y + ".linear";

        foreach (var op in graph.Ops)
        {
            string x = Source(op.Inputs[0]), y = op.Name;
            switch (op)
            {
                case ConvOp c:
                {
                    initializers.Add(FloatTensor(y + ".weight", [c.F, c.GroupChannels, .. c.Kernel.Select(k => (long)k)], c.Weights));
                    var convInputs = new List<string> { x, y + ".weight" };
                    if (c.Bias != null) { initializers.Add(FloatTensor(y + ".bias", [c.F], c.Bias)); convInputs.Add(y + ".bias"); }
                    nodes.Add(Node("Conv", convInputs, Linear(c.Activation, y), y,
                        Ints("kernel_shape", c.Kernel), Ints("strides", c.Strides), Ints("pads", c.Pads), Ints("dilations", c.Dilations), Int("group", c.Group)));
                    Activate(c.Activation, Linear(c.Activation, y), y);
                    break;
                }
                case BatchNormOp b:
                    initializers.Add(FloatTensor(y + ".scale", [b.C], b.Gamma ?? Enumerable.Repeat(1f, b.C).ToArray()));
                    initializers.Add(FloatTensor(y + ".bias", [b.C], b.Beta ?? new float[b.C]));
                    initializers.Add(FloatTensor(y + ".mean", [b.C], b.MovingMean));
                    initializers.Add(FloatTensor(y + ".var", [b.C], b.MovingVariance));
                    nodes.Add(Node("BatchNormalization", [x, y + ".scale", y + ".bias", y + ".mean", y + ".var"], y, y, Float("epsilon", b.Epsilon)));
                    break;
                case ActivationOp a:
                    Activate(a.Activation, x, y);
                    break;
                case PoolOp p:
                    nodes.Add(p.Max
                        ? Node("MaxPool", [x], y, y, Ints("kernel_shape", p.Kernel), Ints("strides", p.Strides), Ints("pads", p.Pads))
                        : Node("AveragePool", [x], y, y, Ints("kernel_shape", p.Kernel), Ints("strides", p.Strides), Ints("pads", p.Pads), Int("count_include_pad", 0)));
                    break;
                case GlobalAveragePoolOp:
                    nodes.Add(Node("GlobalAveragePool", [x], y + ".pooled", y + ".pool"));
                    nodes.Add(Node("Flatten", [y + ".pooled"], y, y, Int("axis", 1)));
                    break;
                case FlattenOp:
                    nodes.Add(Node("Flatten", [x], y, y, Int("axis", 1)));
                    break;
                case ReshapeOp r:
                {
                    // Channels last, Keras' reshape (the batch axis inferred), channels first again.
                    int from = r.From.Length + 1, to = r.To.Length + 1;
                    initializers.Add(Int64Tensor(y + ".shape", [to], [-1, .. r.To.Select(d => (long)d)]));
                    nodes.Add(Node("Transpose", [x], y + ".last", y + ".last", Ints("perm", [0, .. Enumerable.Range(2, from - 2), 1])));
                    nodes.Add(Node("Reshape", [y + ".last", y + ".shape"], y + ".reshaped", y + ".reshaped"));
                    nodes.Add(Node("Transpose", [y + ".reshaped"], y, y, Ints("perm", [0, to - 1, .. Enumerable.Range(1, to - 2)])));
                    break;
                }
                case DenseOp d:
                    initializers.Add(FloatTensor(y + ".weight", [d.In, d.Out], d.Weights));
                    var gemmInputs = new List<string> { x, y + ".weight" };
                    if (d.Bias != null) { initializers.Add(FloatTensor(y + ".bias", [d.Out], d.Bias)); gemmInputs.Add(y + ".bias"); }
                    nodes.Add(Node("Gemm", gemmInputs, Linear(d.Activation, y), y));
                    Activate(d.Activation, Linear(d.Activation, y), y);
                    break;
                case AddOp a:
                {
                    // ONNX Add is binary: a chain for more inputs.
                    string sum = x;
                    for (int i = 1; i < a.Inputs.Length; i++)
                    {
                        string output = i == a.Inputs.Length - 1 ? Linear(a.Activation, y) : $"{y}.sum{i}";
                        nodes.Add(Node("Add", [sum, Source(a.Inputs[i])], output, output));
                        sum = output;
                    }
                    Activate(a.Activation, Linear(a.Activation, y), y);
                    break;
                }
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
        g.Bytes(11, ValueInfo("input", ["N", .. graph.InputShape.Cast<object>()]));
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

    private static byte[] Ints(string name, int[] values)
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

    private static byte[] Float(string name, float value)
    {
        var p = new Proto();
        p.String(1, name);
        p.Float(2, value);
        p.Int(20, 1); // AttributeType.FLOAT
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

    private static byte[] Int64Tensor(string name, long[] dims, long[] data)
    {
        var p = new Proto();
        foreach (var d in dims) p.Int(1, d);
        p.Int(2, 7); // DataType.INT64
        p.String(8, name);
        p.Bytes(9, MemoryMarshal.AsBytes(data.AsSpan()).ToArray());
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

        public void Float(int field, float value)
        {
            Varint((ulong)(field << 3 | 5)); // wire type 5: fixed32, little-endian
            Span<byte> bytes = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
            _stream.Write(bytes);
        }

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
