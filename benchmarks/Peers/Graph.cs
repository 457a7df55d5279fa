using System;
using System.Collections.Generic;
using System.Linq;
using ConvGen;

namespace ConvGen.Peers;

/// <summary>One layer of a ConvGen model in the peers' terms: NCHW, OIHW weights, explicit padding.</summary>
public abstract record Op(string Name, string[] Inputs);

/// <summary>A 2-D convolution. <paramref name="Weights"/> is OIHW; pads are top, left, bottom, right (TF 'same' is asymmetric).</summary>
public sealed record ConvOp(string Name, string[] Inputs, int C, int F, int KH, int KW, int SH, int SW, int[] Pads, bool Relu,
    float[] Weights, float[]? Bias) : Op(Name, Inputs);

public sealed record MaxPoolOp(string Name, string[] Inputs, int PH, int PW, int SH, int SW, int[] Pads) : Op(Name, Inputs);

/// <summary>Flatten of an NCHW tensor (C, H, W order); the Dense after it has its rows permuted to match.</summary>
public sealed record FlattenOp(string Name, string[] Inputs) : Op(Name, Inputs);

/// <summary>A dense layer. <paramref name="Weights"/> is [In, Out] (ONNX Gemm's B), rows already in NCHW flatten order.</summary>
public sealed record DenseOp(string Name, string[] Inputs, int In, int Out, bool Relu, float[] Weights, float[]? Bias) : Op(Name, Inputs);

public sealed record AddOp(string Name, string[] Inputs, bool Relu) : Op(Name, Inputs);

/// <summary>
/// A ConvGen model read as a list of operations for the peers (TorchSharp, ONNX Runtime), with ConvGen's current weights
/// converted from NHWC/HWIO to NCHW/OIHW, so that all three systems compute the same function and their outputs can be
/// compared (<see cref="Program"/>'s <c>check</c>).
/// </summary>
public sealed class Graph
{
    public required int[] InputShape { get; init; } // C, H, W

    public required IReadOnlyList<Op> Ops { get; init; }

    public required int Outputs { get; init; }

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
            Op op = layer switch
            {
                Dense dense => DenseFrom(node.Name, inputs, dense, flattened.TryGetValue(inputs[0], out var unflat) ? unflat : inShape),
                MaxPool2D pool => new MaxPoolOp(node.Name, inputs, pool.PoolHeight, pool.PoolWidth, pool.StrideHeight, pool.StrideWidth,
                    Pads(pool.Padding, inShape[0], inShape[1], node.OutputShape[0], node.OutputShape[1], pool.PoolHeight, pool.PoolWidth, pool.StrideHeight, pool.StrideWidth)),
                Flatten => new FlattenOp(node.Name, inputs),
                Add add => new AddOp(node.Name, inputs, Relu(add.Activation)),
                _ when layer.TypeName == "Conv2D" => ConvFrom(node, inputs, layer, inShape),
                _ => throw new NotSupportedException($"The peers harness does not translate {layer.TypeName} ({node.Name})."),
            };
            if (op is FlattenOp) flattened[node.Name] = inShape;
            ops.Add(op);
            shapes[node.Name] = node.OutputShape;
        }
        var s = model.InputShape;
        return new Graph { InputShape = [s[2], s[0], s[1]], Ops = ops, Outputs = model.OutputShape.Size };
    }

    private static bool Relu(Activation activation) => activation switch
    {
        Activation.None => false,
        Activation.ReLU => true,
        _ => throw new NotSupportedException($"Activation {activation} is not translated by the peers harness."),
    };

    private static int[] Pads(Padding padding, int h, int w, int oh, int ow, int kh, int kw, int sh, int sw)
    {
        if (padding == Padding.Valid) return [0, 0, 0, 0];
        int ph = Math.Max((oh - 1) * sh + kh - h, 0), pw = Math.Max((ow - 1) * sw + kw - w, 0);
        return [ph / 2, pw / 2, ph - ph / 2, pw - pw / 2];
    }

    private static ConvOp ConvFrom(ModelNode node, string[] inputs, Layer layer, Shape inShape)
    {
        var spec = (Conv2DSpec)layer.GetType().GetProperty("Configuration")!.GetValue(layer)!;
        if (spec.DilationHeight != 1 || spec.DilationWidth != 1) throw new NotSupportedException("dilated convolutions");
        int kh = spec.KernelHeight, kw = spec.KernelWidth, c = spec.InputChannels, f = spec.Filters;
        var hwio = layer.Parameters[0].Value.Span;
        var oihw = new float[hwio.Length];
        for (int y = 0; y < kh; y++)
            for (int x = 0; x < kw; x++)
                for (int i = 0; i < c; i++)
                    for (int o = 0; o < f; o++)
                        oihw[((o * c + i) * kh + y) * kw + x] = hwio[((y * kw + x) * c + i) * f + o];
        float[]? bias = spec.UseBias ? layer.Parameters[1].Value.ToArray() : null;
        var pads = Pads(spec.Padding, inShape[0], inShape[1], node.OutputShape[0], node.OutputShape[1], kh, kw, spec.StrideHeight, spec.StrideWidth);
        return new ConvOp(node.Name, inputs, c, f, kh, kw, spec.StrideHeight, spec.StrideWidth, pads, Relu(spec.Activation), oihw, bias);
    }

    private static DenseOp DenseFrom(string name, string[] inputs, Dense dense, Shape inShape)
    {
        var kernel = dense.Kernel.Value.Span; // [In, Out], rows in the input's NHWC order
        int inputs0 = inShape.Size, units = dense.Units;
        var weights = new float[kernel.Length];
        if (inShape.Rank == 1)
        {
            kernel.CopyTo(weights);
        }
        else
        {
            // The Dense follows a Flatten of an H x W x C activation: ConvGen's row (h, w, c) is the peers' row (c, h, w).
            int h = inShape[0], w = inShape[1], c = inShape[2];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int i = 0; i < c; i++)
                        kernel.Slice(((y * w + x) * c + i) * units, units).CopyTo(weights.AsSpan(((i * h + y) * w + x) * units, units));
        }
        return new DenseOp(name, inputs, inputs0, units, Relu(dense.Activation), weights, dense.Bias?.Value.ToArray());
    }

    /// <summary>An NHWC batch as NCHW.</summary>
    public static float[] ToNchw(ReadOnlySpan<float> nhwc, int n, int h, int w, int c)
    {
        var result = new float[nhwc.Length];
        for (int b = 0; b < n; b++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int i = 0; i < c; i++)
                        result[((b * c + i) * h + y) * w + x] = nhwc[((b * h + y) * w + x) * c + i];
        return result;
    }
}
