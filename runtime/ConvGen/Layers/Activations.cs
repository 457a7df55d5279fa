using System;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>Element-wise activation kernels shared by layers.</summary>
internal static class Activations
{
    public static void ReluInPlace(Span<float> values) => TensorPrimitives.Max(values, 0f, values);

    /// <summary><c>dx = dy where y &gt; 0, else 0</c>.</summary>
    public static void ReluBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        for (int i = 0; i < output.Length; i++) dInput[i] = output[i] > 0f ? dOutput[i] : 0f;
    }
}
