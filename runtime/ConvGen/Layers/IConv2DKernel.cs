using System;

namespace ConvGen;

/// <summary>
/// The static contract every <c>[Conv2D]</c> class gets from the generator: its configuration and its specialized
/// kernels. Runtime code such as <see cref="Conv2DLayerCore{TKernel}"/> is generic over it, so it calls the
/// generated kernels directly, without delegates.
/// </summary>
public interface IConv2DKernel
{
    /// <summary>The configuration the kernels were generated for.</summary>
    static abstract Conv2DSpec Spec { get; }

    /// <summary>Output rows for <paramref name="inputHeight"/> input rows.</summary>
    static abstract int OutputHeight(int inputHeight);

    /// <summary>Output columns for <paramref name="inputWidth"/> input columns.</summary>
    static abstract int OutputWidth(int inputWidth);

    /// <summary>
    /// <c>output[n, oh, ow, f] = bias[f] + sum over kh, kw, c of input[n, oh*sh - padTop + kh*dh, ow*sw - padLeft + kw*dw, c] * weights[kh, kw, c, f]</c>,
    /// taps outside the input counting as zero. The output is overwritten.
    /// </summary>
    static abstract void Forward(ReadOnlySpan<float> input, int batch, int height, int width,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output);

    /// <summary>
    /// Adds the gradients of <see cref="Forward"/> with respect to its input, weights and bias, given the gradient of its
    /// output, into <paramref name="inputGradient"/>, <paramref name="weightsGradient"/> and <paramref name="biasGradient"/>.
    /// An empty <paramref name="inputGradient"/> skips the input gradient.
    /// </summary>
    static abstract void Backward(ReadOnlySpan<float> input, int batch, int height, int width,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> outputGradient,
        Span<float> inputGradient, Span<float> weightsGradient, Span<float> biasGradient);
}

/// <summary>The configuration of a generated convolution, as the attribute fixed it.</summary>
public readonly record struct Conv2DSpec(
    int KernelHeight, int KernelWidth, int InputChannels, int Filters,
    int StrideHeight, int StrideWidth, int DilationHeight, int DilationWidth,
    Padding Padding, bool UseBias, Activation Activation)
{
    /// <summary>Number of weights: <c>KernelHeight * KernelWidth * InputChannels * Filters</c>.</summary>
    public int WeightCount => KernelHeight * KernelWidth * InputChannels * Filters;
}
