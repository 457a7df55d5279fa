using System;
using System.ComponentModel;
using System.Numerics;
using System.Numerics.Tensors;

namespace ConvGen.Internal;

/// <summary>
/// Dense-layer and element-wise kernels that generated networks call with their compile-time sizes. Each works on a
/// range of rows or columns so a network can split a layer between threads; the results do not depend on the split
/// (see <c>Gemm</c>: every output element receives its products in the same order whatever the blocking).
/// Sizes are trusted: the generated caller passes spans it sliced to exactly these sizes.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class NetworkKernels
{
    /// <summary>
    /// Columns <c>[j0, j1)</c> of <c>y[rows, units] = x[rows, inputs] · w[inputs, units] + b</c>, then ReLU when
    /// <paramref name="relu"/>; <paramref name="b"/> is empty without bias.
    /// </summary>
    public static void DenseForward(ReadOnlySpan<float> x, int rows, int inputs, int units, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y, int j0, int j1, bool relu)
    {
        int width = j1 - j0;
        if (width <= 0 || rows == 0) return;
        for (int r = 0; r < rows; r++)
        {
            var row = y.Slice(r * units + j0, width);
            if (b.IsEmpty) row.Clear();
            else b.Slice(j0, width).CopyTo(row);
        }
        Gemm.AddAB(rows, width, inputs, x, inputs, w.Slice(j0), units, y.Slice(j0), units);
        if (!relu) return;
        for (int r = 0; r < rows; r++)
        {
            var row = y.Slice(r * units + j0, width);
            TensorPrimitives.Max(row, 0f, row);
        }
    }

    /// <summary>Rows <c>[i0, i1)</c> of <c>dw[inputs, units] += x[rows, inputs]ᵀ · dy[rows, units]</c>.</summary>
    public static void DenseWeightGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int rows, int inputs, int units, Span<float> dw, int i0, int i1)
    {
        if (i1 <= i0 || rows == 0) return;
        Gemm.AddAtB(i1 - i0, units, rows, x.Slice(i0), inputs, dy, units, dw.Slice(i0 * units), units);
    }

    /// <summary>Columns <c>[j0, j1)</c> of <c>db[units] += sum over rows of dy[rows, units]</c>, row by row in order.</summary>
    public static void DenseBiasGradient(ReadOnlySpan<float> dy, int rows, int units, Span<float> db, int j0, int j1)
    {
        if (j1 <= j0) return;
        var target = db.Slice(j0, j1 - j0);
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(target, dy.Slice(r * units + j0, j1 - j0), target);
    }

    /// <summary><c>dx[rows, inputs] = dy[rows, units] · w[inputs, units]ᵀ</c> (overwrites <paramref name="dx"/>).</summary>
    public static void DenseInputGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, int rows, int inputs, int units, Span<float> dx)
    {
        if (rows == 0) return;
        dx.Slice(0, rows * inputs).Clear();
        Gemm.AddABt(rows, inputs, units, dy, units, w, units, dx, inputs);
    }

    /// <summary>The ReLU's backward folded in place: <c>gradient[i] = activation[i] &gt; 0 ? gradient[i] : 0</c>.</summary>
    public static void ReluMask(ReadOnlySpan<float> activation, Span<float> gradient)
    {
        int vc = Vector<float>.Count, i = 0;
        for (; i + vc <= gradient.Length; i += vc)
        {
            var keep = Vector.GreaterThan(new Vector<float>(activation.Slice(i, vc)), Vector<float>.Zero);
            Vector.ConditionalSelect(keep, new Vector<float>(gradient.Slice(i, vc)), Vector<float>.Zero).CopyTo(gradient.Slice(i, vc));
        }
        for (; i < gradient.Length; i++)
            if (!(activation[i] > 0f)) gradient[i] = 0f;
    }

    /// <summary><c>y += x</c>, for summing per-thread gradient scratch into the gradients.</summary>
    public static void Add(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Add(y, x, y);

    /// <summary>
    /// Piece <paramref name="part"/> of <paramref name="parts"/> of <c>[0, count)</c>, with every boundary a multiple of
    /// <paramref name="grain"/> (except the end), so pieces of a row stay whole vectors.
    /// </summary>
    public static (int Start, int End) Split(int count, int parts, int part, int grain)
    {
        int units = (count + grain - 1) / grain;
        var (s, e) = Parallelism.ChunkRange(units, parts, part);
        return (Math.Min(count, s * grain), Math.Min(count, e * grain));
    }
}
