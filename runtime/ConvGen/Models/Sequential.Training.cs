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

    /// <summary>The optimizer set by <see cref="Compile"/>.</summary>
    public IOptimizer? Optimizer => _optimizer;

    /// <summary>The loss set by <see cref="Compile"/>.</summary>
    public ILoss? Loss => _loss;

    /// <summary>Sets the optimizer and loss used by <c>TrainStep</c>, <see cref="Fit"/> and <see cref="Evaluate"/>.</summary>
    /// <exception cref="InvalidOperationException">Another thread is using the model.</exception>
    public Sequential Compile(IOptimizer optimizer, ILoss loss)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(loss);
        using var scope = _gate.EnterExclusive(nameof(Compile));
        (_optimizer, _loss) = (optimizer, loss);
        return this;
    }

    /// <summary>
    /// One step of training on a batch: forward, loss, backward, optimizer step. Returns the batch loss and writes the
    /// number of correct predictions into <paramref name="correct"/>. Allocates nothing proportional to the batch after the first call.
    /// </summary>
    /// <remarks>
    /// Before the optimizer touches the weights, the step checks that the loss and every parameter gradient are finite (one
    /// vectorized pass over the gradients). If not, it throws <see cref="NonFiniteLossException"/> naming the step and the
    /// first layer whose output or gradient went non-finite, and the weights and optimizer state stay those of the last good step.
    /// </remarks>
    /// <exception cref="NonFiniteLossException">The loss or a gradient is NaN or infinite; the weights are left as they were before the step.</exception>
    /// <exception cref="ShapeMismatchException"><paramref name="images"/> is not a batch of the input shape, or the label count differs from the output rows.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside <c>[0, classes)</c>.</exception>
    /// <exception cref="InvalidOperationException">The model is not built or compiled, or another thread is using it.</exception>
    public float TrainStep(Tensor images, ReadOnlySpan<int> labels, out int correct)
    {
        using var scope = _gate.EnterExclusive(nameof(TrainStep));
        var (optimizer, loss) = Compiled();
        CheckBatch(images, labels, nameof(images), nameof(labels));
        var output = ForwardCore(images, training: true);
        var gradient = LossGradient(output.Shape);
        float value = loss.Compute(output, labels, gradient);
        correct = Metrics.CountCorrect(output, labels);
        if (!float.IsFinite(value))
            throw NonFinite(images, value, optimizer.Iterations + 1, lossGradient: null);
        foreach (var p in _parameters) p.ZeroGradient();
        BackwardCore(gradient);
        if (!NonFiniteDiagnosis.AllGradientsFinite(_parameters))
            throw NonFinite(images, value, optimizer.Iterations + 1, gradient);
        optimizer.Step(_parameters);
        return value;
    }

    /// <summary>One step of training on a batch; see <see cref="TrainStep(Tensor, ReadOnlySpan{int}, out int)"/>.</summary>
    public float TrainStep(Tensor images, ReadOnlySpan<int> labels) => TrainStep(images, labels, out _);

    /// <summary>
    /// Trains for <paramref name="epochs"/> passes over the data in batches of <paramref name="batchSize"/>, shuffled
    /// with a seed, showing progress (a live bar on a terminal, plain lines when output is redirected). Every argument,
    /// the validation data included, is checked before the first step.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epochs"/> is negative, <paramref name="batchSize"/> is less than 1, <see cref="FitOptions.ValidationSplit"/> is outside <c>[0, 1)</c>, or a label is outside <c>[0, classes)</c>.</exception>
    /// <exception cref="ShapeMismatchException">The images (or validation images) are not of the input shape, or their count differs from the labels'.</exception>
    /// <exception cref="NonFiniteLossException">A step's loss or gradient became NaN or infinite; training stops with the weights of the last good step.</exception>
    /// <exception cref="InvalidOperationException">The model is not built or compiled, or another thread is using it.</exception>
    public IReadOnlyList<EpochResult> Fit(Tensor images, int[] labels, int epochs, int batchSize, FitOptions? options = null)
    {
        using var scope = _gate.EnterExclusive(nameof(Fit));
        Compiled();
        // Labels (count and range) and validation data are checked before the first step, not mid-epoch.
        CheckData(images, labels, nameof(images), nameof(labels));
        if (options?.ValidationData is { } given)
            CheckData(given.Images, given.Labels, "options.ValidationData.Images", "options.ValidationData.Labels");
        return TrainingLoop.Fit(this, images, labels, epochs, batchSize, options);
    }

    /// <summary>Mean loss and accuracy of the model on labelled data, in batches (inference mode, no dropout).</summary>
    /// <remarks>Safe to call from several threads at once, and while <see cref="Predict"/> runs: the calls take turns.</remarks>
    /// <exception cref="ShapeMismatchException">The images are not of the input shape, or their count differs from the labels'.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is less than 1, or a label is outside <c>[0, classes)</c>.</exception>
    /// <exception cref="InvalidOperationException">The model is not built or compiled, or another thread is training it.</exception>
    public (float Loss, float Accuracy) Evaluate(Tensor images, int[] labels, int batchSize = 500)
    {
        using var scope = _gate.EnterShared(nameof(Evaluate));
        var (_, loss) = Compiled();
        CheckData(images, labels, nameof(images), nameof(labels));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        double lossSum = 0;
        long correct = 0;
        for (int start = 0; start < labels.Length; start += batchSize)
        {
            int n = Math.Min(batchSize, labels.Length - start);
            var output = ForwardCore(images.SliceBatch(start, n), training: false);
            lossSum += loss.Compute(output, labels.AsSpan(start, n)) * (double)n;
            correct += Metrics.CountCorrect(output, labels.AsSpan(start, n));
        }
        return ((float)(lossSum / labels.Length), (float)correct / labels.Length);
    }

    /// <summary>The model's outputs for every sample, computed in batches (inference mode). The result is a new tensor.</summary>
    /// <remarks>
    /// Safe to call from several threads at once: the calls take turns on the model's lock (its layers reuse their buffers),
    /// and each gets exactly the answer a serial call would. A call made while another thread trains the model throws.
    /// </remarks>
    /// <exception cref="ShapeMismatchException"><paramref name="images"/> is not a batch of the input shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is less than 1.</exception>
    /// <exception cref="InvalidOperationException">The model is not built, or another thread is training it.</exception>
    public Tensor Predict(Tensor images, int batchSize = 500)
    {
        using var scope = _gate.EnterShared(nameof(Predict));
        if (!IsBuilt) throw NotBuilt();
        CheckImages(images, nameof(images));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int count = images.Shape[0];
        var result = new Tensor(OutputShape.WithBatch(count));
        int row = OutputShape.Size;
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            ForwardCore(images.SliceBatch(start, n), training: false).Span.CopyTo(result.Span.Slice(start * row, n * row));
        }
        return result;
    }


    /// <summary>The failure path of a step: finds the first layer whose weights, output or gradient is non-finite.</summary>
    private NonFiniteLossException NonFinite(Tensor images, float loss, long step, Tensor? lossGradient) =>
        NonFiniteDiagnosis.Find(_layers, LayerNames(), _layerOutputs, _layerInputGradients, images, loss, step, lossGradient);

    private Tensor LossGradient(Shape shape) => LayerBuffers.View(ref _lossGradientBuffer, ref _lossGradient, shape);

    private (IOptimizer, ILoss) Compiled()
    {
        if (!IsBuilt) throw NotBuilt();
        if (_optimizer is null || _loss is null) throw new InvalidOperationException("The model has no optimizer or loss; call Compile(optimizer, loss) first.");
        return (_optimizer, _loss);
    }

    private void CheckData(Tensor images, int[] labels, string imagesName, string labelsName)
    {
        ArgumentNullException.ThrowIfNull(labels, labelsName);
        CheckBatch(images, labels, imagesName, labelsName);
    }

    /// <summary>
    /// Fails unless <paramref name="images"/> is a batch of the input shape with one label per output row (per sample for
    /// vector outputs), each a class index in <c>[0, classes)</c> of the output's last axis, as <see cref="ILoss"/> requires.
    /// Checked before the layers run, so a bad batch changes nothing (not even a dropout layer's mask sequence).
    /// </summary>
    private void CheckBatch(Tensor images, ReadOnlySpan<int> labels, string imagesName, string labelsName)
    {
        CheckImages(images, imagesName);
        var output = OutputShape;
        if (output.Rank == 0) return;
        int classes = output[output.Rank - 1];
        long rows = (long)images.Shape[0] * (output.Size / classes);
        if (labels.Length != rows)
            throw new ShapeMismatchException(labelsName, $"{rows} labels (one per output row: {images.Shape[0]} samples of output {output})",
                $"{labels.Length} labels", $"Sequential: {imagesName} and {labelsName} must match");
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentOutOfRangeException(labelsName, labels[i], $"Label {i} is {labels[i]}; expected a class index in [0, {classes - 1}] for the model's output {output}.");
        }
    }
}

