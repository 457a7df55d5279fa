using System;
using ConvGen;

namespace ConvGen.Mpi.Ranks;

/// <summary>
/// What the ranks train and on which data, shared by the MPI ranks and the tests' one-process reference: global batch
/// <c>k</c> is drawn from <c>new Random(seed * 7919 + k)</c>, so any process can make any batch without the ones before it.
/// </summary>
public static class Scenario
{
    public const int Side = 12, Classes = 10;

    /// <summary>The network, built, seeded and compiled; <paramref name="hidden"/> changes its shape (for the mismatch test).</summary>
    public static Model Build(string kind, int seed, int maxBatch, int hidden = 16)
    {
        Model model = kind switch
        {
            "compiled" => new SmallNet(maxBatch, seed),
            "sequential" => new Sequential(
                new SmallConv(), new MaxPool2D(2), new Flatten(), new Dense(hidden, activation: Activation.ReLU), new Dense(Classes))
                .Build(new Shape(Side, Side, 1), seed),
            _ => throw new ArgumentException($"Unknown model '{kind}'; expected compiled or sequential.", nameof(kind)),
        };
        return model.Compile(new Adam(3e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
    }

    /// <summary>Global batch <paramref name="step"/>: images with a class-dependent bright square, so the loss can fall.</summary>
    public static (Tensor Images, int[] Labels) Batch(int seed, int step, int batchSize)
    {
        var random = new Random(seed * 7919 + step);
        var images = new Tensor(new Shape(batchSize, Side, Side, 1));
        var labels = new int[batchSize];
        var x = images.Span;
        for (int i = 0; i < batchSize; i++)
        {
            int label = random.Next(Classes);
            labels[i] = label;
            for (int p = 0; p < Side * Side; p++) x[i * Side * Side + p] = (float)random.NextDouble() * 0.3f;
            int top = label / 4 * 3 + 1, left = label % 4 * 3;
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 3; c++) x[i * Side * Side + (top + r) * Side + left + c] += 0.7f;
        }
        return (images, labels);
    }

    /// <summary>All of batches <c>0 .. count-1</c> as one data set (for Fit and Evaluate).</summary>
    public static (Tensor Images, int[] Labels) Data(int seed, int count, int batchSize)
    {
        var images = new Tensor(new Shape(count * batchSize, Side, Side, 1));
        var labels = new int[count * batchSize];
        for (int k = 0; k < count; k++)
        {
            var (x, y) = Batch(seed, k, batchSize);
            x.Span.CopyTo(images.Span.Slice(k * x.Span.Length));
            y.CopyTo(labels, k * batchSize);
        }
        return (images, labels);
    }
}

[Input(Scenario.Side, Scenario.Side, 1)]
[Conv2D(3, 3, Filters = 6, Padding = Padding.Same, Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Conv2D(3, 3, Filters = 8, Padding = Padding.Same, Activation = Activation.ReLU, Name = "mid")]
[Conv2D(3, 3, Filters = 8, Padding = Padding.Same)]
[Add("mid", Activation = Activation.ReLU)]
[Flatten]
[Dense(16, Activation = Activation.ReLU)]
[Dense(Scenario.Classes)]
public partial class SmallNet;

[Conv2D(3, 3, Filters = 6, InputChannels = 1, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class SmallConv;
