using System;
using System.IO;

namespace ConvGen;

/// <summary>One epoch's figures, as <see cref="Model.Fit"/> reports them.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Loss">Mean training loss over the epoch's batches.</param>
/// <param name="Accuracy">Training accuracy over the epoch (argmax of the output equals the label).</param>
/// <param name="ValidationLoss">Loss on the validation data, or NaN without validation data.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation data, or NaN without validation data.</param>
/// <param name="ImagesPerSecond">Training throughput of the epoch.</param>
/// <param name="Seconds">Wall-clock time of the epoch's training.</param>
public sealed record EpochResult(int Epoch, float Loss, float Accuracy, float ValidationLoss, float ValidationAccuracy, double ImagesPerSecond, double Seconds);

/// <summary>Options of <see cref="Model.Fit"/> beyond the data, epochs and batch size.</summary>
public sealed class FitOptions
{
    /// <summary>Validation samples and labels, evaluated after every epoch. Takes precedence over <see cref="ValidationSplit"/>.</summary>
    public (Tensor Images, int[] Labels)? ValidationData { get; init; }

    /// <summary>Fraction of the training data, taken from its end before shuffling (as Keras does), held out for validation.</summary>
    public float ValidationSplit { get; init; }

    /// <summary>Shuffle the training samples every epoch (default true).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>
    /// Random crops, translations and flips applied to every training batch (not to validation data, which a crop centers
    /// instead), drawn from the augmentation's seed and the step number (counted across epochs from 0). Needs image inputs
    /// <c>(height, width, channels)</c>; with a crop, the images are larger than the model's input, which is the window's size.
    /// </summary>
    public Data.Augmentation? Augmentation { get; init; }

    /// <summary>Seed of the shuffling.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Epochs already done (Keras' <c>initial_epoch</c>), for resuming from a checkpoint: training runs epochs
    /// <c>InitialEpoch + 1</c> to <c>epochs</c>, after drawing the shuffles of the epochs before, so it sees the same batches as a
    /// run that never stopped.
    /// </summary>
    public int InitialEpoch { get; init; }

    /// <summary>Keras-style callbacks (<see cref="EarlyStopping"/>, <see cref="ModelCheckpoint"/>, or your own), called in order.</summary>
    public System.Collections.Generic.IReadOnlyList<Callback> Callbacks { get; init; } = [];

    /// <summary>Called after every epoch, after the <see cref="Callbacks"/>.</summary>
    public Action<EpochResult>? OnEpochEnd { get; init; }

    /// <summary>Where progress goes (default <see cref="Console.Out"/>; null for silence). In a data-parallel group only rank 0 writes.</summary>
    public TextWriter? Output { get; init; } = Console.Out;
}
