using System;
using System.Numerics;
using System.Runtime.InteropServices;

namespace ConvGen;

/// <summary>
/// The per-element loops of <see cref="BatchNormalization"/>, vectorized over a <em>pattern</em>: the per-feature values
/// repeated to a length <c>P</c> that is a multiple of both the feature count and the vector width (their least common
/// multiple, up to 1024; otherwise the feature count itself, with a scalar tail per row). An activation slice is then a
/// run of whole patterns with every vector lane at a fixed feature, whatever the feature count (16, 24, 3 or 144 channels
/// alike), and sums are kept per pattern position, in double as before, and folded to one per feature at the end.
/// </summary>
public sealed partial class BatchNormalization
{
    private const int MaxPattern = 1024;

    /// <summary>The pattern length for <paramref name="features"/> features: <c>lcm(features, Vector&lt;float&gt;.Count)</c> if at most 1024, else <paramref name="features"/>.</summary>
    internal static int PatternLength(int features)
    {
        int w = Vector<float>.Count, a = features, b = w;
        while (b != 0) (a, b) = (b, a % b);
        long lcm = (long)features / a * w;
        return lcm <= MaxPattern ? (int)lcm : features;
    }

    /// <summary>Writes <paramref name="values"/> (one per feature) as often as it fits into <paramref name="pattern"/>.</summary>
    private static void Repeat(ReadOnlySpan<float> values, Span<float> pattern)
    {
        for (int r = 0; r < pattern.Length; r += values.Length) values.CopyTo(pattern.Slice(r, values.Length));
    }

    /// <summary><c>sums[j] = Σ_r acc[r·f + j]</c>: per-pattern-position sums to per-feature sums.</summary>
    private static void Fold(ReadOnlySpan<double> acc, Span<double> sums)
    {
        int f = sums.Length;
        acc.Slice(0, f).CopyTo(sums);
        for (int r = f; r < acc.Length; r += f)
            for (int j = 0; j < f; j++) sums[j] += acc[r + j];
    }

    /// <summary>The vectors of <paramref name="span"/> (a multiple of the vector width long, from its start).</summary>
    private static Span<Vector<T>> Vectors<T>(Span<T> span) where T : struct => MemoryMarshal.Cast<T, Vector<T>>(span);

    private static ReadOnlySpan<Vector<T>> Vectors<T>(ReadOnlySpan<T> span) where T : struct => MemoryMarshal.Cast<T, Vector<T>>(span);

    /// <summary>
    /// For every element <c>k</c> of <paramref name="x"/>: <c>acc[k % P] += x[k]</c>, and with <paramref name="mean"/> given,
    /// instead <c>acc[k % P] += (x[k] − mean[k % P])²</c> (the difference in float, its square in double, as before).
    /// </summary>
    private static void SumPerPosition(ReadOnlySpan<float> x, ReadOnlySpan<float> mean, Span<double> acc)
    {
        int p = acc.Length, w = Vector<float>.Count, vectorEnd = p - p % w, i = 0;
        bool squares = !mean.IsEmpty;
        var accVectors = Vectors(acc);
        for (; i + p <= x.Length; i += p)
        {
            var xv = Vectors(x.Slice(i, vectorEnd));
            var mv = squares ? Vectors(mean.Slice(0, vectorEnd)) : default;
            for (int v = 0; v < xv.Length; v++)
            {
                var value = squares ? xv[v] - mv[v] : xv[v];
                Vector.Widen(value, out var low, out var high);
                if (squares) (low, high) = (low * low, high * high);
                accVectors[2 * v] += low;
                accVectors[2 * v + 1] += high;
            }
            for (int k = vectorEnd; k < p; k++)
            {
                double d = squares ? x[i + k] - mean[k] : x[i + k];
                acc[k] += squares ? d * d : d;
            }
        }
        for (int k = 0; i + k < x.Length; k++)
        {
            double d = squares ? x[i + k] - mean[k] : x[i + k];
            acc[k] += squares ? d * d : d;
        }
    }

    /// <summary><c>y[k] = x[k] · factor[k % P] + offset[k % P]</c>.</summary>
    private static void ScaleShift(ReadOnlySpan<float> x, ReadOnlySpan<float> factor, ReadOnlySpan<float> offset, Span<float> y)
    {
        int p = factor.Length, w = Vector<float>.Count, vectorEnd = p - p % w, i = 0;
        var fv = Vectors(factor.Slice(0, vectorEnd));
        var ov = Vectors(offset.Slice(0, vectorEnd));
        for (; i + p <= x.Length; i += p)
        {
            var xv = Vectors(x.Slice(i, vectorEnd));
            var yv = Vectors(y.Slice(i, vectorEnd));
            for (int v = 0; v < xv.Length; v++) yv[v] = xv[v] * fv[v] + ov[v];
            for (int k = vectorEnd; k < p; k++) y[i + k] = x[i + k] * factor[k] + offset[k];
        }
        for (int k = 0; i + k < x.Length; k++) y[i + k] = x[i + k] * factor[k] + offset[k];
    }

