using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ConvGen.Peers;

using Tensor = TorchSharp.torch.Tensor;

/// <summary>
/// A <see cref="Graph"/> as a TorchSharp module with ConvGen's weights. <paramref name="channelsLast"/> stores the input and
/// the convolution weights in channels-last strides (NHWC and OHWI storage, NCHW/OIHW views): TorchSharp 0.107 has no
/// memory-format API, and LibTorch picks the channels-last (oneDNN) path from the strides.
/// </summary>
public sealed class TorchNet : nn.Module<Tensor, Tensor>
{
    private readonly Graph _graph;
    private readonly Dictionary<string, (Tensor Weight, Tensor? Bias)> _weights = new();

    public TorchNet(Graph graph, bool channelsLast) : base("TorchNet")
    {
        _graph = graph;
        ChannelsLast = channelsLast;
        foreach (var op in graph.Ops)
        {
            switch (op)
            {
                case ConvOp c:
                    Tensor w = channelsLast
                        ? tensor(ToOhwi(c), [c.F, c.KH, c.KW, c.C]).permute(0, 3, 1, 2)
                        : tensor(c.Weights, [c.F, c.C, c.KH, c.KW]);
                    Add(c.Name, w, c.Bias);
                    break;
                case DenseOp d:
                    var transposed = new float[d.Weights.Length]; // [Out, In], nn.Linear's layout
                    for (int i = 0; i < d.In; i++)
                        for (int o = 0; o < d.Out; o++)
                            transposed[o * d.In + i] = d.Weights[i * d.Out + o];
                    Add(d.Name, tensor(transposed, [d.Out, d.In]), d.Bias);
                    break;
            }
        }
    }

    public bool ChannelsLast { get; }

    private void Add(string name, Tensor weight, float[]? bias)
    {
        var w = new TorchSharp.Modules.Parameter(weight);
        register_parameter(name.Replace('.', '_') + "_weight", w);
        TorchSharp.Modules.Parameter? b = null;
        if (bias != null)
        {
            b = new TorchSharp.Modules.Parameter(tensor(bias, [bias.Length]));
            register_parameter(name.Replace('.', '_') + "_bias", b);
        }
        _weights[name] = (w, b);
    }

    private static float[] ToOhwi(ConvOp c)
    {
        var result = new float[c.Weights.Length];
        for (int o = 0; o < c.F; o++)
            for (int i = 0; i < c.C; i++)
                for (int y = 0; y < c.KH; y++)
                    for (int x = 0; x < c.KW; x++)
                        result[((o * c.KH + y) * c.KW + x) * c.C + i] = c.Weights[((o * c.C + i) * c.KH + y) * c.KW + x];
        return result;
    }

    /// <summary>A batch of NHWC images as this network's input tensor (NCHW, or channels-last strides).</summary>
    public Tensor Input(float[] nhwc, int n)
    {
        int c = _graph.InputShape[0], h = _graph.InputShape[1], w = _graph.InputShape[2];
        return ChannelsLast
            ? tensor(nhwc, [n, h, w, c]).permute(0, 3, 1, 2)
            : tensor(Graph.ToNchw(nhwc, n, h, w, c), [n, c, h, w]);
    }

    public override Tensor forward(Tensor input)
    {
        var values = new Dictionary<string, Tensor> { ["input"] = input };
        Tensor y = input;
        foreach (var op in _graph.Ops)
        {
            var x = values[op.Inputs[0]];
            switch (op)
            {
                case ConvOp c:
                {
                    var (w, b) = _weights[c.Name];
                    bool symmetric = c.Pads[0] == c.Pads[2] && c.Pads[1] == c.Pads[3];
                    if (!symmetric) x = F.pad(x, [c.Pads[1], c.Pads[3], c.Pads[0], c.Pads[2]]);
                    y = F.conv2d(x, w, b, strides: [c.SH, c.SW], padding: symmetric ? [c.Pads[0], c.Pads[1]] : [0, 0]);
                    if (c.Relu) y = F.relu(y);
                    break;
                }
                case MaxPoolOp p:
                    if (p.Pads[0] != p.Pads[2] || p.Pads[1] != p.Pads[3]) throw new NotSupportedException("asymmetric pool padding");
                    y = F.max_pool2d(x, [p.PH, p.PW], [p.SH, p.SW], [p.Pads[0], p.Pads[1]]);
                    break;
                case FlattenOp:
                    y = x.flatten(1);
                    break;
                case DenseOp d:
                {
                    var (w, b) = _weights[d.Name];
                    y = F.linear(x, w, b);
                    if (d.Relu) y = F.relu(y);
                    break;
                }
                case AddOp a:
                    y = x + values[a.Inputs[1]];
                    if (a.Relu) y = F.relu(y);
                    break;
            }
            values[op.Name] = y;
        }
        return y;
    }
}
