using System;
using System.Collections.Generic;
using System.Linq;
using ConvGen;

namespace ConvGen.Peers;

/// <summary>
/// One layer of a ConvGen model in the peers' terms: channels first (NCHW, or NCW for a sequence), OIHW (OIW) weights, explicit
/// padding. Spatial sizes are arrays with one entry per spatial axis (height and width, or the steps of a sequence); pads are
/// ONNX's: the start of every axis, then the end of every axis.
/// </summary>
public abstract record Op(string Name, string[] Inputs);

/// <summary>An element-wise function, fused after an op or as a layer of its own.</summary>
public enum Act { None, Relu, Relu6, Tanh }

/// <summary>
/// A convolution over one or two spatial axes (Conv1D, Conv2D, DepthwiseConv2D): <paramref name="Weights"/> is
/// <c>[F, C / Group, kernel...]</c>. A depthwise convolution is the grouped one with <c>Group = C</c> and output channel
/// <c>c * M + m</c>.
/// </summary>
public sealed record ConvOp(string Name, string[] Inputs, int C, int F, int Group, int[] Kernel, int[] Strides, int[] Dilations, int[] Pads,
    Act Activation, float[] Weights, float[]? Bias) : Op(Name, Inputs)
{
    /// <summary>Input channels per group (the weights' second axis).</summary>
    public int GroupChannels => C / Group;
}

/// <summary>
/// Keras' BatchNormalization over the channels: <paramref name="Gamma"/> and <paramref name="Beta"/> are null where ConvGen's
/// layer has no <c>scale</c> or <c>center</c> (then 1 and 0); the moving statistics are ConvGen's state, <paramref name="Momentum"/>
/// Keras' (the old statistics' weight; PyTorch's momentum is <c>1 - Momentum</c>).
/// </summary>
public sealed record BatchNormOp(string Name, string[] Inputs, int C, float Momentum, float Epsilon, float[]? Gamma, float[]? Beta,
    float[] MovingMean, float[] MovingVariance) : Op(Name, Inputs);

/// <summary>An activation layer (ReLU, ReLU6, Tanh).</summary>
public sealed record ActivationOp(string Name, string[] Inputs, Act Activation) : Op(Name, Inputs);

/// <summary>Max or average pooling over one or two spatial axes; an average ignores padded positions (TF's 'same').</summary>
public sealed record PoolOp(string Name, string[] Inputs, bool Max, int[] Kernel, int[] Strides, int[] Pads) : Op(Name, Inputs);

/// <summary>The mean over every spatial position: <c>N, C, spatial...</c> to <c>N, C</c>.</summary>
public sealed record GlobalAveragePoolOp(string Name, string[] Inputs) : Op(Name, Inputs);

/// <summary>Flatten of a channels-first tensor (C, H, W order); the Dense after it has its rows permuted to match.</summary>
public sealed record FlattenOp(string Name, string[] Inputs) : Op(Name, Inputs);

/// <summary>A dense layer. <paramref name="Weights"/> is [In, Out] (ONNX Gemm's B), rows already in NCHW flatten order.</summary>
public sealed record DenseOp(string Name, string[] Inputs, int In, int Out, Act Activation, float[] Weights, float[]? Bias) : Op(Name, Inputs);

/// <summary>
/// Keras' Reshape, which reorders values in channels-last order: <paramref name="From"/> and <paramref name="To"/> are the
/// channels-last sample shapes (ConvGen's), so a peer moves channels last, reshapes, and moves them first again.
/// </summary>
public sealed record ReshapeOp(string Name, string[] Inputs, int[] From, int[] To) : Op(Name, Inputs);

/// <summary>The sum of two or more inputs of one shape.</summary>
public sealed record AddOp(string Name, string[] Inputs, Act Activation) : Op(Name, Inputs);

/// <summary>
/// A ConvGen model read as a list of operations for TorchSharp (ONNX Runtime runs ConvGen's own export), with ConvGen's current weights and
/// state converted from channels-last (NHWC/HWIO, NWC/WIO) to channels-first, so that all three systems compute the same
/// function and their outputs can be compared (<see cref="Program"/>'s <c>check</c>).
/// </summary>
public sealed class Graph
{
    /// <summary>One sample: channels, then the spatial sizes (H, W for images; steps for sequences).</summary>
    public required int[] InputShape { get; init; }

    public required IReadOnlyList<Op> Ops { get; init; }

    public required int Outputs { get; init; }

    public int Channels => InputShape[0];

    /// <summary>A batch's input shape, channels first.</summary>
    public long[] BatchShape(int n) => [n, .. InputShape.Select(d => (long)d)];

