// The sample's HTML report (ConvGen.Reporting.TrainingReport). It takes plain data only (the history, the first
// layer's HWIO kernel, the test outputs and the test set), so it does not care how the model was built or trained.
using System;
using System.Collections.Generic;
using System.Globalization;
using ConvGen;
using ConvGen.Data;
using ConvGen.Reporting;

/// <summary>Facts about a run, shown under the report's title.</summary>
/// <param name="Model">The model, in a few words.</param>
/// <param name="Run">What was trained: steps or epochs, batch size, seed.</param>
/// <param name="Speed">Training and inference speed.</param>
/// <param name="TestLoss">Loss on the whole test set.</param>
/// <param name="TestAccuracy">Accuracy on the whole test set.</param>
internal sealed record RunFacts(string Model, string Run, string Speed, float TestLoss, float TestAccuracy);

/// <summary>Writes the MNIST sample's report.</summary>
internal static class MnistReport
{
    /// <summary>In the tutorial's loop, every segment of this many steps is one point of the history.</summary>
    public const int SegmentSteps = 100;

    /// <summary>In the tutorial's loop, validation figures come from this many test images (all of them are used only at the end).</summary>
    public const int ValidationImages = 1000;

    /// <summary>
    /// Writes the report to <paramref name="path"/> and returns its full path. <paramref name="firstKernel"/> is the first
    /// convolution's kernel (HWIO); <paramref name="testScores"/> holds one row of 10 scores (e.g. logits) per test image.
    /// </summary>
    public static string Write(string path, RunFacts facts, IReadOnlyList<HistoryPoint> history, bool perEpoch,
        Tensor firstKernel, ReadOnlySpan<float> testScores, MnistSplit test)
    {
        var k = firstKernel.Shape;
        var report = new TrainingReport
        {
            Title = "ConvGen MNIST: training report",
            Summary =
            [
                ("model", facts.Model),
                ("run", facts.Run),
                ("speed", facts.Speed),
                ("test accuracy", facts.TestAccuracy.ToString("0.0000", CultureInfo.InvariantCulture)),
                ("test loss", facts.TestLoss.ToString("0.0000", CultureInfo.InvariantCulture)),
            ],
            History = history,
            HistoryAxis = perEpoch ? "epoch" : "training step",
            HistoryNote = perEpoch
                ? $"Training figures are means over the epoch; validation uses all {test.Count:N0} test images."
                : $"Each point covers {SegmentSteps} steps: training figures are means over those steps' batches, and validation " +
                  $"figures are measured at the end on the first {Math.Min(ValidationImages, test.Count):N0} test images.",
            FirstLayerKernel = new KernelWeights(firstKernel.Span.ToArray(), k[0], k[1], k[2], k[3]),
            Test = new TestResults(TestResults.ArgMax(testScores, 10), test.Labels, 10)
            {
                Images = test.Images.Span.ToArray(),
                ImageHeight = 28,
                ImageWidth = 28,
            },
        };
        return report.Save(path);
    }
}