/// <summary>Where a training step first found a NaN or infinity; see <see cref="NonFiniteLossException.Origin"/>.</summary>
public enum NonFiniteOrigin
{
    /// <summary>A layer's weights were already NaN or infinite before the step (an earlier update overflowed, or they were set or loaded so).</summary>
    Weights = 0,

    /// <summary>A layer's forward output.</summary>
    Output = 1,

    /// <summary>The loss or its gradient, although every layer output was finite; no layer is named.</summary>
    Loss = 2,

    /// <summary>A gradient computed by a layer's backward pass: of one of its parameters, or of its input.</summary>
    Gradient = 3,
}

/// <summary>
/// Training stopped because the loss or a gradient became NaN or infinite. The failing step was not applied: the weights and
/// the optimizer's state are those after step <c><see cref="Step"/> − 1</c>.
/// </summary>
public sealed class NonFiniteLossException : ArithmeticException
{
    /// <summary>Creates the exception for a non-finite <paramref name="loss"/> at <paramref name="step"/>, without naming a layer.</summary>
    public NonFiniteLossException(float loss, long step)
        : this(loss, step, NonFiniteOrigin.Loss, layerIndex: -1, layerName: null, parameterName: null, detail: null) { }

    /// <summary>Creates the exception naming where the first non-finite value was found.</summary>
    /// <param name="loss">The step's loss (finite when only a gradient went non-finite).</param>
    /// <param name="step">The 1-based training step (the optimizer's iteration) that failed.</param>
    /// <param name="origin">What went non-finite first.</param>
    /// <param name="layerIndex">The position of that layer in the model, or -1 when no layer is to blame.</param>
    /// <param name="layerName">The layer's unique name (as in <see cref="Sequential.LayerNames"/>, e.g. <c>dense_1</c>), or null.</param>
    /// <param name="parameterName">The parameter (e.g. <c>kernel</c>) whose value or gradient went non-finite, or null for an output or input gradient.</param>
    /// <param name="detail">Further facts for the message, e.g. which element and whether the input batch held NaN.</param>
    public NonFiniteLossException(float loss, long step, NonFiniteOrigin origin, int layerIndex, string? layerName, string? parameterName, string? detail)
        : base(Describe(loss, step, origin, layerIndex, layerName, parameterName, detail))
    {
        Loss = loss;
        Step = step;
        Origin = origin;
        LayerIndex = layerIndex;
        LayerName = layerName;
        ParameterName = parameterName;
    }

