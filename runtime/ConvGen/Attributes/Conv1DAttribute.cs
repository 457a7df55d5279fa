using System;

namespace ConvGen;

/// <summary>
/// Turns a <c>partial class</c> into a 1-D convolution (Keras' <c>Conv1D</c>) over sequences <c>(steps, channels)</c> (NWC), whose
/// kernels are generated at build time for exactly this configuration; weights <c>[KernelSize, InputChannels, Filters]</c>, as in Keras.
/// </summary>
/// <remarks>
/// On its own, the attribute makes the class one layer (a <see cref="Conv1DLayer{TKernel}"/> whose static kernels are the 2-D
/// contract of a one-row convolution: <c>Forward(input, batch, 1, steps, ...)</c>, <c>OutputWidth(steps)</c>; with
/// <see cref="Padding.Causal"/> they are the Valid kernels and the layer pads). After an <c>[Input(steps, channels)]</c>, it is one
/// layer of a compiled network, where <see cref="InputChannels"/> comes from the layer before and may be omitted.
/// </remarks>
/// <example>
/// <code>
/// [Input(28, 28)]
/// [Conv1D(5, Filters = 32, Padding = Padding.Causal, Activation = Activation.ReLU)]
/// [MaxPool1D(2)]
/// [GlobalAveragePooling1D]
/// [Dense(10)]
/// public partial class SequenceNet;
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class Conv1DAttribute : NetworkLayerAttribute
{
    /// <summary>Declares a convolution with a window of <paramref name="kernelSize"/> steps.</summary>
    /// <param name="kernelSize">Steps of the window (K), at least 1.</param>
    public Conv1DAttribute(int kernelSize) => KernelSize = kernelSize;

    /// <summary>Steps of the window.</summary>
    public int KernelSize { get; }

    /// <summary>Output channels (F). Default 1.</summary>
    public int Filters { get; set; } = 1;

    /// <summary>Input channels (C). Default 1; in a compiled network, the previous layer's.</summary>
    public int InputChannels { get; set; } = 1;

    /// <summary>Step between windows. Default 1.</summary>
    public int Stride { get; set; } = 1;

    /// <summary>Spacing of the window's taps (Keras' <c>dilation_rate</c>). Default 1.</summary>
    public int Dilation { get; set; } = 1;

    /// <summary>Valid (default), TF 'same', or <see cref="Padding.Causal"/>.</summary>
    public Padding Padding { get; set; } = Padding.Valid;

    /// <summary>Whether the layer adds a per-filter bias. Default true.</summary>
    public bool UseBias { get; set; } = true;

    /// <summary>Activation fused into the layer (not into the static kernels of a <c>[Conv1D]</c> class). Default none.</summary>
    public Activation Activation { get; set; } = Activation.None;

    /// <summary>Keras' <c>kernel_regularizer=L2(KernelL2)</c> (default 0: none); only in a compiled network.</summary>
    public float KernelL2 { get; set; }
}
