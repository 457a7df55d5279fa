using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;

namespace ConvGen;

/// <summary>One epoch's figures, as <see cref="Sequential.Fit"/> reports them.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Loss">Mean training loss over the epoch's batches.</param>
/// <param name="Accuracy">Training accuracy over the epoch (argmax of the output equals the label).</param>
/// <param name="ValidationLoss">Loss on the validation data, or NaN without validation data.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation data, or NaN without validation data.</param>
/// <param name="ImagesPerSecond">Training throughput of the epoch.</param>
/// <param name="Seconds">Wall-clock time of the epoch's training.</param>
public sealed record EpochResult(int Epoch, float Loss, float Accuracy, float ValidationLoss, float ValidationAccuracy, double ImagesPerSecond, double Seconds);

/// <summary>Options of <see cref="Sequential.Fit"/> beyond the data, epochs and batch size.</summary>
public sealed class FitOptions
{
    /// <summary>Validation samples and labels, evaluated after every epoch. Takes precedence over <see cref="ValidationSplit"/>.</summary>
    public (Tensor Images, int[] Labels)? ValidationData { get; init; }

    /// <summary>Fraction of the training data, taken from its end before shuffling (as Keras does), held out for validation.</summary>
    public float ValidationSplit { get; init; }

    /// <summary>Shuffle the training samples every epoch (default true).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seed of the shuffling.</summary>
    public int Seed { get; init; }

    /// <summary>Called after every epoch.</summary>
    public Action<EpochResult>? OnEpochEnd { get; init; }

    /// <summary>Where progress goes (default <see cref="Console.Out"/>; null for silence).</summary>
    public TextWriter? Output { get; init; } = Console.Out;
}

public sealed partial class Sequential
{
    private IOptimizer? _optimizer;
    private ILoss? _loss;
    private Tensor? _lossGradient;
    private float[] _lossGradientBuffer = [];
    private float[] _batchBuffer = [];
    private Tensor? _batchView;
    private int[] _batchLabels = [];

    /// <summary>The optimizer set by <see cref="Compile"/>.</summary>
    public IOptimizer? Optimizer => _optimizer;

    /// <summary>The loss set by <see cref="Compile"/>.</summary>
    public ILoss? Loss => _loss;

    /// <summary>Sets the optimizer and loss used by <c>TrainStep</c>, <see cref="Fit"/> and <see cref="Evaluate"/>.</summary>
    public Sequential Compile(IOptimizer optimizer, ILoss loss)
    {
        _optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        _loss = loss ?? throw new ArgumentNullException(nameof(loss));
        return this;
    }

    /// <summary>
    /// One step of training on a batch: forward, loss, backward, optimizer step. Returns the batch loss and writes the
    /// number of correct predictions into <paramref name="correct"/>. Allocates nothing proportional to the batch after the first call.
    /// </summary>
    /// <exception cref="NonFiniteLossException">The loss is NaN or infinite; the weights are left as they were before the step.</exception>
    public float TrainStep(Tensor images, ReadOnlySpan<int> labels, out int correct)
    {
        var (optimizer, loss) = Compiled();
        var output = Forward(images, training: true);
        var gradient = LossGradient(output.Shape);
        float value = loss.Compute(output, labels, gradient);
        correct = Metrics.CountCorrect(output, labels);
        if (!float.IsFinite(value))
            throw new NonFiniteLossException(value, optimizer.Iterations + 1);
        ZeroGradients();
        Backward(gradient);
        optimizer.Step(_parameters);
        return value;
    }

    /// <summary>One step of training on a batch; see <see cref="TrainStep(Tensor, ReadOnlySpan{int}, out int)"/>.</summary>
    public float TrainStep(Tensor images, ReadOnlySpan<int> labels) => TrainStep(images, labels, out _);

