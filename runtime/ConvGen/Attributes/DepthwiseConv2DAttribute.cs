using System;

namespace ConvGen;

/// <summary>
/// Turns a <c>partial class</c> into a depthwise 2-D convolution (Keras' <c>DepthwiseConv2D</c>) whose forward pass and gradients are
/// generated at build time for exactly this configuration: each input channel is cross-correlated with its own
/// <see cref="DepthMultiplier"/> filters. Activations are NHWC; weights <c>[KernelHeight, KernelWidth, InputChannels, DepthMultiplier]</c>
/// (Keras' <c>depthwise_kernel</c>); output channel <c>c * DepthMultiplier + m</c> comes from input channel <c>c</c> and filter <c>m</c>.
/// </summary>
/// <remarks>
/// On its own, the attribute makes the class one layer (a <see cref="DepthwiseConv2DLayer{TKernel}"/>). Stacked after an
/// <see cref="InputAttribute"/>, it is one layer of a compiled network, where <see cref="InputChannels"/> comes from the layer before
/// and may be omitted. As for <see cref="Conv2DAttribute"/>, setting <see cref="Stride"/> together with a per-axis stride (or
/// dilation) is a compile error, and every size must be at least 1.
/// </remarks>
/// <example>
/// <code>
/// [Input(28, 28, 16)]
/// [DepthwiseConv2D(3, 3, Stride = 2, Padding = Padding.Same)]
/// [BatchNormalization]
/// [ReLU6]
/// ...
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DepthwiseConv2DAttribute : NetworkLayerAttribute
{
    /// <summary>Declares a depthwise convolution with a <paramref name="kernelHeight"/> x <paramref name="kernelWidth"/> window.</summary>
    /// <param name="kernelHeight">Rows of the kernel window (KH), at least 1.</param>
    /// <param name="kernelWidth">Columns of the kernel window (KW), at least 1.</param>
    public DepthwiseConv2DAttribute(int kernelHeight, int kernelWidth)
    {
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
    }

    /// <summary>Rows of the kernel window.</summary>
    public int KernelHeight { get; }

    /// <summary>Columns of the kernel window.</summary>
    public int KernelWidth { get; }

    /// <summary>Filters per input channel (M; Keras' <c>depth_multiplier</c>): the layer has <c>InputChannels * DepthMultiplier</c> output channels. Default 1.</summary>
    public int DepthMultiplier { get; set; } = 1;

    /// <summary>Input channels (C). Default 1; in a compiled network, the previous layer's.</summary>
    public int InputChannels { get; set; } = 1;

    /// <summary>Stride along both axes (sets <see cref="StrideHeight"/> and <see cref="StrideWidth"/>). Default 1.</summary>
    public int Stride { get; set; } = 1;

    /// <summary>Vertical stride. Default 1.</summary>
    public int StrideHeight { get; set; } = 1;

    /// <summary>Horizontal stride. Default 1.</summary>
    public int StrideWidth { get; set; } = 1;

    /// <summary>Dilation along both axes (Keras' <c>dilation_rate</c>). Default 1.</summary>
    public int Dilation { get; set; } = 1;

    /// <summary>Vertical dilation. Default 1.</summary>
    public int DilationHeight { get; set; } = 1;

    /// <summary>Horizontal dilation. Default 1.</summary>
    public int DilationWidth { get; set; } = 1;

    /// <summary>Border handling. Default <see cref="ConvGen.Padding.Valid"/>.</summary>
    public Padding Padding { get; set; } = Padding.Valid;

    /// <summary>Whether the layer adds a per-output-channel bias. Default true.</summary>
    public bool UseBias { get; set; } = true;

    /// <summary>Activation fused into the layer (not into the static kernels of a <c>[DepthwiseConv2D]</c> class). Default none.</summary>
    public Activation Activation { get; set; } = Activation.None;
}
