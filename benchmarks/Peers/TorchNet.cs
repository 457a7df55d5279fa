using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ConvGen.Peers;

using Tensor = TorchSharp.torch.Tensor;

/// <summary>
/// A <see cref="Graph"/> as a TorchSharp module with ConvGen's weights. <paramref name="channelsLast"/> stores the input and
/// the convolution weights in channels-last strides (NHWC and OHWI storage, NCHW/OIHW views; NWC and OWI for a sequence):
/// TorchSharp 0.107 has no memory-format API, and LibTorch picks the channels-last (oneDNN) path from the strides.
/// BatchNormalization is <c>batch_norm</c> with the moving statistics as buffers: batch statistics in <c>train()</c> mode, the
/// moving ones in <c>eval()</c>. <paramref name="dtype"/> other than float32 (float64) is for <c>check</c>: the same module in
/// double precision tells a LibTorch float32 kernel's error from a translation error.
/// </summary>
public sealed class TorchNet : nn.Module<Tensor, Tensor>
{
    private readonly Graph _graph;
    private readonly Dictionary<string, (Tensor? Weight, Tensor? Bias)> _weights = new();
    private readonly Dictionary<string, (Tensor Mean, Tensor Variance)> _statistics = new();

    private readonly ScalarType _dtype;

    public TorchNet(Graph graph, bool channelsLast, ScalarType dtype = ScalarType.Float32) : base("TorchNet")
    {
        _graph = graph;
        ChannelsLast = channelsLast;
        _dtype = dtype;
        foreach (var op in graph.Ops)
        {
            switch (op)
            {
                case ConvOp c:
                    long[] shape = [c.F, c.GroupChannels, .. c.Kernel.Select(k => (long)k)];
                    Add(c.Name, channelsLast ? ChannelsLastView(ToChannelsLast(c.Weights, c.F, c.GroupChannels), shape) : Values(c.Weights, shape), c.Bias);
                    break;
                case DenseOp d:
                    var transposed = new float[d.Weights.Length]; // [Out, In], nn.Linear's layout
                    for (int i = 0; i < d.In; i++)
                        for (int o = 0; o < d.Out; o++)
                            transposed[o * d.In + i] = d.Weights[i * d.Out + o];
                    Add(d.Name, Values(transposed, [d.Out, d.In]), d.Bias);
                    break;
                case BatchNormOp b:
                    Add(b.Name, b.Gamma is { } gamma ? Values(gamma, [b.C]) : null, b.Beta);
                    var statistics = (Values(b.MovingMean, [b.C]), Values(b.MovingVariance, [b.C]));
                    register_buffer(Key(b.Name) + "_running_mean", statistics.Item1);
                    register_buffer(Key(b.Name) + "_running_var", statistics.Item2);
                    _statistics[b.Name] = statistics;
                    break;
            }
        }
    }

    public bool ChannelsLast { get; }

    private static string Key(string name) => name.Replace('.', '_');

    private void Add(string name, Tensor? weight, float[]? bias)
    {
        TorchSharp.Modules.Parameter? w = null, b = null;
        if (weight is not null)
        {
            w = new TorchSharp.Modules.Parameter(weight);
            register_parameter(Key(name) + "_weight", w);
        }
        if (bias != null)
        {
            b = new TorchSharp.Modules.Parameter(Values(bias, [bias.Length]));
            register_parameter(Key(name) + "_bias", b);
        }
        _weights[name] = (w, b);
    }

