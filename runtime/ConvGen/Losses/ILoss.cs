using System;

namespace ConvGen;

/// <summary>How a loss combines the per-sample losses of a batch (Keras' <c>reduction</c>).</summary>
public enum Reduction
{
    /// <summary>The mean over the batch (Keras' default, <c>"sum_over_batch_size"</c>).</summary>
    Mean = 0,

    /// <summary>The sum over the batch.</summary>
    Sum = 1,
}

/// <summary>
/// A loss function: compares a batch of predictions with targets, returns the reduced scalar loss and, when asked, writes
/// <c>d(loss)/d(predictions)</c> into a caller-provided tensor, so a training step allocates nothing.
/// </summary>
/// <remarks>
/// The gradient tensor is overwritten, not accumulated; it must have the predictions' shape and may be reused between
/// batches. A loss instance may keep scratch buffers, so it is not safe for concurrent calls.
/// </remarks>
public interface ILoss
{
    /// <summary>A display name, e.g. <c>sparse_categorical_crossentropy</c>.</summary>
    string Name { get; }

    /// <summary>How per-sample losses are combined.</summary>
    Reduction Reduction { get; }

    /// <summary>
    /// The loss of <paramref name="predictions"/> (batch first) against dense <paramref name="targets"/>; also writes the
    /// gradient into <paramref name="gradient"/> unless it is null.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A tensor has the wrong shape (the message names both shapes).</exception>
    /// <exception cref="ArgumentException">The targets hold invalid values, e.g. out-of-range class labels.</exception>
    float Compute(Tensor predictions, Tensor targets, Tensor? gradient = null);

    /// <summary>
    /// The loss of <paramref name="predictions"/> against integer class <paramref name="labels"/>, one per prediction row;
    /// also writes the gradient into <paramref name="gradient"/> unless it is null.
    /// </summary>
    /// <exception cref="NotSupportedException">The loss needs dense targets.</exception>
    /// <exception cref="ShapeMismatchException">A tensor or the label count has the wrong shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside <c>[0, classes)</c>.</exception>
    float Compute(Tensor predictions, ReadOnlySpan<int> labels, Tensor? gradient = null);
}

/// <summary>Argument checks shared by the losses.</summary>
internal static class LossChecks
{
    public static void Predictions(Tensor predictions, int minRank, string expected, string lossName)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        if (predictions.Shape.Rank < minRank)
            throw new ShapeMismatchException(nameof(predictions), expected, predictions.Shape.ToString(), lossName);
    }

    public static void Gradient(Tensor predictions, Tensor? gradient, string lossName)
    {
        if (gradient is not null && gradient.Shape != predictions.Shape)
            throw new ShapeMismatchException(nameof(gradient), predictions.Shape.ToString(), gradient.Shape.ToString(),
                $"{lossName}: the gradient must have the predictions' shape");
    }

    public static void CheckReduction(Reduction reduction)
    {
        if (!Enum.IsDefined(reduction))
            throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Unknown reduction.");
    }
}