    /// <summary>A channels-last batch (ConvGen's NHWC or NWC) as channels-first (NCHW or NCW).</summary>
    public float[] ToChannelsFirst(ReadOnlySpan<float> channelsLast, int n)
    {
        int c = Channels, positions = channelsLast.Length / (n * c);
        var result = new float[channelsLast.Length];
        for (int b = 0; b < n; b++)
            for (int q = 0; q < positions; q++)
                for (int i = 0; i < c; i++)
                    result[(b * c + i) * positions + q] = channelsLast[(b * positions + q) * c + i];
        return result;
    }

    public static Graph From(Model model)
    {
        var shapes = new Dictionary<string, Shape> { ["input"] = model.InputShape };
        var flattened = new Dictionary<string, Shape>(); // a Flatten's name -> the shape it flattened
        var ops = new List<Op>();
        foreach (var node in model.Nodes)
        {
            var layer = node.Layer;
            var inputs = node.Inputs.ToArray();
            var inShape = shapes[inputs[0]];
            int[] inSize = Spatial(inShape), outSize = Spatial(node.OutputShape);
            Op op = layer switch
            {
                Dense dense => DenseFrom(node.Name, inputs, dense, flattened.TryGetValue(inputs[0], out var unflat) ? unflat : inShape),
                MaxPool2D p => Pool(node.Name, inputs, true, [p.PoolHeight, p.PoolWidth], [p.StrideHeight, p.StrideWidth], p.Padding, inSize, outSize),
                AveragePool2D p => Pool(node.Name, inputs, false, [p.PoolHeight, p.PoolWidth], [p.StrideHeight, p.StrideWidth], p.Padding, inSize, outSize),
                MaxPool1D p => Pool(node.Name, inputs, true, [p.PoolSize], [p.Strides], p.Padding, inSize, outSize),
                AveragePool1D p => Pool(node.Name, inputs, false, [p.PoolSize], [p.Strides], p.Padding, inSize, outSize),
                GlobalAveragePooling2D or GlobalAveragePooling1D => new GlobalAveragePoolOp(node.Name, inputs),
                BatchNormalization bn => BatchNormFrom(node.Name, inputs, bn),
                ReLU => new ActivationOp(node.Name, inputs, Act.Relu),
                ReLU6 => new ActivationOp(node.Name, inputs, Act.Relu6),
                Tanh => new ActivationOp(node.Name, inputs, Act.Tanh),
                Flatten => new FlattenOp(node.Name, inputs),
                Reshape => new ReshapeOp(node.Name, inputs, Dims(inShape), Dims(node.OutputShape)),
                Add add => new AddOp(node.Name, inputs, ActFrom(add.Activation)),
                _ when layer.TypeName is "Conv2D" or "DepthwiseConv2D" or "Conv1D" => ConvFrom(node.Name, inputs, layer, inSize, outSize),
                _ => throw new NotSupportedException($"The peers harness does not translate {layer.TypeName} ({node.Name})."),
            };
            if (op is FlattenOp) flattened[node.Name] = inShape;
            ops.Add(op);
            shapes[node.Name] = node.OutputShape;
        }
        var s = model.InputShape;
        return new Graph { InputShape = [s[s.Rank - 1], .. Spatial(s)], Ops = ops, Outputs = model.OutputShape.Size };
    }

    private static int[] Dims(Shape shape) => Enumerable.Range(0, shape.Rank).Select(i => shape[i]).ToArray();

    /// <summary>The spatial sizes of a channels-last sample shape: (H, W) of (H, W, C), (steps) of (steps, C), none of (units).</summary>
    private static int[] Spatial(Shape shape) => Enumerable.Range(0, shape.Rank - 1).Select(i => shape[i]).ToArray();

    private static Act ActFrom(Activation activation) => activation switch
    {
        Activation.None => Act.None,
        Activation.ReLU => Act.Relu,
        _ => throw new NotSupportedException($"Activation {activation} is not translated by the peers harness."),
    };

    /// <summary>
    /// ONNX pads (starts, then ends) for each axis: none for 'valid'; TF's 'same' (<c>out = ceil(in / stride)</c>, the total
    /// <c>max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0)</c>, its smaller half first); causal, everything at the start.
    /// </summary>
    private static int[] Pads(Padding padding, bool causal, int[] inSize, int[] outSize, int[] kernel, int[] strides, int[] dilations)
    {
        int axes = inSize.Length;
        var pads = new int[2 * axes];
        for (int a = 0; a < axes; a++)
        {
            int extent = (kernel[a] - 1) * dilations[a] + 1;
            if (causal) pads[a] = extent - 1;
            else if (padding == Padding.Same)
            {
                int total = Math.Max((outSize[a] - 1) * strides[a] + extent - inSize[a], 0);
                (pads[a], pads[axes + a]) = (total / 2, total - total / 2);
            }
        }
        return pads;
    }