    /// <summary>
    /// Trains for <paramref name="epochs"/> passes over the data in batches of <paramref name="batchSize"/>, shuffled
    /// with a seed, showing progress (a live bar on a terminal, plain lines when output is redirected).
    /// </summary>
    public IReadOnlyList<EpochResult> Fit(Tensor images, int[] labels, int epochs, int batchSize, FitOptions? options = null)
    {
        options ??= new FitOptions();
        Compiled();
        CheckData(images, labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (!(options.ValidationSplit >= 0 && options.ValidationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.ValidationSplit, "ValidationSplit must be in [0, 1).");

        int count = labels.Length;
        var validation = options.ValidationData;
        if (validation is null && options.ValidationSplit > 0)
        {
            int held = (int)(count * options.ValidationSplit);
            if (held < 1 || held >= count) throw new ArgumentOutOfRangeException(nameof(options), options.ValidationSplit, $"ValidationSplit {options.ValidationSplit} of {count} samples leaves no training or no validation data.");
            count -= held;
            validation = (images.SliceBatch(count, held), labels[count..]);
        }

        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        var random = new Random(options.Seed);
        int steps = (count + batchSize - 1) / batchSize;
        var history = new List<EpochResult>();
        var progress = new ProgressReporter(options.Output, steps);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            if (options.Shuffle) random.Shuffle(order);
            progress.StartEpoch(epoch, epochs);
            double lossSum = 0;
            long correctSum = 0, seen = 0;
            var clock = Stopwatch.StartNew();
            for (int step = 0; step < steps; step++)
            {
                int start = step * batchSize, n = Math.Min(batchSize, count - start);
                var batch = Gather(images, labels, order.AsSpan(start, n));
                float value = TrainStep(batch, _batchLabels.AsSpan(0, n), out int correct);
                lossSum += value * n;
                correctSum += correct;
                seen += n;
                progress.Step(step + 1, (float)(lossSum / seen), (float)correctSum / seen, seen, clock.Elapsed.TotalSeconds);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            float valLoss = float.NaN, valAccuracy = float.NaN;
            if (validation is { } v) (valLoss, valAccuracy) = Evaluate(v.Images, v.Labels);
            var result = new EpochResult(epoch, (float)(lossSum / seen), (float)correctSum / seen, valLoss, valAccuracy, seen / seconds, seconds);
            progress.EndEpoch(result);
            history.Add(result);
            options.OnEpochEnd?.Invoke(result);
        }
        return history;
    }

    /// <summary>Mean loss and accuracy of the model on labelled data, in batches (inference mode, no dropout).</summary>
    public (float Loss, float Accuracy) Evaluate(Tensor images, int[] labels, int batchSize = 500)
    {
        var (_, loss) = Compiled();
        CheckData(images, labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        double lossSum = 0;
        long correct = 0;
        for (int start = 0; start < labels.Length; start += batchSize)
        {
            int n = Math.Min(batchSize, labels.Length - start);
            var output = Forward(images.SliceBatch(start, n));
            lossSum += loss.Compute(output, labels.AsSpan(start, n)) * (double)n;
            correct += Metrics.CountCorrect(output, labels.AsSpan(start, n));
        }
        return ((float)(lossSum / labels.Length), (float)correct / labels.Length);
    }

    /// <summary>The model's outputs for every sample, computed in batches (inference mode). The result is a new tensor.</summary>
    public Tensor Predict(Tensor images, int batchSize = 500)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (!IsBuilt) throw NotBuilt();
        int count = images.Shape[0];
        var result = new Tensor(OutputShape.WithBatch(count));
        int row = OutputShape.Size;
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            Forward(images.SliceBatch(start, n)).Span.CopyTo(result.Span.Slice(start * row, n * row));
        }
        return result;
    }

    /// <summary>Copies the samples at <paramref name="indices"/> into the reused batch buffer (and their labels into <c>_batchLabels</c>).</summary>
    private Tensor Gather(Tensor images, int[] labels, ReadOnlySpan<int> indices)
    {
        int n = indices.Length, row = InputShape.Size;
        var batch = LayerBuffers.View(ref _batchBuffer, ref _batchView, InputShape.WithBatch(n));
        if (_batchLabels.Length < n) _batchLabels = new int[n];
        var source = images.Span;
        var destination = batch.Span;
        for (int i = 0; i < n; i++)
        {
            source.Slice(indices[i] * row, row).CopyTo(destination.Slice(i * row, row));
            _batchLabels[i] = labels[indices[i]];
        }
        return batch;
    }

    private Tensor LossGradient(Shape shape) => LayerBuffers.View(ref _lossGradientBuffer, ref _lossGradient, shape);

    private (IOptimizer, ILoss) Compiled()
    {
        if (!IsBuilt) throw NotBuilt();
        if (_optimizer is null || _loss is null) throw new InvalidOperationException("The model has no optimizer or loss; call Compile(optimizer, loss) first.");
        return (_optimizer, _loss);
    }

    private void CheckData(Tensor images, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.Shape.Rank != InputShape.Rank + 1 || images.Shape.WithoutBatch() != InputShape)
            throw new ShapeMismatchException(nameof(images), $"(samples, {InputShape.ToString().Trim('(', ')', ',')})", images.Shape.ToString());
        if (images.Shape[0] != labels.Length)
            throw new ArgumentException($"There are {images.Shape[0]} samples but {labels.Length} labels; they must match.", nameof(labels));
    }
}

/// <summary>Training stopped because the loss became NaN or infinite.</summary>
public sealed class NonFiniteLossException(float loss, long step)
    : ArithmeticException($"The loss became {loss} at training step {step}; the step was not applied, so the weights are those after step {step - 1}. Lower the learning rate or check the data for NaN/huge values.")
{
    /// <summary>The non-finite loss value.</summary>
    public float Loss { get; } = loss;

    /// <summary>The 1-based training step whose loss was non-finite.</summary>
    public long Step { get; } = step;
}

/// <summary>Classification metrics.</summary>
public static class Metrics
{
    /// <summary>How many rows of <paramref name="outputs"/> have their largest value at the row's label.</summary>
    public static int CountCorrect(Tensor outputs, ReadOnlySpan<int> labels)
    {
        int rows = outputs.Shape[0], classes = outputs.Length / rows, correct = 0;
        var values = outputs.Span;
        for (int r = 0; r < rows && r < labels.Length; r++)
        {
            var row = values.Slice(r * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (row[c] > row[best]) best = c;
            if (best == labels[r]) correct++;
        }
        return correct;
    }
}
