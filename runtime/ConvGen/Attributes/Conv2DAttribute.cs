using System;

namespace ConvGen;

/// <summary>
/// Turns a <c>partial class</c> into a 2-D convolution (cross-correlation) layer whose forward pass and
/// gradients are generated at build time for exactly this configuration. Activations are NHWC
/// <c>[batch, height, width, channels]</c>, weights HWIO <c>[KernelHeight, KernelWidth, InputChannels, Filters]</c>
/// (<c>InputChannels / Groups</c> with <see cref="Groups"/>), as in Keras/TensorFlow.
/// </summary>
/// <remarks>
/// <para>On its own, the attribute makes the class one layer (a <see cref="Conv2DLayer{TKernel}"/>). Stacked after an <see cref="InputAttribute"/> with other layer
/// attributes, it is one layer of a compiled network (see <see cref="InputAttribute"/>); there
/// <see cref="InputChannels"/> comes from the layer before and may be omitted.</para>
/// Setting <see cref="Stride"/> together with <see cref="StrideHeight"/> or <see cref="StrideWidth"/> (and likewise
/// for dilation) is a compile error. Every size must be at least 1.
/// </remarks>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class Conv2DAttribute : Attribute
{
    /// <summary>Declares a convolution with a <paramref name="kernelHeight"/> x <paramref name="kernelWidth"/> window.</summary>
    /// <param name="kernelHeight">Rows of the kernel window (KH), at least 1.</param>
    /// <param name="kernelWidth">Columns of the kernel window (KW), at least 1.</param>
    public Conv2DAttribute(int kernelHeight, int kernelWidth)
    {
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
    }

    /// <summary>Rows of the kernel window.</summary>
    public int KernelHeight { get; }

    /// <summary>Columns of the kernel window.</summary>
    public int KernelWidth { get; }

    /// <summary>Output channels (F). Default 1.</summary>
    public int Filters { get; set; } = 1;

    /// <summary>Input channels (C). Default 1.</summary>
    public int InputChannels { get; set; } = 1;

    /// <summary>Stride along both axes. Default 1. Do not combine with <see cref="StrideHeight"/>/<see cref="StrideWidth"/>.</summary>
    public int Stride { get; set; } = 1;

    /// <summary>Vertical stride. Default 1.</summary>
    public int StrideHeight { get; set; } = 1;

    /// <summary>Horizontal stride. Default 1.</summary>
    public int StrideWidth { get; set; } = 1;

    /// <summary>Dilation along both axes. Default 1. Do not combine with <see cref="DilationHeight"/>/<see cref="DilationWidth"/>.</summary>
    public int Dilation { get; set; } = 1;

    /// <summary>Vertical dilation (spacing between kernel rows). Default 1.</summary>
    public int DilationHeight { get; set; } = 1;

    /// <summary>Horizontal dilation (spacing between kernel columns). Default 1.</summary>
    public int DilationWidth { get; set; } = 1;

    /// <summary>Border handling. Default <see cref="ConvGen.Padding.Valid"/>.</summary>
    public Padding Padding { get; set; } = Padding.Valid;

    /// <summary>
    /// Keras' <c>groups</c>: the input channels and the filters are split into this many groups, and each filter reads only its
    /// group's channels (filter <c>f</c> the channels of group <c>f / (Filters / Groups)</c>); the weights are
    /// <c>[KernelHeight, KernelWidth, InputChannels / Groups, Filters]</c>. Default 1 (every filter reads every channel). It must
    /// divide both <see cref="InputChannels"/> and <see cref="Filters"/> (a compile error, CONVGEN044, otherwise); Groups equal to
    /// the input channels is a depthwise convolution with <c>Filters / InputChannels</c> filters per channel.
    /// </summary>
    public int Groups { get; set; } = 1;

    /// <summary>Whether the layer adds a per-filter bias. Default true.</summary>
    public bool UseBias { get; set; } = true;

    /// <summary>
    /// Keras' <c>kernel_regularizer=L2(KernelL2)</c> (default 0: none); see <see cref="Layer.KernelL2"/>. Only in a compiled
    /// network: on a standalone class set it on the layer object instead.
    /// </summary>
    public float KernelL2 { get; set; }

    /// <summary>Activation fused into the layer (not into the static kernels of a <c>[Conv2D]</c> class). Default none.</summary>
    public Activation Activation { get; set; } = Activation.None;

    /// <summary>In a compiled network: the layer's name (default Keras', <c>conv2d</c>, <c>conv2d_1</c>, ...), which other layers' <c>Input</c> and merges refer to.</summary>
    public string? Name { get; set; }

    /// <summary>In a compiled network: the name of the earlier layer (or <c>"input"</c>) whose output this layer reads instead of the previous layer's.</summary>
    public string? Input { get; set; }
}
