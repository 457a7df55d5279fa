using System;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>
/// Keras' <c>SparseCategoricalCrossentropy</c>: the negative log-probability of each row's true class, given integer class
/// labels, reduced over the batch (the mean by default).
/// </summary>
/// <remarks>
/// <para>
/// With <c>fromLogits: true</c> the predictions are unnormalized scores and the softmax is fused in, computed stably with
/// log-sum-exp: <c>loss = log Σ exp(x − max) + max − x[label]</c>, gradient <c>(softmax(x) − onehot(label)) / batch</c>
/// (without the <c>/ batch</c> for <see cref="Reduction.Sum"/>). This is the accurate way to train a classifier.
/// </para>
/// <para>
/// With <c>fromLogits: false</c> (Keras' default) the predictions are probabilities: each row is divided by its sum, the true
/// class's probability is clipped to <c>[ε, 1 − ε]</c> with <c>ε = 1e-7</c> (Keras' <c>epsilon()</c>), and the loss is its
/// negative log. Where the clip is active the gradient is zero, as in TensorFlow.
/// </para>
/// </remarks>
public sealed class SparseCategoricalCrossentropy : ILoss
{
    /// <summary>The clip applied to probabilities, Keras' <c>backend.epsilon()</c>.</summary>
    public const float Epsilon = 1e-7f;

    private float[] _scratch = [];
    private int[] _labels = [];

    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether the predictions are logits (true) or probabilities, e.g. a softmax output (false).</param>
    /// <param name="reduction">How the per-row losses are combined.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reduction"/> is not defined.</exception>
    public SparseCategoricalCrossentropy(bool fromLogits = false, Reduction reduction = Reduction.Mean)
    {
        LossChecks.CheckReduction(reduction);
        FromLogits = fromLogits;
        Reduction = reduction;
    }

    /// <inheritdoc/>
    public string Name => "sparse_categorical_crossentropy";

    /// <summary>Whether the predictions are logits rather than probabilities.</summary>
    public bool FromLogits { get; }

    /// <inheritdoc/>
    public Reduction Reduction { get; }

    /// <summary>
    /// The loss of <paramref name="predictions"/> <c>(batch, ..., classes)</c> against <paramref name="labels"/>, one class index per
    /// row (<c>predictions.Length / classes</c> of them, row-major).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The predictions have rank below 2, the label count differs from the row count, or <paramref name="gradient"/> is not shaped like the predictions.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside <c>[0, classes)</c>.</exception>
    public float Compute(Tensor predictions, ReadOnlySpan<int> labels, Tensor? gradient = null)
    {
        LossChecks.Predictions(predictions, 2, "(batch, classes)", Name);
        int classes = predictions.Shape[predictions.Shape.Rank - 1], rows = predictions.Length / classes;
        if (labels.Length != rows)
            throw new ShapeMismatchException(nameof(labels), $"{rows} labels, one per row of predictions {predictions.Shape}",
                $"{labels.Length} labels", Name);
        return ComputeCore(predictions, labels, gradient, nameof(labels));
    }

    /// <summary>
    /// As <see cref="Compute(Tensor, ReadOnlySpan{int}, Tensor?)"/> with the labels in a tensor of whole numbers, shaped like
    /// the predictions without the class axis, e.g. <c>(batch,)</c>, or with a trailing 1, e.g. <c>(batch, 1)</c>, as Keras accepts.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A tensor has the wrong shape.</exception>
    /// <exception cref="ArgumentException">A target is not a whole number.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A target is outside <c>[0, classes)</c>.</exception>
    public float Compute(Tensor predictions, Tensor targets, Tensor? gradient = null)
    {
        LossChecks.Predictions(predictions, 2, "(batch, classes)", Name);
        ArgumentNullException.ThrowIfNull(targets);
        var rowShape = predictions.Shape.Dimensions[..^1];
        var t = targets.Shape.Dimensions;
        bool matches = t.SequenceEqual(rowShape) || (t.Length == rowShape.Length + 1 && t[..^1].SequenceEqual(rowShape) && t[^1] == 1);
        if (!matches)
        {
            var expected = new Shape(rowShape.ToArray());
            throw new ShapeMismatchException(nameof(targets), $"{expected} (or with a trailing 1), one class index per row of predictions {predictions.Shape}",
                targets.Shape.ToString(), Name);
        }
        var values = targets.Span;
        var labels = Buffers.Ensure(ref _labels, values.Length).AsSpan(0, values.Length);
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (!(v == MathF.Floor(v)) || v < int.MinValue || v > int.MaxValue)
                throw new ArgumentException($"Target {i} is {v}; sparse targets must be whole-number class indices.", nameof(targets));
            labels[i] = (int)v;
        }
        return ComputeCore(predictions, labels, gradient, nameof(targets));
    }

    private float ComputeCore(Tensor predictions, ReadOnlySpan<int> labels, Tensor? gradient, string labelsName)
    {
        LossChecks.Gradient(predictions, gradient, Name);
        int classes = predictions.Shape[predictions.Shape.Rank - 1], rows = labels.Length;
        for (int i = 0; i < rows; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentOutOfRangeException(labelsName, labels[i],
                    $"Label {i} is {labels[i]}; expected a class index in [0, {classes - 1}] for predictions {predictions.Shape}.");
        }

        float scale = Reduction == Reduction.Mean ? 1f / rows : 1f;
        ReadOnlySpan<float> x = predictions.Span;
        Span<float> g = gradient is not null ? gradient.Span : default;
        Span<float> scratch = gradient is null && FromLogits ? Buffers.Ensure(ref _scratch, classes).AsSpan(0, classes) : default;
        double total = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * classes, classes);
            int label = labels[r];
            float target = row[label];
            if (FromLogits)
            {
                var e = gradient is not null ? g.Slice(r * classes, classes) : scratch;
                float max = TensorPrimitives.Max(row);
                TensorPrimitives.Subtract(row, max, e);
                TensorPrimitives.Exp(e, e);
                float sum = TensorPrimitives.Sum(e);
                total += (double)max + Math.Log(sum) - target;
                if (gradient is not null)
                {
                    // softmax − onehot, scaled by the reduction.
                    TensorPrimitives.Divide(e, sum, e);
                    e[label] -= 1f;
                    TensorPrimitives.Multiply(e, scale, e);
                }
            }
            else
            {
                float sum = TensorPrimitives.Sum(row);
                float p = target / sum;
                float clipped = Math.Clamp(p, Epsilon, 1f - Epsilon);
                total -= Math.Log(clipped);
                if (gradient is not null)
                {
                    var gr = g.Slice(r * classes, classes);
                    if (p >= Epsilon && p <= 1f - Epsilon)
                    {
                        // d(−log(x[label] / Σx)) / dx[j] = 1/Σx − [j = label] / x[label]
                        gr.Fill(scale / sum);
                        gr[label] -= scale / target;
                    }
                    else
                    {
                        gr.Clear();
                    }
                }
            }
        }
        return (float)(Reduction == Reduction.Mean ? total / rows : total);
    }

    /// <inheritdoc/>
    public override string ToString() => $"SparseCategoricalCrossentropy(fromLogits: {FromLogits}, {Reduction})";
}
