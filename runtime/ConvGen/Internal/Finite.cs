using System;
using System.Numerics.Tensors;

namespace ConvGen.Internal;

/// <summary>Whether values are finite, in one vectorized pass.</summary>
internal static class Finite
{
    /// <summary>Whether no value is infinite or NaN: the largest magnitude is NaN if any value is, infinite if any value is.</summary>
    public static bool All(ReadOnlySpan<float> values) => values.IsEmpty || float.IsFinite(TensorPrimitives.MaxMagnitude(values));
}