    /// <summary>
    /// For every element: <c>sumDy[k % P] += dy[k]</c> and <c>sumDyXhat[k % P] += dy[k] · ((x[k] − mean) · inverseStd)</c>
    /// (the product in float, the sums in double).
    /// </summary>
    private static void GradientSums(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverseStd,
        Span<double> sumDy, Span<double> sumDyXhat)
    {
        int p = sumDy.Length, w = Vector<float>.Count, vectorEnd = p - p % w, i = 0;
        var mv = Vectors(mean.Slice(0, vectorEnd));
        var sv = Vectors(inverseStd.Slice(0, vectorEnd));
        var aDy = Vectors(sumDy);
        var aDyXhat = Vectors(sumDyXhat);
        for (; i + p <= x.Length; i += p)
        {
            var xv = Vectors(x.Slice(i, vectorEnd));
            var gv = Vectors(dy.Slice(i, vectorEnd));
            for (int v = 0; v < xv.Length; v++)
            {
                var g = gv[v];
                Vector.Widen(g, out var low, out var high);
                aDy[2 * v] += low;
                aDy[2 * v + 1] += high;
                Vector.Widen(g * ((xv[v] - mv[v]) * sv[v]), out low, out high);
                aDyXhat[2 * v] += low;
                aDyXhat[2 * v + 1] += high;
            }
            for (int k = vectorEnd; k < p; k++) GradientSumsAt(x, dy, mean, inverseStd, sumDy, sumDyXhat, i, k);
        }
        for (int k = 0; i + k < x.Length; k++) GradientSumsAt(x, dy, mean, inverseStd, sumDy, sumDyXhat, i, k);
    }

    private static void GradientSumsAt(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverseStd,
        Span<double> sumDy, Span<double> sumDyXhat, int i, int k)
    {
        sumDy[k] += dy[i + k];
        sumDyXhat[k] += dy[i + k] * ((x[i + k] - mean[k]) * inverseStd[k]);
    }

    /// <summary>
    /// The input gradient of a training pass, <c>dx = k · (dy − (ΣDy + x̂ · ΣDyX̂) / m)</c> with <c>x̂ = (x − mean) · inverseStd</c>,
    /// or of an inference pass, <c>dx = k · dy</c> (<paramref name="mean"/> empty); added to <paramref name="dx"/> when
    /// <paramref name="accumulate"/>. Every per-feature argument is a pattern.
    /// </summary>
    private static void InputGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> k, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> inverseStd, ReadOnlySpan<float> totalDy, ReadOnlySpan<float> totalDyXhat, float m, bool accumulate, Span<float> dx)
    {
        int p = k.Length, w = Vector<float>.Count, vectorEnd = p - p % w, i = 0;
        bool training = !mean.IsEmpty;
        var kv = Vectors(k.Slice(0, vectorEnd));
        var mv = training ? Vectors(mean.Slice(0, vectorEnd)) : default;
        var sv = training ? Vectors(inverseStd.Slice(0, vectorEnd)) : default;
        var tv = training ? Vectors(totalDy.Slice(0, vectorEnd)) : default;
        var uv = training ? Vectors(totalDyXhat.Slice(0, vectorEnd)) : default;
        var mVector = new Vector<float>(m);
        for (; i + p <= x.Length; i += p)
        {
            var xv = Vectors(x.Slice(i, vectorEnd));
            var gv = Vectors(dy.Slice(i, vectorEnd));
            var dv = Vectors(dx.Slice(i, vectorEnd));
            for (int v = 0; v < gv.Length; v++)
            {
                var g = training ? kv[v] * (gv[v] - (tv[v] + (xv[v] - mv[v]) * sv[v] * uv[v]) / mVector) : kv[v] * gv[v];
                dv[v] = accumulate ? dv[v] + g : g;
            }
            for (int j = vectorEnd; j < p; j++) InputGradientAt(x, dy, k, mean, inverseStd, totalDy, totalDyXhat, m, accumulate, dx, i, j);
        }
        for (int j = 0; i + j < x.Length; j++) InputGradientAt(x, dy, k, mean, inverseStd, totalDy, totalDyXhat, m, accumulate, dx, i, j);
    }

    private static void InputGradientAt(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> k, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> inverseStd, ReadOnlySpan<float> totalDy, ReadOnlySpan<float> totalDyXhat, float m, bool accumulate, Span<float> dx, int i, int j)
    {
        float g = !mean.IsEmpty
            ? k[j] * (dy[i + j] - (totalDy[j] + (x[i + j] - mean[j]) * inverseStd[j] * totalDyXhat[j]) / m)
            : k[j] * dy[i + j];
        dx[i + j] = accumulate ? dx[i + j] + g : g;
    }
}
