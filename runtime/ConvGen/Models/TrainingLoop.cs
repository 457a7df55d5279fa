using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace ConvGen;

/// <summary>The epoch loop behind every model's <c>Fit</c>: shuffling, batching, progress, validation, history.</summary>
internal static class TrainingLoop
{
    /// <summary>
    /// Checks the arguments, then trains <paramref name="model"/> with its own <see cref="Model.TrainStep(Tensor, ReadOnlySpan{int}, out int)"/> and validates with
    /// its <see cref="Model.Evaluate"/>. The batch is gathered into one buffer reused for the whole call.
    /// </summary>
    public static IReadOnlyList<EpochResult> Fit(Model model, Tensor images, int[] labels, int epochs, int batchSize, FitOptions? options)
    {
        options ??= new FitOptions();
        var group = model.DataParallel;
        var crop = options.Augmentation is { Crops: true } cropping ? cropping : null;
        if (crop is null) model.CheckData(images, labels, nameof(images), nameof(labels));
        else CheckCropData(model, crop, images, labels);
        ArgumentOutOfRangeException.ThrowIfNegative(epochs);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (!(options.ValidationSplit >= 0 && options.ValidationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.ValidationSplit, $"options.ValidationSplit is {options.ValidationSplit}; it must be in [0, 1).");
        if (options.InitialEpoch < 0 || options.InitialEpoch > epochs)
            throw new ArgumentOutOfRangeException(nameof(options), options.InitialEpoch, $"options.InitialEpoch is {options.InitialEpoch}; it must be in [0, epochs] = [0, {epochs}].");
        if (options.Augmentation is not null && model.InputShape.Rank != 3)
            throw new ArgumentException($"options.Augmentation moves and mirrors images, but the model's input is {model.InputShape}; it needs (height, width, channels).", nameof(options));
        var validation = options.ValidationData;
        if (validation is { } given)
        {
            // Validation data is at the training images' size; with a crop, the model sees its centered windows.
            if (crop is not null)
            {
                ArgumentNullException.ThrowIfNull(given.Images, "options.ValidationData.Images");
                crop.CheckCroppable(given.Images.Shape, "options.ValidationData.Images");
                validation = given = (crop.CenterCrop(given.Images), given.Labels);
            }
            model.CheckData(given.Images, given.Labels, "options.ValidationData.Images", "options.ValidationData.Labels");
        }

        int count = images.Shape[0], rows = model.LabelsPerSample;
        if (validation is null && options.ValidationSplit > 0)
        {
            int held = (int)(count * options.ValidationSplit);
            if (held < 1 || held >= count) throw new ArgumentOutOfRangeException(nameof(options), options.ValidationSplit, $"options.ValidationSplit {options.ValidationSplit} of {count} samples leaves no training or no validation data.");
            count -= held;
            var heldImages = images.SliceBatch(count, held);
            validation = (crop?.CenterCrop(heldImages) ?? heldImages, labels[(count * rows)..]);
        }

        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        var random = new Random(options.Seed);
        int steps = (count + batchSize - 1) / batchSize, row = model.InputShape.Size, sourceRow = images.Shape.Size / Math.Max(images.Shape[0], 1);
        var batchBuffer = new float[Math.Min(batchSize, Math.Max(count, 1)) * row];
        var batchLabels = new int[Math.Min(batchSize, Math.Max(count, 1)) * rows];
        Tensor? batchView = null;
        var history = new List<EpochResult>();
        // In a group every rank runs this loop on the same global batches; rank 0 reports the global figures.
        var progress = new ProgressReporter(group is null || group.Rank == 0 ? options.Output : null, steps);
        var callbacks = options.Callbacks ?? [];
        model.StopTraining = false;
        foreach (var callback in callbacks) callback.OnTrainBegin(model);
        for (int epoch = 1; epoch <= epochs && !model.StopTraining; epoch++)
        {
            if (options.Shuffle) random.Shuffle(order);
            if (epoch <= options.InitialEpoch) continue;
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
                    if (crop is null) source.Slice(index * sourceRow, row).CopyTo(destination.Slice(i * row, row));
                    labels.AsSpan(index * rows, rows).CopyTo(batchLabels.AsSpan(i * rows, rows));
                }
                long augmentationStep = (long)(epoch - 1) * steps + step;
                crop?.CropInto(images, order.AsSpan(start, n), batchView, augmentationStep);
                options.Augmentation?.Apply(batchView, augmentationStep);
                float value = model.TrainStep(batchView, batchLabels.AsSpan(0, n * rows), out int correct);
                lossSum += value * n;
                correctSum += correct;
                seen += n;
                progress.Step(step + 1, (float)(lossSum / seen), (float)correctSum / (seen * rows), seen, clock.Elapsed.TotalSeconds);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            model.AverageStateAcrossGroup();
            float valLoss = float.NaN, valAccuracy = float.NaN;
            if (validation is { } v) (valLoss, valAccuracy) = model.Evaluate(v.Images, v.Labels);
            var result = new EpochResult(epoch, (float)(lossSum / seen), (float)correctSum / (seen * rows), valLoss, valAccuracy, seen / seconds, seconds);
            progress.EndEpoch(result);
            history.Add(result);
            foreach (var callback in callbacks) callback.OnEpochEnd(model, result);
            options.OnEpochEnd?.Invoke(result);
        }
        foreach (var callback in callbacks) callback.OnTrainEnd(model);
        return history;
    }

    /// <summary>With a crop, the training images are larger than the model's input: its windows are what must fit.</summary>
    private static void CheckCropData(Model model, Data.Augmentation crop, Tensor images, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(images);
        crop.CheckCroppable(images.Shape, nameof(images));
        var input = model.InputShape;
        if (input.Rank != 3 || input[0] != crop.CropHeight || input[1] != crop.CropWidth || input[2] != images.Shape[3])
            throw new ShapeMismatchException("options", $"a model input of the crop window ({crop.CropHeight}, {crop.CropWidth}, {images.Shape[3]})",
                input.ToString(), $"{crop} crops the training images {images.Shape} to the model's input");
        ArgumentNullException.ThrowIfNull(labels);
        model.CheckLabels(images.Shape[0], labels, nameof(images), nameof(labels));
    }
}
