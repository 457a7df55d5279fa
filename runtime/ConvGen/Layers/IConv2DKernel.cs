using System;

namespace ConvGen;

/// <summary>
/// The static contract of a generated convolution: its configuration and its kernels. Every <c>[Conv2D]</c> class implements
/// it, and so does the kernel class of each convolution in a compiled network. <see cref="Conv2DLayer{TKernel}"/> is generic over
/// it, so it calls the generated kernels directly, without delegates.
/// </summary>
/// <remarks>
/// The kernels run at the vector width <c>ConvGen.Internal.Simd.Lanes</c> picks (512-bit where AVX-512 is accelerated). Spans are
/// NHWC for activations and HWIO <c>[KH, KW, C, F]</c> for weights (<c>[KH, KW, C/G, F]</c> with <see cref="Conv2DSpec.Groups"/>);
/// every length is checked unless the kernel has a fixed input size (a compiled network's, whose caller sliced every span).
/// </remarks>
public interface IConv2DKernel
{
    /// <summary>The configuration the kernels were generated for.</summary>
    static abstract Conv2DSpec Spec { get; }

    /// <summary>Output rows for <paramref name="inputHeight"/> input rows.</summary>
    /// <exception cref="ArgumentException">The height is not positive, or (Valid) smaller than the dilated kernel.</exception>
    static abstract int OutputHeight(int inputHeight);

    /// <summary>Output columns for <paramref name="inputWidth"/> input columns.</summary>
    /// <exception cref="ArgumentException">The width is not positive, or (Valid) smaller than the dilated kernel.</exception>
    static abstract int OutputWidth(int inputWidth);

    /// <summary>
    /// <c>output[n, oh, ow, f] = bias[f] + sum over kh, kw, c of input[n, oh*sh - padTop + kh*dh, ow*sw - padLeft + kw*dw, c] * weights[kh, kw, c, f]</c>,
    /// taps outside the input counting as zero. The output is overwritten.
    /// </summary>
    static abstract void Forward(ReadOnlySpan<float> input, int batch, int height, int width,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output);

    /// <summary>
    /// <see cref="Forward"/> for output rows <c>[rowStart, rowEnd)</c> of every sample only (the other rows are left as they are), so
    /// that threads can split one sample between them.
    /// </summary>
    static abstract void ForwardRows(ReadOnlySpan<float> input, int batch, int height, int width,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int rowStart, int rowEnd);

    /// <summary>
    /// <see cref="ForwardRows"/> with <paramref name="activation"/> applied to each output as it is stored (a ReLU or ReLU6 layer
    /// folded into the layer with a BatchNormalization, in inference): true; false, with nothing written, where the kernel has no
    /// such path (the layer then applies the activation itself).
    /// </summary>
    static virtual bool ForwardRowsActivated(ReadOnlySpan<float> input, int batch, int height, int width,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int rowStart, int rowEnd, Activation activation) => false;

    /// <summary>
    /// <see cref="ForwardRows"/> with <paramref name="residual"/> (laid out as the output) added to each output, then
    /// <paramref name="activation"/> applied, as it is stored (a residual <see cref="Add"/> folded into the layer with a
    /// BatchNormalization, in inference): true; false, with nothing written, where the kernel has no such path (the layer then
    /// adds the residual itself).
    /// </summary>
    static virtual bool ForwardRowsResidual(ReadOnlySpan<float> input, int batch, int height, int width, ReadOnlySpan<float> weights,
        ReadOnlySpan<float> bias, ReadOnlySpan<float> residual, Span<float> output, int rowStart, int rowEnd, Activation activation) => false;

    /// <summary>Adds the gradients of <see cref="Forward"/> with respect to the weights and the bias.</summary>
    static abstract void BackwardWeights(ReadOnlySpan<float> input, int batch, int height, int width,
        ReadOnlySpan<float> outputGradient, Span<float> weightsGradient, Span<float> biasGradient);

    /// <summary>Adds the gradient of <see cref="Forward"/> with respect to its input.</summary>
    static abstract void BackwardInput(int batch, int height, int width, ReadOnlySpan<float> weights,
        ReadOnlySpan<float> outputGradient, Span<float> inputGradient);

    /// <summary>The only input height the kernels take (a compiled network's layer), or 0 for any.</summary>
    static virtual int FixedHeight => 0;

    /// <summary>The only input width the kernels take (a compiled network's layer), or 0 for any.</summary>
    static virtual int FixedWidth => 0;

    /// <summary>Whether <see cref="Forward"/> applies <see cref="Conv2DSpec.Activation"/> itself (a compiled network's kernels do for None and ReLU, and the layer applies any other; a <c>[Conv2D]</c> class's static kernels stay linear).</summary>
    static virtual bool AppliesActivation => false;

    /// <summary>Whether <see cref="ForwardPooled"/> exists: the forward pass fused with a 2x2, stride-2 max pool after it.</summary>
    static virtual bool HasPooledForward => false;

    /// <summary>
    /// The forward pass (with its activation) and the next layer's 2x2, stride-2 max pool in one pass: <paramref name="pooled"/>
    /// receives the pool's output, and <paramref name="output"/>, unless empty, the convolution's own; only pooled rows
    /// <c>[rowStart, rowEnd)</c> of every sample (and the output rows under them), so that threads can split one sample.
    /// </summary>
    /// <exception cref="NotSupportedException">The kernel has no pooled forward (<see cref="HasPooledForward"/> is false).</exception>
    static virtual void ForwardPooled(ReadOnlySpan<float> input, int batch, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias,
        Span<float> output, Span<float> pooled, int rowStart, int rowEnd) => throw new NotSupportedException("This convolution has no pooled forward kernel.");
}

/// <summary>
/// The configuration of a generated convolution, as the attribute fixed it. <c>Groups</c> is Keras' <c>groups</c>: the input
/// channels and the filters split into this many groups, filter <c>f</c> reading only the <c>InputChannels / Groups</c> channels of
/// group <c>f / (Filters / Groups)</c>; 1 (the default) is an ordinary convolution.
/// </summary>
public readonly record struct Conv2DSpec(
    int KernelHeight, int KernelWidth, int InputChannels, int Filters,
    int StrideHeight, int StrideWidth, int DilationHeight, int DilationWidth,
    Padding Padding, bool UseBias, Activation Activation, int Groups = 1)
{
    /// <summary>Input channels each filter reads: <c>InputChannels / Groups</c> (all of them without groups).</summary>
    public int GroupChannels => InputChannels / Groups;

    /// <summary>Number of weights: <c>KernelHeight * KernelWidth * (InputChannels / Groups) * Filters</c>.</summary>
    public int WeightCount => KernelHeight * KernelWidth * GroupChannels * Filters;
}
