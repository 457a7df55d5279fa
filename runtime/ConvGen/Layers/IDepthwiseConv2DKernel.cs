using System;

namespace ConvGen;

/// <summary>
/// The static contract of a generated depthwise convolution (Keras' <c>DepthwiseConv2D</c>): its configuration and its kernels.
/// Every <c>[DepthwiseConv2D]</c> class implements it, and so does the kernel class of each depthwise convolution in a compiled
/// network; <see cref="DepthwiseConv2DLayer{TKernel}"/> is generic over it.
/// </summary>
/// <remarks>
/// Input channel <c>c</c> is convolved with its own <c>DepthMultiplier</c> filters: output channel <c>c * M + m</c> is
/// <c>bias[c * M + m] + sum over kh, kw of input[n, oh*sh - padTop + kh*dh, ow*sw - padLeft + kw*dw, c] * weights[kh, kw, c, m]</c>,
/// taps outside the input counting as zero. Spans are NHWC for activations and <c>[KH, KW, C, M]</c> for the weights (Keras'
/// <c>depthwise_kernel</c>); every length is checked unless the kernel has a fixed input size (a compiled network's).
/// </remarks>
public interface IDepthwiseConv2DKernel
{
    /// <summary>The configuration the kernels were generated for.</summary>
    static abstract DepthwiseConv2DSpec Spec { get; }

    /// <summary>Output rows for <paramref name="inputHeight"/> input rows.</summary>
    /// <exception cref="ArgumentException">The height is not positive, or (Valid) smaller than the dilated kernel.</exception>
    static abstract int OutputHeight(int inputHeight);

    /// <summary>Output columns for <paramref name="inputWidth"/> input columns.</summary>
    /// <exception cref="ArgumentException">The width is not positive, or (Valid) smaller than the dilated kernel.</exception>
    static abstract int OutputWidth(int inputWidth);

    /// <summary>The forward pass for output rows <c>[rowStart, rowEnd)</c> of every sample (the other rows are left as they are).</summary>
    static abstract void ForwardRows(ReadOnlySpan<float> input, int batch, int height, int width,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int rowStart, int rowEnd);

    /// <summary>Adds the gradients of the forward pass with respect to the weights and the bias.</summary>
    static abstract void BackwardWeights(ReadOnlySpan<float> input, int batch, int height, int width,
        ReadOnlySpan<float> outputGradient, Span<float> weightsGradient, Span<float> biasGradient);

    /// <summary>Adds the gradient of the forward pass with respect to its input.</summary>
    static abstract void BackwardInput(int batch, int height, int width, ReadOnlySpan<float> weights,
        ReadOnlySpan<float> outputGradient, Span<float> inputGradient);

    /// <summary>The only input height the kernels take (a compiled network's layer), or 0 for any.</summary>
    static virtual int FixedHeight => 0;

    /// <summary>The only input width the kernels take (a compiled network's layer), or 0 for any.</summary>
    static virtual int FixedWidth => 0;

    /// <summary>Whether the forward kernel applies <see cref="DepthwiseConv2DSpec.Activation"/> itself (a compiled network's does for None and ReLU, and the layer applies any other; a <c>[DepthwiseConv2D]</c> class's static kernels stay linear).</summary>
    static virtual bool AppliesActivation => false;

    /// <summary>
    /// <see cref="ForwardRows"/> with <paramref name="activation"/> applied to each output as it is stored (a ReLU or ReLU6 layer
    /// folded into the layer with a BatchNormalization, in inference): true; false, with nothing written, where the kernel has no
    /// such path (the layer then applies the activation itself).
    /// </summary>
    static virtual bool ForwardRowsActivated(ReadOnlySpan<float> input, int batch, int height, int width,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int rowStart, int rowEnd, Activation activation) => false;
}

/// <summary>The configuration of a generated depthwise convolution, as the attribute fixed it.</summary>
public readonly record struct DepthwiseConv2DSpec(
    int KernelHeight, int KernelWidth, int InputChannels, int DepthMultiplier,
    int StrideHeight, int StrideWidth, int DilationHeight, int DilationWidth,
    Padding Padding, bool UseBias, Activation Activation)
{
    /// <summary>Output channels: <c>InputChannels * DepthMultiplier</c>.</summary>
    public int OutputChannels => InputChannels * DepthMultiplier;

    /// <summary>Number of weights: <c>KernelHeight * KernelWidth * InputChannels * DepthMultiplier</c>.</summary>
    public int WeightCount => KernelHeight * KernelWidth * InputChannels * DepthMultiplier;
}
