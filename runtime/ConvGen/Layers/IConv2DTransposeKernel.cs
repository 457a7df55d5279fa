using System;

namespace ConvGen;

/// <summary>
/// The static contract of a generated transposed convolution (Keras' <c>Conv2DTranspose</c>): its configuration and its kernels.
/// Every <c>[Conv2DTranspose]</c> class implements it, and so does the kernel class of each transposed convolution in a compiled
/// network; <see cref="Conv2DTransposeLayer{TKernel}"/> is generic over it.
/// </summary>
/// <remarks>
/// The forward pass is the input gradient of the convolution with the same weights and padding: input pixel <c>(ih, iw)</c> and tap
/// <c>(kh, kw)</c> reach output pixel <c>(ih*sh - padTop + kh*dh, iw*sw - padLeft + kw*dw)</c>, so
/// <c>output[n, oh, ow, f] = bias[f] + sum over the (ih, iw, kh, kw) that reach (oh, ow) and c of input[n, ih, iw, c] * weights[kh, kw, f, c]</c>.
/// Output sizes are Keras': <c>input * stride</c> for Same, <c>(input - 1) * stride + max((kernel - 1) * dilation + 1, stride)</c> for
/// Valid; Same crops <c>max(extent - stride, 0) / 2</c> positions before (TF's 'same' padding of that convolution on the output size).
/// Spans are NHWC for activations and <c>[KH, KW, F, C]</c> for the weights (Keras' transposed <c>kernel</c>: filters before input
/// channels); every length is checked unless the kernel has a fixed input size (a compiled network's).
/// </remarks>
public interface IConv2DTransposeKernel
{
    /// <summary>The configuration the kernels were generated for.</summary>
    static abstract Conv2DTransposeSpec Spec { get; }

    /// <summary>Output rows for <paramref name="inputHeight"/> input rows.</summary>
    /// <exception cref="ArgumentException">The height is not positive, or the output would have more than <see cref="int.MaxValue"/> rows.</exception>
    static abstract int OutputHeight(int inputHeight);

    /// <summary>Output columns for <paramref name="inputWidth"/> input columns.</summary>
    /// <exception cref="ArgumentException">The width is not positive, or the output would have more than <see cref="int.MaxValue"/> columns.</exception>
    static abstract int OutputWidth(int inputWidth);

    /// <summary>The forward pass for output rows <c>[rowStart, rowEnd)</c> of every sample (the other rows are left as they are).</summary>
    static abstract void ForwardRows(ReadOnlySpan<float> input, int batch, int height, int width,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int rowStart, int rowEnd);

    /// <summary>Adds the gradients of the forward pass with respect to the weights and the bias.</summary>
    static abstract void BackwardWeights(ReadOnlySpan<float> input, int batch, int height, int width,
        ReadOnlySpan<float> outputGradient, Span<float> weightsGradient, Span<float> biasGradient);

    /// <summary>Adds the gradient of the forward pass with respect to its input (a strided convolution of the output gradient).</summary>
    static abstract void BackwardInput(int batch, int height, int width, ReadOnlySpan<float> weights,
        ReadOnlySpan<float> outputGradient, Span<float> inputGradient);

    /// <summary>The only input height the kernels take (a compiled network's layer), or 0 for any.</summary>
    static virtual int FixedHeight => 0;

    /// <summary>The only input width the kernels take (a compiled network's layer), or 0 for any.</summary>
    static virtual int FixedWidth => 0;

    /// <summary>Whether the forward kernel applies <see cref="Conv2DTransposeSpec.Activation"/> itself (a compiled network's does for None and ReLU, and the layer applies any other; a <c>[Conv2DTranspose]</c> class's static kernels stay linear).</summary>
    static virtual bool AppliesActivation => false;
}

/// <summary>The configuration of a generated transposed convolution, as the attribute fixed it.</summary>
public readonly record struct Conv2DTransposeSpec(
    int KernelHeight, int KernelWidth, int InputChannels, int Filters,
    int StrideHeight, int StrideWidth, int DilationHeight, int DilationWidth,
    Padding Padding, bool UseBias, Activation Activation)
{
    /// <summary>Number of weights: <c>KernelHeight * KernelWidth * Filters * InputChannels</c>.</summary>
    public int WeightCount => KernelHeight * KernelWidth * Filters * InputChannels;
}
