using System;
using System.Globalization;

namespace ConvGen.Testing;

/// <summary>How close a float32 kernel result must be to the double-precision <see cref="ReferenceConv"/>.</summary>
public static class ReferenceComparison
{
    /// <summary>
    /// Float32 sums of <paramref name="terms"/> products of values in [-1, 1] against a double reference: the tolerance
    /// grows with the number of terms (rounding error of a float sum); it is applied relative to the value's magnitude.
    /// </summary>
    public static double Tolerance(int terms) => 2e-7 * terms + 1e-5;

    /// <summary>The first element of <paramref name="actual"/> outside the tolerance, described; null when every element is within it.</summary>
    public static string? FirstMismatch(float[] expected, float[] actual, int terms)
    {
        if (expected.Length != actual.Length) return $"{actual.Length} elements, reference {expected.Length}";
        double tolerance = Tolerance(terms);
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(expected[i] - (double)actual[i]);
            if (!(diff <= tolerance * (1 + Math.Abs(expected[i]))))
                return string.Create(CultureInfo.InvariantCulture, $"element {i} is {actual[i]}, reference {expected[i]} (|diff| {diff:E2} > {tolerance:E2})");
        }
        return null;
    }
}
