using System;
using System.Collections.Generic;

namespace ConvGen.Reporting;

/// <summary>
/// One point of a training history: the training figures over a stretch of training ending at <see cref="Step"/>
/// (an epoch, or a segment of steps), and the validation figures measured at that point.
/// </summary>
/// <param name="Step">Where the point lies on the x axis: an epoch number, or the number of training steps so far.</param>
/// <param name="Loss">Mean training loss over the stretch.</param>
/// <param name="Accuracy">Training accuracy over the stretch, in [0, 1].</param>
/// <param name="ValidationLoss">Loss on the validation data, or NaN when there is none.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation data, in [0, 1], or NaN when there is none.</param>
public readonly record struct HistoryPoint(double Step, float Loss, float Accuracy, float ValidationLoss = float.NaN, float ValidationAccuracy = float.NaN)
{
    /// <summary>One point per epoch of <see cref="Model.Fit"/>'s history, with the epoch number as <see cref="Step"/>.</summary>
    public static HistoryPoint[] FromEpochs(IEnumerable<EpochResult> epochs)
    {
        ArgumentNullException.ThrowIfNull(epochs);
        var points = new List<HistoryPoint>();
        foreach (var e in epochs) points.Add(new HistoryPoint(e.Epoch, e.Loss, e.Accuracy, e.ValidationLoss, e.ValidationAccuracy));
        return points.ToArray();
    }
}

/// <summary>
/// The weights of a convolution in HWIO layout (<c>[Height, Width, InputChannels, Filters]</c>, filters fastest), as
/// every ConvGen convolution stores them; the report draws each filter as a small image.
/// </summary>
/// <param name="Weights">The <c>Height * Width * InputChannels * Filters</c> weights.</param>
/// <param name="Height">Kernel rows.</param>
/// <param name="Width">Kernel columns.</param>
/// <param name="InputChannels">Input channels; each is drawn as its own image within the filter's tile.</param>
/// <param name="Filters">Output channels: one tile each.</param>
public sealed record KernelWeights(float[] Weights, int Height, int Width, int InputChannels, int Filters)
{
    /// <summary>The weight of tap (<paramref name="row"/>, <paramref name="column"/>) from <paramref name="channel"/> into <paramref name="filter"/>.</summary>
    public float this[int row, int column, int channel, int filter] => Weights[((row * Width + column) * InputChannels + channel) * Filters + filter];

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Weights, nameof(Weights));
        if (Height < 1 || Width < 1 || InputChannels < 1 || Filters < 1)
            throw new ArgumentException($"Kernel dimensions must be at least 1; got [{Height}, {Width}, {InputChannels}, {Filters}].", nameof(Weights));
        if ((long)Height * Width * InputChannels * Filters != Weights.Length)
            throw new ArgumentException($"The kernel has {Weights.Length} weights; expected [Height, Width, InputChannels, Filters] = [{Height}, {Width}, {InputChannels}, {Filters}] = {(long)Height * Width * InputChannels * Filters}.", nameof(Weights));
    }
}

/// <summary>
/// A classifier's results on labelled test data: what it predicted and what was true, and optionally the images
/// themselves (for the row of misclassified examples).
/// </summary>
/// <param name="Predicted">The predicted class of every sample.</param>
/// <param name="Labels">The true class of every sample.</param>
/// <param name="Classes">Number of classes; every prediction and label is in <c>[0, Classes)</c>.</param>
public sealed record TestResults(int[] Predicted, int[] Labels, int Classes)
{
    /// <summary>The samples' images, NHWC with pixels in [0, 1] (values outside are clamped), or empty to draw none.</summary>
    public ReadOnlyMemory<float> Images { get; init; }

    /// <summary>Rows of one image.</summary>
    public int ImageHeight { get; init; }

    /// <summary>Columns of one image.</summary>
    public int ImageWidth { get; init; }

    /// <summary>Channels of one image: 1 (grey, drawn dark on light, like ink) or 3 (RGB).</summary>
    public int ImageChannels { get; init; } = 1;

    /// <summary>Display names of the classes, or null for their numbers.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>The index of the largest score in each row of <paramref name="scores"/> (rows of <paramref name="classes"/> scores, e.g. logits): the predicted classes.</summary>
    public static int[] ArgMax(ReadOnlySpan<float> scores, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        if (scores.Length % classes != 0)
            throw new ArgumentException($"{scores.Length} scores do not make rows of {classes}.", nameof(scores));
        var best = new int[scores.Length / classes];
        for (int r = 0; r < best.Length; r++)
        {
            var row = scores.Slice(r * classes, classes);
            for (int c = 1; c < classes; c++)
                if (row[c] > row[best[r]]) best[r] = c;
        }
        return best;
    }

    /// <summary>
    /// The confusion matrix: <c>[true class, predicted class]</c> is the number of samples of that class predicted as that
    /// class, so the diagonal holds the correct predictions.
    /// </summary>
    public int[,] ConfusionMatrix()
    {
        Validate();
        var counts = new int[Classes, Classes];
        for (int i = 0; i < Labels.Length; i++) counts[Labels[i], Predicted[i]]++;
        return counts;
    }

    /// <summary>The name shown for <paramref name="label"/>.</summary>
    public string ClassName(int label) => ClassNames is { } names && label < names.Count ? names[label] : label.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Whether <see cref="Images"/> holds one image per sample.</summary>
    internal bool HasImages => !Images.IsEmpty;

    internal int ImageSize => ImageHeight * ImageWidth * ImageChannels;

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Predicted, nameof(Predicted));
        ArgumentNullException.ThrowIfNull(Labels, nameof(Labels));
        ArgumentOutOfRangeException.ThrowIfLessThan(Classes, 1, nameof(Classes));
        if (Predicted.Length != Labels.Length)
            throw new ArgumentException($"There are {Predicted.Length} predictions but {Labels.Length} labels; they must match.", nameof(Predicted));
        for (int i = 0; i < Labels.Length; i++)
        {
            if ((uint)Labels[i] >= (uint)Classes) throw new ArgumentException($"Label {i} is {Labels[i]}, outside [0, {Classes}).", nameof(Labels));
            if ((uint)Predicted[i] >= (uint)Classes) throw new ArgumentException($"Prediction {i} is {Predicted[i]}, outside [0, {Classes}).", nameof(Predicted));
        }
        if (ClassNames is { } names && names.Count != Classes)
            throw new ArgumentException($"There are {names.Count} class names for {Classes} classes.", nameof(ClassNames));
        if (!HasImages) return;
        if (ImageHeight < 1 || ImageWidth < 1 || ImageChannels is not (1 or 3))
            throw new ArgumentException($"Images must be at least 1x1 with 1 or 3 channels; got {ImageHeight}x{ImageWidth}x{ImageChannels}.", nameof(Images));
        if ((long)ImageSize * Labels.Length != Images.Length)
            throw new ArgumentException($"Images hold {Images.Length} values; expected {Labels.Length} images of {ImageHeight}x{ImageWidth}x{ImageChannels} = {(long)ImageSize * Labels.Length}.", nameof(Images));
    }
}
