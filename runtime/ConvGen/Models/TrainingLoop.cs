using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace ConvGen;

/// <summary>The epoch loop behind every model's <c>Fit</c>: shuffling, batching, progress, validation, history.</summary>
internal static class TrainingLoop
{
    /// <summary>
    /// Checks the arguments, then trains <paramref name="model"/> with its own <see cref="IModel.TrainStep"/> and validates with
    /// its <see cref="IModel.Evaluate"/>. The batch is gathered into one buffer reused for the whole call.
    /// </summary>
    public static IReadOnlyList<EpochResult> Fit(IModel model, Tensor images, int[] labels, int epochs, int batchSize, FitOptions? options)
    {
        options ??= new FitOptions();
        CheckData(model, images, labels, nameof(images), nameof(labels));
        ArgumentOutOfRangeException.ThrowIfNegative(epochs);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (!(options.ValidationSplit >= 0 && options.ValidationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.ValidationSplit, $"options.ValidationSplit is {options.ValidationSplit}; it must be in [0, 1).");
        if (options.ValidationData is { } given)
            CheckData(model, given.Images, given.Labels, "options.ValidationData.Images", "options.ValidationData.Labels");

        int count = labels.Length;
        var validation = options.ValidationData;
        if (validation is null && options.ValidationSplit > 0)
        {
            int held = (int)(count * options.ValidationSplit);
            if (held < 1 || held >= count) throw new ArgumentOutOfRangeException(nameof(options), options.ValidationSplit, $"options.ValidationSplit {options.ValidationSplit} of {count} samples leaves no training or no validation data.");
            count -= held;
            validation = (images.SliceBatch(count, held), labels[count..]);
        }

        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        var random = new Random(options.Seed);
        int steps = (count + batchSize - 1) / batchSize, row = model.InputShape.Size;
        var batchBuffer = new float[Math.Min(batchSize, Math.Max(count, 1)) * row];
        var batchLabels = new int[Math.Min(batchSize, Math.Max(count, 1))];
        Tensor? batchView = null;
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
                if (batchView is null || batchView.Shape[0] != n) batchView = new Tensor(model.InputShape.WithBatch(n), batchBuffer, 0);
                var source = images.Span;
                var destination = batchView.Span;
                for (int i = 0; i < n; i++)
                {
                    int index = order[start + i];
                    source.Slice(index * row, row).CopyTo(destination.Slice(i * row, row));
                    batchLabels[i] = labels[index];
                }
                float value = model.TrainStep(batchView, batchLabels.AsSpan(0, n), out int correct);
                lossSum += value * n;
                correctSum += correct;
                seen += n;
                progress.Step(step + 1, (float)(lossSum / seen), (float)correctSum / seen, seen, clock.Elapsed.TotalSeconds);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            float valLoss = float.NaN, valAccuracy = float.NaN;
            if (validation is { } v) (valLoss, valAccuracy) = model.Evaluate(v.Images, v.Labels);
            var result = new EpochResult(epoch, (float)(lossSum / seen), (float)correctSum / seen, valLoss, valAccuracy, seen / seconds, seconds);
            progress.EndEpoch(result);
            history.Add(result);
            options.OnEpochEnd?.Invoke(result);
        }
        return history;
    }

    /// <summary>Fails unless <paramref name="images"/> is <c>(samples, InputShape)</c> with one label per sample.</summary>
    public static void CheckData(IModel model, Tensor images, int[] labels, string imagesName, string labelsName)
    {
        ArgumentNullException.ThrowIfNull(images, imagesName);
        ArgumentNullException.ThrowIfNull(labels, labelsName);
        var input = model.InputShape;
        if (images.Shape.Rank != input.Rank + 1 || !images.Shape.Dimensions[1..].SequenceEqual(input.Dimensions))
            throw new ShapeMismatchException(imagesName, $"(samples, {input.ToString().Trim('(', ')', ',')})", images.Shape.ToString());
        if (images.Shape[0] != labels.Length)
            throw new ShapeMismatchException(labelsName, $"{images.Shape[0]} labels, one per sample of {imagesName}", $"{labels.Length} labels");
        if (model.OutputShape.Rank == 1)
        {
            int classes = model.OutputShape[0];
            for (int i = 0; i < labels.Length; i++)
            {
                if ((uint)labels[i] >= (uint)classes)
                    throw new ArgumentOutOfRangeException(labelsName, labels[i], $"{labelsName}[{i}] is {labels[i]}; a label must be a class index in [0, {classes - 1}].");
            }
        }
    }
}
