using ConvGen.Testing;
using System;
using System.Linq;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests.Models;

/// <summary>
/// What is deterministic, and what the thread count changes. Same seed, same <see cref="Parallelism.Threads"/> (and the same
/// <c>Vector&lt;float&gt;</c> width): bit-identical weights, run to run. A different thread count changes only the
/// convolutions' weight and bias gradients, which are the chunk-ordered sums of per-chunk gradients; everything else
/// (forward passes, conv input gradients, Dense, pooling, dropout, losses, optimizers) gives the same bits for any thread count.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class DeterminismTests(ITestOutputHelper output)
{
    private const int Steps = 6;

    private static Sequential ConvModel() => new(
        new SmallConv(), new MaxPool2D(2), new Flatten(), new Dense(16, Activation.ReLU), new Dropout(0.25f), new Dense(4));

    private static Sequential DenseModel() => new(
        new MaxPool2D(2), new Flatten(), new Dense(32, Activation.ReLU), new Dropout(0.25f), new Dense(16, Activation.ReLU), new Dense(4));

    /// <summary>A fresh model, built from a seed and trained for <see cref="Steps"/> steps of Adam at <paramref name="threads"/> threads.</summary>
    private static int[] Train(Func<Sequential> create, int threads, int batch)
    {
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.Threads = threads;
            var (x, y) = ModelTestData.RandomImages(batch * Steps, seed: 11);
            var model = create().Build(new Shape(28, 28, 1), seed: 7).Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
            var initial = ModelTestData.WeightBits(model);
            for (int s = 0; s < Steps; s++) model.TrainStep(x.SliceBatch(s * batch, batch), y.AsSpan(s * batch, batch));
            var trained = ModelTestData.WeightBits(model);
            Assert.NotEqual(initial, trained);
            Assert.All(trained, b => Assert.True(float.IsFinite(BitConverter.Int32BitsToSingle(b))));
            return trained;
        }
        finally
        {
            Parallelism.Threads = saved;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void The_same_seed_gives_bit_identical_weights_after_N_steps_in_fresh_models(int threads)
    {
        Assert.Equal(Train(ConvModel, threads, batch: 16), Train(ConvModel, threads, batch: 16));
    }

    [Fact]
    public void Without_convolutions_the_thread_count_changes_no_bit()
    {
        // Batch 64 so the pooling and the GEMMs really split: 64 x 196 x 4 pooling reads, 64 x 32 x 196 multiply-adds.
        var one = Train(DenseModel, 1, batch: 64);
        Assert.Equal(one, Train(DenseModel, 2, batch: 64));
        Assert.Equal(one, Train(DenseModel, 3, batch: 64));
    }

    [Fact]
    public void With_convolutions_the_thread_count_changes_only_how_chunk_gradients_are_summed()
    {
        var one = Train(ConvModel, 1, batch: 16);
        var two = Train(ConvModel, 2, batch: 16);
        output.WriteLine($"conv model after {Steps} steps: {one.Zip(two).Count(p => p.First != p.Second)} of {one.Length} weights differ between 1 and 2 threads");
    }

    public static TheoryData<string> ConvLayers => new() { nameof(SmallConv), nameof(MnistConv2) };

    [Theory]
    [MemberData(nameof(ConvLayers))]
    public void A_conv_layer_gives_the_same_outputs_and_input_gradients_at_any_thread_count_and_chunk_ordered_weight_gradients(string which)
    {
        Layer conv = which == nameof(SmallConv) ? new SmallConv() : new MnistConv2();
        var sample = which == nameof(SmallConv) ? new Shape(12, 12, 1) : new Shape(8, 8, 32);
        const int batch = 7;
        var layer = new LayerHarness(conv, sample, seed: 3);
        var outShape = layer.Model.OutputShape.WithBatch(batch);
        var rng = new Random(5);
        var x = new Tensor(sample.WithBatch(batch), Enumerable.Range(0, sample.Size * batch).Select(_ => rng.NextSingle() - 0.5f).ToArray());
        var dy = new Tensor(outShape, Enumerable.Range(0, outShape.Size).Select(_ => rng.NextSingle() - 0.5f).ToArray());

        (int[] Output, int[] InputGradient, int[] Kernel, int[] Bias) Run(Tensor input, Tensor gradient)
        {
            layer.Model.ZeroGradients();
            var y = ModelTestData.Bits(layer.Forward(input, training: true));
            var dx = ModelTestData.Bits(layer.Backward(gradient));
            return (y, dx, ModelTestData.Bits(conv.Parameters[0].Gradient), ModelTestData.Bits(conv.Parameters[1].Gradient));
        }

        int saved = Parallelism.Threads;
        try
        {
            Parallelism.Threads = 1;
            var single = Run(x, dy);
            foreach (int threads in new[] { 2, 3 })
            {
                Parallelism.Threads = threads;
                var split = Run(x, dy);
                Assert.Equal(single.Output, split.Output);
                Assert.Equal(single.InputGradient, split.InputGradient);

                // The weight and bias gradients at T threads are exactly the per-chunk gradients, each computed on its own
                // rows, added in chunk order: (g0 + g1) + g2.
                Parallelism.Threads = 1;
                float[]? kernel = null, bias = null;
                for (int c = 0; c < threads; c++)
                {
                    var (s, e) = Parallelism.ChunkRange(batch, threads, c);
                    var part = Run(x.SliceBatch(s, e - s), dy.SliceBatch(s, e - s));
                    kernel = Add(kernel, part.Kernel);
                    bias = Add(bias, part.Bias);
                }
                Assert.Equal(BitsOf(kernel!), split.Kernel);
                Assert.Equal(BitsOf(bias!), split.Bias);
                output.WriteLine($"{which}, {threads} threads: {single.Kernel.Zip(split.Kernel).Count(p => p.First != p.Second)} of {single.Kernel.Length} kernel gradients differ from 1 thread");
            }
        }
        finally
        {
            Parallelism.Threads = saved;
        }
    }

    private static int[] BitsOf(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();

    private static float[] Add(float[]? sum, int[] bits)
    {
        var values = bits.Select(BitConverter.Int32BitsToSingle).ToArray();
        if (sum is null) return values;
        for (int i = 0; i < sum.Length; i++) sum[i] += values[i];
        return sum;
    }
}
