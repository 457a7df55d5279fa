using System;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>
/// Keras' <c>MeanSquaredError</c>: per sample (and per position of any middle axes) the mean of <c>(prediction − target)²</c>
/// over the last axis, then reduced over those per-sample losses.
/// </summary>
/// <remarks>
/// With <see cref="Reduction.Mean"/> the loss is the mean of all squared errors and the gradient <c>2(p − t) / N</c>
/// (<c>N</c> = element count); with <see cref="Reduction.Sum"/> it is their sum divided by the last-axis length
/// <c>L</c>, with gradient <c>2(p − t) / L</c>. A rank-1 prediction <c>(batch,)</c> has one value per sample (<c>L = 1</c>).
/// </remarks>
public sealed class MeanSquaredError : ILoss
{
    private float[] _scratch = [];

    /// <summary>Creates the loss with the given batch reduction (Keras' default: the mean).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public MeanSquaredError(Reduction reduction = Reduction.Mean)
    {
        LossChecks.CheckReduction(reduction);
        Reduction = reduction;
    }

    /// <inheritdoc/>
    public string Name => "mean_squared_error";

    /// <inheritdoc/>
    public Reduction Reduction { get; }

    /// <summary>The mean squared error of <paramref name="predictions"/> against <paramref name="targets"/> of the same shape.</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="targets"/> or <paramref name="gradient"/> is not shaped like the predictions.</exception>
    public float Compute(Tensor predictions, Tensor targets, Tensor? gradient = null)
    {
        LossChecks.Predictions(predictions, 1, "(batch, ...)", Name);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Shape != predictions.Shape)
            throw new ShapeMismatchException(nameof(targets), predictions.Shape.ToString(), targets.Shape.ToString(),
                $"{Name}: the targets must have the predictions' shape");
        LossChecks.Gradient(predictions, gradient, Name);

        int count = predictions.Length;
        int last = predictions.Shape.Rank >= 2 ? predictions.Shape[predictions.Shape.Rank - 1] : 1;
        double divisor = Reduction == Reduction.Mean ? count : last;
        Span<float> diff = gradient is not null ? gradient.Span : Buffers.Ensure(ref _scratch, count).AsSpan(0, count);
        TensorPrimitives.Subtract(predictions.Span, targets.Span, diff);
        double sumOfSquares = SumOfSquares(diff);
        if (gradient is not null) TensorPrimitives.Multiply(diff, (float)(2.0 / divisor), diff);
        return (float)(sumOfSquares / divisor);
    }

    /// <summary>Not supported: mean squared error needs dense targets.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public float Compute(Tensor predictions, ReadOnlySpan<int> labels, Tensor? gradient = null)
        => throw new NotSupportedException($"{Name} compares with dense targets of the predictions' shape, not integer labels; pass a target Tensor (or use SparseCategoricalCrossentropy for class labels).");

    /// <summary>Σ v², accumulated in double in fixed-size blocks so large batches do not lose precision.</summary>
    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        const int Block = 4096;
        double sum = 0;
        for (int i = 0; i < values.Length; i += Block)
            sum += TensorPrimitives.SumOfSquares(values.Slice(i, Math.Min(Block, values.Length - i)));
        return sum;
    }

    /// <inheritdoc/>
    public override string ToString() => $"MeanSquaredError({Reduction})";
}