    private static PoolOp Pool(string name, string[] inputs, bool max, int[] kernel, int[] strides, Padding padding, int[] inSize, int[] outSize) =>
        new(name, inputs, max, kernel, strides, Pads(padding, false, inSize, outSize, kernel, strides, [.. kernel.Select(_ => 1)]));

    /// <summary>
    /// Conv2D (HWIO <c>[KH, KW, C, F]</c>), DepthwiseConv2D (<c>[KH, KW, C, M]</c>, which is the grouped layout <c>[KH, KW, 1, C*M]</c>
    /// with output channel <c>c*M + m</c>) and Conv1D (<c>[K, C, F]</c>, i.e. <c>[1, K, C, F]</c>) all read as the HWIO
    /// <c>[KH, KW, C / group, F]</c> of a grouped convolution, written out as OIHW <c>[F, C / group, KH, KW]</c>.
    /// </summary>
    private static ConvOp ConvFrom(string name, string[] inputs, Layer layer, int[] inSize, int[] outSize)
    {
        var configuration = layer.GetType().GetProperty("Configuration")!.GetValue(layer)!;
        int kh, kw, sh, sw, dh, dw, c, f, group;
        Padding padding;
        bool useBias;
        Activation activation;
        switch (configuration)
        {
            case DepthwiseConv2DSpec d:
                (kh, kw, sh, sw, dh, dw, padding, useBias, activation) = (d.KernelHeight, d.KernelWidth, d.StrideHeight, d.StrideWidth, d.DilationHeight, d.DilationWidth, d.Padding, d.UseBias, d.Activation);
                (c, f, group) = (d.InputChannels, d.OutputChannels, d.InputChannels);
                break;
            case Conv2DSpec s:
                (kh, kw, sh, sw, dh, dw, padding, useBias, activation) = (s.KernelHeight, s.KernelWidth, s.StrideHeight, s.StrideWidth, s.DilationHeight, s.DilationWidth, s.Padding, s.UseBias, s.Activation);
                (c, f, group) = (s.InputChannels, s.Filters, 1);
                break;
            default:
                throw new NotSupportedException($"{layer.TypeName} ({name}): unknown configuration {configuration.GetType().Name}");
        }
        int cg = c / group;
        var hwio = layer.Parameters[0].Value.Span;
        var oihw = new float[hwio.Length];
        for (int y = 0; y < kh; y++)
            for (int x = 0; x < kw; x++)
                for (int i = 0; i < cg; i++)
                    for (int o = 0; o < f; o++)
                        oihw[((o * cg + i) * kh + y) * kw + x] = hwio[((y * kw + x) * cg + i) * f + o];
        float[]? bias = useBias ? layer.Parameters[1].Value.ToArray() : null;
        bool oneD = layer.TypeName == "Conv1D";
        bool causal = oneD && (bool)layer.GetType().GetProperty("Causal")!.GetValue(layer)!;
        int[] kernel = oneD ? [kw] : [kh, kw], strides = oneD ? [sw] : [sh, sw], dilations = oneD ? [dw] : [dh, dw];
        return new ConvOp(name, inputs, c, f, group, kernel, strides, dilations, Pads(padding, causal, inSize, outSize, kernel, strides, dilations),
            ActFrom(activation), oihw, bias);
    }

    private static BatchNormOp BatchNormFrom(string name, string[] inputs, BatchNormalization bn)
    {
        int p = 0;
        float[]? gamma = bn.Scale ? bn.Parameters[p++].Value.ToArray() : null;
        float[]? beta = bn.Center ? bn.Parameters[p].Value.ToArray() : null;
        float[] mean = bn.State[0].Value.ToArray(), variance = bn.State[1].Value.ToArray();
        return new BatchNormOp(name, inputs, mean.Length, bn.Momentum, bn.Epsilon, gamma, beta, mean, variance);
    }

    private static DenseOp DenseFrom(string name, string[] inputs, Dense dense, Shape inShape)
    {
        var kernel = dense.Kernel.Value.Span; // [In, Out], rows in the input's channels-last order
        int units = dense.Units;
        var weights = new float[kernel.Length];
        if (inShape.Rank == 1)
        {
            kernel.CopyTo(weights);
        }
        else
        {
            // The Dense follows a Flatten of a (spatial..., C) activation: ConvGen's row (position, c) is the peers' row (c, position).
            int c = inShape[inShape.Rank - 1], positions = inShape.Size / c;
            for (int q = 0; q < positions; q++)
                for (int i = 0; i < c; i++)
                    kernel.Slice((q * c + i) * units, units).CopyTo(weights.AsSpan((i * positions + q) * units, units));
        }
        return new DenseOp(name, inputs, inShape.Size, units, ActFrom(dense.Activation), weights, dense.Bias?.Value.ToArray());
    }
}
