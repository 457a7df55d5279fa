using System;
using System.Collections.Generic;
using System.ComponentModel;

namespace ConvGen;

/// <summary>One parameter of a compiled network's layer: its name (<c>kernel</c>, <c>bias</c>), shape and offset in the parameter buffer.</summary>
/// <param name="Name">The parameter's name within its layer.</param>
/// <param name="Shape">The parameter's shape, e.g. HWIO <c>[KH, KW, C, F]</c> for a convolution kernel.</param>
/// <param name="Offset">Where the parameter starts in <see cref="CompiledNetwork.ParameterBuffer"/>.</param>
public readonly record struct NetworkParameter(string Name, Shape Shape, int Offset);

/// <summary>One layer of a compiled network as the generator planned it.</summary>
/// <param name="Name">The Keras-style unique name (<c>conv2d</c>, <c>conv2d_1</c>, <c>dense</c>, ...), the same a <see cref="Sequential"/> of the same layers gives.</param>
/// <param name="TypeName">The layer type (<c>Conv2D</c>, <c>MaxPool2D</c>, <c>Flatten</c>, <c>Dense</c>).</param>
/// <param name="OutputShape">The output shape of one sample.</param>
/// <param name="FanIn">Inputs per output unit, for the kernel's Glorot initialization (0 without parameters).</param>
/// <param name="FanOut">Outputs per input unit, for the kernel's Glorot initialization (0 without parameters).</param>
/// <param name="Parameters">Kernel, then bias when present.</param>
public sealed record NetworkLayer(string Name, string TypeName, Shape OutputShape, int FanIn, int FanOut, params NetworkParameter[] Parameters);

/// <summary>
/// The plan a generated network hands its base class: shapes, parameter offsets, and the per-sample sizes of the activation
/// buffers (allocated once, for the maximum batch). Generated code builds it; users read it through <see cref="CompiledNetwork"/>.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class NetworkLayout
{
    /// <summary>Creates the plan.</summary>
    /// <param name="inputShape">One input sample.</param>
    /// <param name="layers">The layers in order.</param>
    /// <param name="parameterCount">Total parameters.</param>
    /// <param name="bufferSizes">Per-sample sizes of activation buffers 1..n (buffer 0 is the caller's input); each also gets a gradient buffer.</param>
    /// <param name="scratchSize">Per-thread scratch for gradients that threads accumulate separately (convolution weights).</param>
    public NetworkLayout(Shape inputShape, IReadOnlyList<NetworkLayer> layers, int parameterCount, int[] bufferSizes, int scratchSize)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(bufferSizes);
        InputShape = inputShape;
        Layers = layers;
        ParameterCount = parameterCount;
        BufferSizes = bufferSizes;
        ScratchSize = scratchSize;
    }

    /// <summary>One input sample.</summary>
    public Shape InputShape { get; }

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<NetworkLayer> Layers { get; }

    /// <summary>Total parameters.</summary>
    public int ParameterCount { get; }

    /// <summary>Per-sample sizes of the activation buffers after the input.</summary>
    public IReadOnlyList<int> BufferSizes { get; }

    /// <summary>Per-thread gradient scratch size.</summary>
    public int ScratchSize { get; }
}