    /// <summary>The step's loss: NaN or infinite, or finite when only a gradient went non-finite.</summary>
    public float Loss { get; }

    /// <summary>The 1-based training step (the optimizer's iteration) that failed.</summary>
    public long Step { get; }

    /// <summary>What went non-finite first.</summary>
    public NonFiniteOrigin Origin { get; }

    /// <summary>The position in the model of the first layer whose weights, output or gradient went non-finite; -1 for <see cref="NonFiniteOrigin.Loss"/>.</summary>
    public int LayerIndex { get; }

    /// <summary>That layer's unique name, e.g. <c>dense_1</c>; null for <see cref="NonFiniteOrigin.Loss"/>.</summary>
    public string? LayerName { get; }

    /// <summary>The parameter, e.g. <c>kernel</c>, whose value or gradient went non-finite; null when it was an output or input gradient.</summary>
    public string? ParameterName { get; }

    private static string Describe(float loss, long step, NonFiniteOrigin origin, int layerIndex, string? layerName, string? parameterName, string? detail)
    {
        string layer = layerName is null ? "" : $"layer {layerIndex} ({layerName})";
        string what = origin switch
        {
            NonFiniteOrigin.Weights => $"the {parameterName ?? "weights"} of {layer} were already NaN or infinite before the step (an earlier update overflowed, or they were set so)",
            NonFiniteOrigin.Output => $"the output of {layer} holds NaN or infinity",
            NonFiniteOrigin.Gradient => parameterName is null ? $"the input gradient computed by {layer} holds NaN or infinity" : $"the gradient of {layer}'s {parameterName} holds NaN or infinity",
            _ => "the loss is not finite although every layer output is",
        };
        string applied = step > 1 ? $"the weights are those after step {step - 1}" : "the weights are the initial ones";
        return $"Training step {step}: {what}{(detail is null ? "" : $" ({detail})")}; the loss is {loss}. " +
               $"The step was not applied, so {applied}. Lower the learning rate or check the data for NaN or huge values.";
    }
}

/// <summary>Classification metrics.</summary>
public static class Metrics
{
    /// <summary>How many rows of <paramref name="outputs"/> <c>(batch, ..., classes)</c> have their largest value at the row's label (one label per row).</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="outputs"/> has no class axis, or the label count differs from its row count.</exception>
    public static int CountCorrect(Tensor outputs, ReadOnlySpan<int> labels)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (outputs.Shape.Rank < 1)
            throw new ShapeMismatchException(nameof(outputs), "(batch, ..., classes)", outputs.Shape.ToString(), "Metrics.CountCorrect");
        int classes = outputs.Shape.Rank == 1 ? 1 : outputs.Shape[outputs.Shape.Rank - 1], rows = outputs.Length / classes, correct = 0;
        if (labels.Length != rows)
            throw new ShapeMismatchException(nameof(labels), $"{rows} labels, one per row of outputs {outputs.Shape}", $"{labels.Length} labels", "Metrics.CountCorrect");
        var values = outputs.Span;
        for (int r = 0; r < rows; r++)
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
