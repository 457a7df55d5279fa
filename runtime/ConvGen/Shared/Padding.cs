// This file is compiled into both the runtime (ConvGen), where it is public, and the generator (ConvGen.Generator, netstandard2.0),
// where it is internal (a test project references both).
namespace ConvGen;

/// <summary>How a convolution or pooling window treats the borders of its input (Keras' <c>padding</c>).</summary>
#if CONVGEN_GENERATOR
internal
#else
public
#endif
enum Padding
{
    /// <summary>No padding: the window stays inside the input; <c>out = floor((in - ((k - 1) * d + 1)) / s) + 1</c>.</summary>
    Valid = 0,

    /// <summary>
    /// TensorFlow's 'same': <c>out = ceil(in / s)</c>; the total padding
    /// <c>max((out - 1) * s + (k - 1) * d + 1 - in, 0)</c> is split with the smaller half at the top/left
    /// and the extra row or column at the bottom/right.
    /// </summary>
    Same = 1,

    /// <summary>
    /// Keras' 'causal', for 1-D convolutions only (<c>[Conv1D]</c>): <c>(k - 1) * d</c> zero steps before the sequence and none after,
    /// so <c>out = ceil(in / s)</c> and output step <c>t</c> reads no input after step <c>t * s</c>. Every other layer refuses it.
    /// </summary>
    Causal = 2,
}
