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
            "stateful" => new Sequential(
                new SmallConv(), new MaxPool2D(2), new Flatten(), new RunningMean(), new Dense(hidden, activation: Activation.ReLU), new Dense(Classes))
                .Build(new Shape(Side, Side, 1), seed),
            _ => throw new ArgumentException($"Unknown model '{kind}'; expected compiled, sequential or stateful.", nameof(kind)),
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

/// <summary>
/// Passes its input through and, in training, keeps a moving mean of it as non-trainable state (as BatchNormalization keeps
/// its moving statistics): each rank's differs, since each sees its own shards, until the group averages them.
/// </summary>
public sealed class RunningMean : Layer
{
    protected override string BaseName => "running_mean";

    protected override Shape Build(LayerBuild build)
    {
        build.AddState("moving_mean", build.InputShape, new Zeros());
        return build.InputShape;
    }

    protected override void RunForward(in NodeContext c)
    {
        if (c.Part != 0) return;
        int features = c.OutputShape.Size;
        var x = c.Input();
        x.CopyTo(c.Output);
        if (!c.Training) return;
        var mean = c.State(0);
        for (int i = 0; i < features; i++)
        {
            float sum = 0;
            for (int n = 0; n < c.Batch; n++) sum += x[n * features + i];
            mean[i] = 0.5f * mean[i] + 0.5f * sum / c.Batch;
        }
    }

    protected override void RunBackward(in NodeContext c)
    {
        if (c.Part != 0 || !c.ComputesInputGradient()) return;
        var dy = c.OutputGradient;
        var dx = c.InputGradient();
        for (int i = 0; i < dy.Length; i++) dx[i] = c.AccumulatesInputGradient() ? dx[i] + dy[i] : dy[i];
    }
}
