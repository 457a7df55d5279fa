using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using ConvGen.Internal;

namespace ConvGen;

public abstract partial class Model
{
    private IOptimizer? _optimizer;
    private ILoss? _loss;

    /// <summary>The optimizer set by <see cref="Compile"/>.</summary>
    public IOptimizer? Optimizer => _optimizer;

    /// <summary>The loss set by <see cref="Compile"/>.</summary>
    public ILoss? Loss => _loss;

    /// <summary>
    /// Set by a callback (Keras' <c>model.stop_training</c>) to end <see cref="Fit"/> after the current epoch; <see cref="Fit"/>
    /// clears it when it starts.
    /// </summary>
    public bool StopTraining { get; set; }

    /// <summary>Sets the optimizer and loss that <c>TrainStep</c>, <see cref="Fit"/> and <see cref="Evaluate"/> use.</summary>
    /// <exception cref="InvalidOperationException">Another thread is using the model.</exception>
    public virtual Model Compile(IOptimizer optimizer, ILoss loss)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(loss);
        using var scope = _gate.EnterExclusive(nameof(Compile));
        (_optimizer, _loss) = (optimizer, loss);
        return this;
    }

    /// <summary>
    /// One training step on a batch with the compiled optimizer and loss: forward (training mode), loss, backward, one optimizer
    /// loop over all parameters. Returns the batch loss and writes the number of correct predictions into
    /// <paramref name="correct"/>. After the first step (for a batch size) it allocates nothing on the managed heap. With
    /// <see cref="DataParallel"/> set, <paramref name="images"/> is the global batch and each rank trains on its shard.
    /// </summary>
    /// <remarks>
    /// Before the optimizer touches the weights, the step checks that the loss and every gradient are finite (one vectorized pass
    /// over the gradient buffer). If not, it throws <see cref="NonFiniteLossException"/> naming the step and the first layer
    /// whose weights, output or gradient went non-finite, and the weights and optimizer state stay those of the last good step.
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
        if (_dataParallel is { } group) return TrainShard(group, optimizer, loss, images, labels, out correct);
        var output = ForwardCore(images, nameof(images), training: true, keep: true);
        float value = loss.Compute(output, labels, LossGradientView());
        correct = Metrics.CountCorrect(output, labels);
        if (!float.IsFinite(value)) throw NonFinite(value, optimizer.Iterations + 1, afterBackward: false);
        _gradients.AsSpan().Clear();
        BackwardCore(inputGradient: false);
        value += Regularize();
        // One pass over all gradients: a bad step never reaches the weights.
        if (!Finite.All(_gradients))
            throw NonFinite(value, optimizer.Iterations + 1, afterBackward: true);
        optimizer.Step(_whole);
        return value;
    }

    /// <summary>One training step on a batch; see <see cref="TrainStep(Tensor, ReadOnlySpan{int}, out int)"/>.</summary>
    public float TrainStep(Tensor images, ReadOnlySpan<int> labels) => TrainStep(images, labels, out _);

    /// <summary>
    /// Trains for <paramref name="epochs"/> passes over the data in batches of <paramref name="batchSize"/>, shuffled with a
    /// seed, showing progress (a live bar on a terminal, plain lines when output is redirected). Every argument, the validation
    /// data included, is checked before the first step.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epochs"/> is negative, <paramref name="batchSize"/> is less than 1 (or, for a compiled network, above <see cref="MaxBatchSize"/>), <see cref="FitOptions.ValidationSplit"/> is outside <c>[0, 1)</c>, or a label is outside <c>[0, classes)</c>.</exception>
    /// <exception cref="ShapeMismatchException">The images (or validation images) are not of the input shape, or their count differs from the labels'.</exception>
    /// <exception cref="NonFiniteLossException">A step's loss or gradient became NaN or infinite; training stops with the weights of the last good step.</exception>
    /// <exception cref="InvalidOperationException">The model is not built or compiled, or another thread is using it.</exception>
    public IReadOnlyList<EpochResult> Fit(Tensor images, int[] labels, int epochs, int batchSize, FitOptions? options = null)
    {
        using var scope = _gate.EnterExclusive(nameof(Fit));
        Compiled();
        // In a group each rank runs at most its share of the batch (rounded up).
        int perRank = _dataParallel is { } group ? (batchSize + group.Size - 1) / group.Size : batchSize;
        if (_fixedCapacity && perRank > _capacity)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"batchSize is {batchSize}, but the network's buffers were planned for at most {_capacity} (its maxBatchSize){(perRank != batchSize ? $" per rank, and a rank's share is up to {perRank}" : "")}.");
        return TrainingLoop.Fit(this, images, labels, epochs, batchSize, options);
    }

    /// <summary>Mean loss and accuracy over every sample, in batches of <paramref name="batchSize"/> (inference mode, no dropout).</summary>
    /// <remarks>
    /// Safe to call from several threads at once, and while <see cref="Predict"/> runs: the calls take turns. With
    /// <see cref="DataParallel"/> set, every rank passes all the samples, evaluates its shard, and gets the figures of all of them.
    /// </remarks>
    /// <exception cref="ShapeMismatchException">The images are not of the input shape, or their count differs from the labels'.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is less than 1, or a label is outside <c>[0, classes)</c>.</exception>
    /// <exception cref="InvalidOperationException">The model is not built or compiled, or another thread is training it.</exception>
    public (float Loss, float Accuracy) Evaluate(Tensor images, int[] labels, int batchSize = 500)
    {
        using var scope = _gate.EnterShared(nameof(Evaluate));
        var (_, loss) = Compiled();
        CheckData(images, labels, nameof(images), nameof(labels));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int count = images.Shape[0], rows = LabelsPerSample;
        // In a group, each rank evaluates its shard of the samples and the sums are added up.
        var (first, end) = _dataParallel is { } group ? Parallelism.ChunkRange(count, group.Size, group.Rank) : (0, count);
        int step = ChunkSize(batchSize, end - first);
        Span<double> sums = stackalloc double[2];
        NewVersionIfViewsHandedOut();
        for (int start = first; start < end; start += step)
        {
            int n = Math.Min(step, end - start);
            var output = ForwardCore(images.SliceBatch(start, n), nameof(images), training: false, keep: false);
            var batchLabels = labels.AsSpan(start * rows, n * rows);
            sums[0] += loss.Compute(output, batchLabels) * (double)n;
            sums[1] += Metrics.CountCorrect(output, batchLabels);
        }
        _dataParallel?.AllReduceSum(sums);
        return ((float)(sums[0] / count + RegularizationLoss()), (float)(sums[1] / ((long)count * rows)));
    }

    /// <summary>The outputs for every sample, computed in batches of <paramref name="batchSize"/> (inference mode); a new tensor.</summary>
    /// <remarks>
    /// Safe to call from several threads at once: the calls take turns on the model's lock, and each gets exactly the answer a
    /// serial call would. A call made while another thread trains the model throws.
    /// </remarks>
    /// <exception cref="ShapeMismatchException"><paramref name="images"/> is not a batch of the input shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is less than 1.</exception>
    /// <exception cref="InvalidOperationException">The model is not built, or another thread is training it.</exception>
    public Tensor Predict(Tensor images, int batchSize = 500)
    {
        using var scope = _gate.EnterShared(nameof(Predict));
        if (!IsBuilt) throw NotBuilt();
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int count = CheckSamples(images, nameof(images)), row = OutputShape.Size, step = ChunkSize(batchSize, count);
        var result = new Tensor(OutputShape.WithBatch(count));
        NewVersionIfViewsHandedOut();
        for (int start = 0; start < count; start += step)
        {
            int n = Math.Min(step, count - start);
            ForwardCore(images.SliceBatch(start, n), nameof(images), training: false, keep: false).Span.CopyTo(result.Span.Slice(start * row, n * row));
        }
        return result;
    }

    /// <summary>
    /// Writes every parameter and state tensor (<see cref="NamedWeights"/>) to <paramref name="path"/> in the ConvGen weights
    /// format, atomically (see docs/weights-format.md): if the save fails, any previous file at <paramref name="path"/> is left as it was.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not built, or another thread is training it.</exception>
    /// <exception cref="System.IO.IOException">Writing failed; the previous file, if any, is unchanged.</exception>
    public void SaveWeights(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var scope = _gate.EnterShared(nameof(SaveWeights));
        if (!IsBuilt) throw NotBuilt();
        Serialization.WeightsFile.Save(path, _namedWeights);
    }

    /// <summary>
    /// Loads weights saved by <see cref="SaveWeights"/> from a model of the same layers (a Sequential or a compiled network). The
    /// file must hold the same tensors, names and shapes in the same order; otherwise nothing changes and the exception names the
    /// first tensor that differs and both shapes.
    /// </summary>
    /// <exception cref="System.IO.InvalidDataException">The file is not a valid weights file (corrupt, truncated, wrong checksum).</exception>
    /// <exception cref="Serialization.WeightsMismatchException">The file is for a different architecture.</exception>
    /// <exception cref="InvalidOperationException">The model is not built, or another thread is using it.</exception>
    public void LoadWeights(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var scope = _gate.EnterExclusive(nameof(LoadWeights));
        if (!IsBuilt) throw NotBuilt();
        Serialization.WeightsFile.LoadInto(path, _namedWeights);
    }

    /// <summary>Each layer's kernel with an L2 penalty: where it lies in the parameter buffer, and its factor.</summary>
    private (int Offset, int Count, float Factor)[] _regularized = [];

    /// <summary>The kernels of layers with <see cref="Layer.KernelL2"/>, found when the model is planned.</summary>
    private (int Offset, int Count, float Factor)[] RegularizedKernels()
    {
        var list = new List<(int, int, float)>();
        foreach (var node in _nodes)
        {
            if (node.Layer.KernelL2 == 0f) continue;
            int k = Array.FindIndex(node.ParameterDeclarations, d => d.Name == "kernel");
            if (k < 0)
                throw new ArgumentException($"Layer {node.Index} ({node.Name}) has KernelL2 = {node.Layer.KernelL2} but no 'kernel' parameter to regularize; set it on a Conv2D or Dense layer.");
            list.Add((node.ParameterOffsets[k], node.ParameterDeclarations[k].Shape.Size, node.Layer.KernelL2));
        }
        return [.. list];
    }

    /// <summary>Adds every L2 penalty's gradient <c>2λw</c> to the gradient buffer and returns the penalties' sum <c>Σ λ Σ w²</c>.</summary>
    private float Regularize()
    {
        foreach (var (offset, count, factor) in _regularized)
        {
            var w = _parameters.AsSpan(offset, count);
            var g = _gradients.AsSpan(offset, count);
            TensorPrimitives.MultiplyAdd(w, 2f * factor, g, g);
        }
        return RegularizationLoss();
    }

    /// <summary>The L2 penalties' sum, <c>Σ λ Σ w²</c>, as Keras adds it to the loss.</summary>
    private float RegularizationLoss()
    {
        double sum = 0;
        foreach (var (offset, count, factor) in _regularized)
        {
            float norm = TensorPrimitives.Norm(_parameters.AsSpan(offset, count));
            sum += (double)factor * norm * norm;
        }
        return (float)sum;
    }

    /// <summary>The batch Predict and Evaluate run: the one asked for, within a compiled network's fixed capacity.</summary>
    private int ChunkSize(int batchSize, int count) => Math.Max(1, _fixedCapacity ? Math.Min(batchSize, _capacity) : Math.Min(batchSize, count));

    private (IOptimizer, ILoss) Compiled()
    {
        if (!IsBuilt) throw NotBuilt();
        if (_optimizer is null || _loss is null) throw new InvalidOperationException("The model has no optimizer or loss; call Compile(optimizer, loss) first.");
        return (_optimizer, _loss);
    }

    /// <summary>Labels per sample: one per row of the output's last axis (one for a vector output).</summary>
    internal int LabelsPerSample => OutputShape.Size / OutputShape[OutputShape.Rank - 1];

    /// <summary>Fails unless <paramref name="labels"/> is given and fits <paramref name="images"/> (see <see cref="CheckBatch"/>).</summary>
    internal void CheckData(Tensor images, int[] labels, string imagesName, string labelsName)
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
        CheckLabels(CheckSamples(images, imagesName), labels, imagesName, labelsName);
    }

    /// <summary>Fails unless <paramref name="labels"/> holds one class index per output row of <paramref name="batch"/> samples.</summary>
    internal void CheckLabels(int batch, ReadOnlySpan<int> labels, string imagesName, string labelsName)
    {
        var output = OutputShape;
        int classes = output[output.Rank - 1];
        long rows = (long)batch * LabelsPerSample;
        if (labels.Length != rows)
            throw new ShapeMismatchException(labelsName, $"{rows} labels (one per output row: {batch} samples of output {output})",
                $"{labels.Length} labels", $"{GetType().Name}: {imagesName} and {labelsName} must match");
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentOutOfRangeException(labelsName, labels[i], $"Label {i} is {labels[i]}; expected a class index in [0, {classes - 1}] for the model's output {output}.");
        }
    }
}
