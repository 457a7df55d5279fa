using System;

namespace ConvGen;

/// <summary>
/// Turns a <c>partial class</c> into a transposed 2-D convolution (Keras' <c>Conv2DTranspose</c>, sometimes called a deconvolution)
/// whose forward pass and gradients are generated at build time for exactly this configuration: the input gradient of the
/// convolution with the same kernel and padding, which upsamples by the stride. Activations are NHWC; weights
/// <c>[KernelHeight, KernelWidth, Filters, InputChannels]</c> (Keras' layout for a transposed kernel: filters before input channels).
/// </summary>
/// <remarks>
/// <para>Output size, as Keras computes it: <c>input * stride</c> with <see cref="ConvGen.Padding.Same"/>, and
/// <c>(input - 1) * stride + max((kernel - 1) * dilation + 1, stride)</c> with <see cref="ConvGen.Padding.Valid"/>. Input pixel
/// <c>(ih, iw)</c> and tap <c>(kh, kw)</c> reach output pixel <c>(ih * StrideHeight - padTop + kh * DilationHeight, ...)</c>; Same crops
/// <c>padTop = max(extent - stride, 0) / 2</c> rows (the smaller half, as TF's 'same' padding of that convolution).</para>
/// <para>On its own, the attribute makes the class one layer (a <see cref="Conv2DTransposeLayer{TKernel}"/>). Stacked after an
/// <see cref="InputAttribute"/>, it is one layer of a compiled network, where <see cref="InputChannels"/> comes from the layer before
/// and may be omitted. As in Keras, a stride above 1 together with a dilation above 1 is a compile error, and every size must be at
/// least 1.</para>
/// </remarks>
/// <example>
/// <code>
/// [Input(28, 28, 1)]
/// [Conv2D(3, 3, Filters = 16, Stride = 2, Padding = Padding.Same, Activation = Activation.ReLU, Name = "down")]
/// [Conv2DTranspose(3, 3, Filters = 16, Stride = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
/// ...
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class Conv2DTransposeAttribute : NetworkLayerAttribute
{
    /// <summary>Declares a transposed convolution with a <paramref name="kernelHeight"/> x <paramref name="kernelWidth"/> window.</summary>
    /// <param name="kernelHeight">Rows of the kernel window (KH), at least 1.</param>
    /// <param name="kernelWidth">Columns of the kernel window (KW), at least 1.</param>
    public Conv2DTransposeAttribute(int kernelHeight, int kernelWidth)
    {
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
    }

    /// <summary>Rows of the kernel window.</summary>
    public int KernelHeight { get; }

    /// <summary>Columns of the kernel window.</summary>
    public int KernelWidth { get; }

    /// <summary>Output channels (F; Keras' <c>filters</c>). Default 1.</summary>
    public int Filters { get; set; } = 1;

    /// <summary>Input channels (C). Default 1; in a compiled network, the previous layer's.</summary>
    public int InputChannels { get; set; } = 1;

    /// <summary>Stride along both axes (the upsampling factor; sets <see cref="StrideHeight"/> and <see cref="StrideWidth"/>). Default 1.</summary>
    public int Stride { get; set; } = 1;

    /// <summary>Vertical stride. Default 1.</summary>
    public int StrideHeight { get; set; } = 1;

    /// <summary>Horizontal stride. Default 1.</summary>
    public int StrideWidth { get; set; } = 1;

    /// <summary>Dilation along both axes (Keras' <c>dilation_rate</c>); above 1 only with a stride of 1, as in Keras. Default 1.</summary>
    public int Dilation { get; set; } = 1;

    /// <summary>Vertical dilation. Default 1.</summary>
    public int DilationHeight { get; set; } = 1;

    /// <summary>Horizontal dilation. Default 1.</summary>
    public int DilationWidth { get; set; } = 1;

    /// <summary>Border handling, which sets the output size (see the remarks). Default <see cref="ConvGen.Padding.Valid"/>.</summary>
    public Padding Padding { get; set; } = Padding.Valid;

    /// <summary>Whether the layer adds a per-filter bias. Default true.</summary>
    public bool UseBias { get; set; } = true;

    /// <summary>
    /// Keras' <c>kernel_regularizer=L2(KernelL2)</c> (default 0: none); see <see cref="Layer.KernelL2"/>. Only in a compiled
    /// network: on a standalone class set it on the layer object instead.
    /// </summary>
    public float KernelL2 { get; set; }

    /// <summary>Activation fused into the layer (not into the static kernels of a <c>[Conv2DTranspose]</c> class). Default none.</summary>
    public Activation Activation { get; set; } = Activation.None;
}
