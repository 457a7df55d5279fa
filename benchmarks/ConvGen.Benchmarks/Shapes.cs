using System;
using ConvGen;

namespace ConvGen.Benchmarks;

// The three shapes of the performance issue, as generated layers (no activation: the kernels alone are measured).

/// <summary>MNIST conv1: batch 50, 28x28x1 -> 32, 5x5, same.</summary>
[Conv2D(5, 5, Filters = 32, InputChannels = 1, Padding = Padding.Same)]
public partial class Conv1Kernel;

/// <summary>MNIST conv2: batch 50, 14x14x32 -> 64, 5x5, same.</summary>
[Conv2D(5, 5, Filters = 64, InputChannels = 32, Padding = Padding.Same)]
public partial class Conv2Kernel;

/// <summary>A stride-2 layer: batch 50, 32x32x16 -> 32, 3x3, same, stride 2.</summary>
[Conv2D(3, 3, Filters = 32, InputChannels = 16, Padding = Padding.Same, Stride = 2)]
public partial class Stride2Kernel;

public delegate void ForwardKernel(ReadOnlySpan<float> x, int n, int h, int w, ReadOnlySpan<float> k, ReadOnlySpan<float> b, Span<float> y);

public delegate void WeightsKernel(ReadOnlySpan<float> x, int n, int h, int w, ReadOnlySpan<float> g, Span<float> dk, Span<float> db);

public delegate void InputKernel(int n, int h, int w, ReadOnlySpan<float> k, ReadOnlySpan<float> g, Span<float> dx);

/// <summary>A convolution shape and its generated kernels.</summary>
public sealed record ConvShape(string Name, int Batch, int H, int W, int C, int F, int K, int Stride,
    ForwardKernel Forward, WeightsKernel Weights, InputKernel Input)
{
    public int OH => (H + Stride - 1) / Stride;

    public int OW => (W + Stride - 1) / Stride;

    public int PadTop => Math.Max((OH - 1) * Stride + K - H, 0) / 2;

    public int PadLeft => Math.Max((OW - 1) * Stride + K - W, 0) / 2;

    /// <summary>2 * N * OH * OW * F * KH * KW * C: every tap counted, padding included (the convention).</summary>
    public double Flops => 2.0 * Batch * OH * OW * F * K * K * C;

    public static ConvShape Get(string name) => name switch
    {
        "conv1" => new(name, 50, 28, 28, 1, 32, 5, 1, Conv1Kernel.Forward, Conv1Kernel.BackwardWeights, Conv1Kernel.BackwardInput),
        "conv2" => new(name, 50, 14, 14, 32, 64, 5, 1, Conv2Kernel.Forward, Conv2Kernel.BackwardWeights, Conv2Kernel.BackwardInput),
        "stride2" => new(name, 50, 32, 32, 16, 32, 3, 2, Stride2Kernel.Forward, Stride2Kernel.BackwardWeights, Stride2Kernel.BackwardInput),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "conv1, conv2 or stride2"),
    };

    public override string ToString() => Name;
}