    /// <summary><c>[N or F, C, spatial...]</c> values stored as <c>[N or F, spatial..., C]</c> (NHWC, OHWI; NWC, OWI).</summary>
    private static float[] ToChannelsLast(float[] channelsFirst, int n, int c)
    {
        int positions = channelsFirst.Length / (n * c);
        var result = new float[channelsFirst.Length];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < c; i++)
                for (int q = 0; q < positions; q++)
                    result[(b * positions + q) * c + i] = channelsFirst[(b * c + i) * positions + q];
        return result;
    }

    /// <summary>A tensor of this module's element type.</summary>
    private Tensor Values(float[] values, long[] shape) => tensor(values, shape).to(_dtype);

    /// <summary>Channels-last storage of <paramref name="values"/> viewed with the channels-first <paramref name="shape"/>.</summary>
    private Tensor ChannelsLastView(float[] values, long[] shape)
    {
        int rank = shape.Length;
        long[] stored = [shape[0], .. shape[2..], shape[1]];
        long[] order = [0, rank - 1, .. Enumerable.Range(1, rank - 2).Select(i => (long)i)];
        return Values(values, stored).permute(order);
    }

    /// <summary>A batch of channels-last samples as this network's input tensor (channels first, or channels-last strides).</summary>
    public Tensor Input(float[] channelsLast, int n)
    {
        var shape = _graph.BatchShape(n);
        return ChannelsLast ? ChannelsLastView(channelsLast, shape) : Values(_graph.ToChannelsFirst(channelsLast, n), shape);
    }

    /// <summary>The outputs on a batch of channels-last samples in inference (<c>eval()</c>, no gradients), as float32.</summary>
    public float[] Infer(float[] channelsLast, int n)
    {
        eval();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return forward(Input(channelsLast, n)).to(ScalarType.Float32).contiguous().data<float>().ToArray();
    }

    /// <summary>A channels-first tensor with its channels moved last (N, C, spatial... to N, spatial..., C).</summary>
    private static Tensor ToChannelsLast(Tensor x) =>
        x.dim() <= 2 ? x : x.permute([0, .. Enumerable.Range(2, (int)x.dim() - 2).Select(i => (long)i), 1]);

    /// <summary>The inverse of <see cref="ToChannelsLast(Tensor)"/>.</summary>
    private static Tensor ToChannelsFirst(Tensor x) =>
        x.dim() <= 2 ? x : x.permute([0, x.dim() - 1, .. Enumerable.Range(1, (int)x.dim() - 2).Select(i => (long)i)]);

    private static Tensor Apply(Act activation, Tensor x) => activation switch
    {
        Act.None => x,
        Act.Relu => F.relu(x),
        Act.Relu6 => F.relu6(x),
        Act.Tanh => F.tanh(x),
        _ => throw new NotSupportedException(activation.ToString()),
    };

    /// <summary>Whether ONNX pads (starts, then ends) are the same at both ends of every axis, as PyTorch's padding arguments need.</summary>
    private static bool Symmetric(int[] pads) => pads.AsSpan(0, pads.Length / 2).SequenceEqual(pads.AsSpan(pads.Length / 2));

    /// <summary>ONNX pads as <c>F.pad</c>'s: last axis first, each (start, end).</summary>
    private static long[] TorchPad(int[] pads)
    {
        int axes = pads.Length / 2;
        return Enumerable.Range(0, axes).Reverse().SelectMany(a => new long[] { pads[a], pads[axes + a] }).ToArray();
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
                    bool symmetric = Symmetric(c.Pads);
                    if (!symmetric) x = F.pad(x, TorchPad(c.Pads));
                    long[] padding = symmetric ? c.Pads[..c.Kernel.Length].Select(p => (long)p).ToArray() : new long[c.Kernel.Length];
                    y = c.Kernel.Length == 1
                        ? F.conv1d(x, w!, b, c.Strides[0], padding[0], c.Dilations[0], c.Group)
                        : F.conv2d(x, w!, b, [c.Strides[0], c.Strides[1]], padding, [c.Dilations[0], c.Dilations[1]], c.Group);
                    y = Apply(c.Activation, y);
                    break;
                }
                case BatchNormOp n:
                {
                    var (w, b) = _weights[n.Name];
                    var (mean, variance) = _statistics[n.Name];
                    y = F.batch_norm(x, mean, variance, w, b, training, momentum: 1 - n.Momentum, eps: n.Epsilon);
                    break;
                }
                case ActivationOp a:
                    y = Apply(a.Activation, x);
                    break;
                case PoolOp p:
                    y = Pool(p, x);
                    break;
                case GlobalAveragePoolOp:
                    y = x.mean(Enumerable.Range(2, (int)x.dim() - 2).Select(i => (long)i).ToArray(), keepdim: false);
                    break;
                case FlattenOp:
                    y = x.flatten(1);
                    break;
                case ReshapeOp r:
                    y = ToChannelsFirst(ToChannelsLast(x).reshape([-1, .. r.To.Select(d => (long)d)])).contiguous();
                    break;
                case DenseOp d:
                {
                    var (w, b) = _weights[d.Name];
                    y = Apply(d.Activation, F.linear(x, w!, b));
                    break;
                }
                case AddOp a:
                    y = x;
                    foreach (var other in a.Inputs.Skip(1)) y = y + values[other];
                    y = Apply(a.Activation, y);
                    break;
                default:
                    throw new NotSupportedException(op.GetType().Name);
            }
            values[op.Name] = y;
        }
        return y;
    }

    /// <summary>
    /// Max and average pooling. TF's asymmetric 'same' padding is <c>F.pad</c> with -inf first for a max; an average would count
    /// <c>F.pad</c>'s zeros (<c>count_include_pad</c> applies only to the pool's own padding), so it takes symmetric padding only.
    /// </summary>
    private static Tensor Pool(PoolOp p, Tensor x)
    {
        bool symmetric = Symmetric(p.Pads);
        if (!symmetric)
        {
            if (!p.Max) throw new NotSupportedException($"{p.Name}: an average pool with asymmetric padding (TF 'same')");
            x = F.pad(x, TorchPad(p.Pads), value: double.NegativeInfinity);
        }
        long[] k = p.Kernel.Select(v => (long)v).ToArray(), s = p.Strides.Select(v => (long)v).ToArray();
        long[] padding = symmetric ? p.Pads[..k.Length].Select(v => (long)v).ToArray() : new long[k.Length];
        return (k.Length, p.Max) switch
        {
            (1, true) => F.max_pool1d(x, k[0], s[0], padding[0]),
            (1, false) => F.avg_pool1d(x, k[0], s[0], padding[0], count_include_pad: false),
            (_, true) => F.max_pool2d(x, k, s, padding),
            (_, false) => F.avg_pool2d(x, k, s, padding, count_include_pad: false),
        };
    }
}
