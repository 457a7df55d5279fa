using ConvGen.Testing;
using System;
using System.IO;
using System.Linq;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests.Models;

/// <summary>
/// A compiled network against the runtime Sequential of the same layers (the independent reference: separately written
/// layers, buffers and threading), same seed and data: weights, predictions, gradients and training agree.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class CompiledNetworkTests(ITestOutputHelper output)
{
    private static Sequential SmallSequential(int seed) => new Sequential(
        new SmallNetConv1(), new SmallNetConv2(), new MaxPool2D(2), new Flatten(),
        new Dense(7, Activation.ReLU), new Dense(3, useBias: false)).Build(new Shape(13, 11, 2), seed);

    private static Sequential TutorialSequential(int seed) => new Sequential(
        new MnistConv1(), new MaxPool2D(2), new MnistConv2(), new MaxPool2D(2),
        new Flatten(), new Dense(1024, Activation.ReLU), new Dense(10)).Build(new Shape(28, 28, 1), seed);

    private static Tensor RandomBatch(Shape sample, int batch, int seed)
    {
        var random = new Random(seed);
        var t = new Tensor(sample.WithBatch(batch));
        var span = t.Span;
        for (int i = 0; i < span.Length; i++) span[i] = (float)(random.NextDouble() * 2 - 1);
        return t;
    }

    private static int[] RandomLabels(int count, int classes, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next(classes)).ToArray();
    }

    /// <summary>|a - b| &lt;= tolerance * (1 + |b|) element by element; reports the worst element.</summary>
    private void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]) / (1 + Math.Abs(expected[i]));
            if (!(error <= worst)) (worst, at) = (error, i);
        }
        output.WriteLine($"{what}: worst relative difference {worst:E2}{(at >= 0 ? $" at {at}" : "")} over {expected.Length} values");
        Assert.True(worst <= tolerance, $"{what}: element {at} is {(at >= 0 ? actual[at] : 0)}, expected {(at >= 0 ? expected[at] : 0)} (relative difference {worst:E2} > {tolerance:E0})");
    }

    private static float[] SequentialGradients(Sequential model)
        => model.Parameters.SelectMany(p => p.Gradient.Span.ToArray()).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Small_network_matches_the_Sequential_of_the_same_layers_forward_and_backward(int threads)
    {
        using var scope = new ThreadScope(threads);
        {
            var net = new SmallNet(maxBatchSize: 9, seed: 5);
            var sequential = SmallSequential(seed: 5);

            // Same seed, same initial weights, same names.
            Assert.Equal(sequential.NamedParameters().Select(p => p.Name), net.NamedParameters().Select(p => p.Name));
            foreach (var ((_, expected), (name, actual)) in sequential.NamedParameters().Zip(net.NamedParameters()))
                Assert.True(expected.Span.SequenceEqual(actual.Span), $"{name} initialized differently");

            foreach (int batch in new[] { 9, 1, 5 })
            {
                var x = RandomBatch(net.InputShape, batch, seed: batch);
                var y = sequential.Forward(x, training: true);
                var yNet = net.Forward(x);
                Assert.Equal(y.Shape, yNet.Shape);
                AssertClose(y.Span, yNet.Span, 1e-5f, $"forward, batch {batch}");

                var g = RandomBatch(net.OutputShape, batch, seed: 100 + batch);
                sequential.ZeroGradients();
                sequential.Backward(g);
                net.ZeroGradients();
                net.Backward(g);
                AssertClose(SequentialGradients(sequential), net.GradientBuffer, 1e-5f, $"gradients, batch {batch}");
            }
        }

    }

    /// <summary>A compiled network whose convolutions have the next 2x2 pool fused in, and the Sequential of the same layers.</summary>
    private static (CompiledNetwork Net, Sequential Sequential) FusedPair(string name, int maxBatchSize, int seed) => name switch
    {
        nameof(PoolFusedNet) => (new PoolFusedNet(maxBatchSize, seed), new Sequential(
            new PoolFusedConv1(), new MaxPool2D(2), new PoolFusedConv2(), new MaxPool2D(2), new Flatten(), new Dense(3))
            .Build(new Shape(12, 10, 3), seed)),
        nameof(StridedPoolFusedNet) => (new StridedPoolFusedNet(maxBatchSize, seed), new Sequential(
            new StridedPoolFusedConv1(), new MaxPool2D(2, padding: Padding.Same), new StridedPoolFusedConv2(), new MaxPool2D(2), new Flatten(), new Dense(5))
            .Build(new Shape(16, 15, 4), seed)),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [InlineData(nameof(PoolFusedNet), 1)]
    [InlineData(nameof(PoolFusedNet), 2)]
    [InlineData(nameof(StridedPoolFusedNet), 1)]
    [InlineData(nameof(StridedPoolFusedNet), 2)]
    public void Networks_with_a_fused_pool_match_the_Sequential_forward_backward_and_in_Predict(string name, int threads)
    {
        using var scope = new ThreadScope(threads);
        {
            var (net, sequential) = FusedPair(name, maxBatchSize: 9, seed: 7);
            AssertPoolsFused(net);
            foreach (var ((_, expected), (parameter, actual)) in sequential.NamedParameters().Zip(net.NamedParameters()))
                Assert.True(expected.Span.SequenceEqual(actual.Span), $"{parameter} initialized differently");

            foreach (int batch in new[] { 9, 1, 4 })
            {
                var x = RandomBatch(net.InputShape, batch, seed: 10 + batch);
                var y = sequential.Forward(x, training: true);
                AssertClose(y.Span, net.Forward(x).Span, 1e-5f, $"forward, batch {batch}");

                var g = RandomBatch(net.OutputShape, batch, seed: 200 + batch);
                sequential.ZeroGradients();
                sequential.Backward(g);
                net.ZeroGradients();
                net.Backward(g);
                AssertClose(SequentialGradients(sequential), net.GradientBuffer, 1e-5f, $"gradients, batch {batch}");

                // Predict skips storing the convolutions' own outputs; the pooled values it passes on are the same.
                AssertClose(y.Span, net.Predict(x, batchSize: 4).Span, 1e-5f, $"Predict, batch {batch}");
            }
        }

    }

    /// <summary>
    /// Whether each pool runs inside the convolution before it (layers 0 and 2 are the convolutions, 1 and 3 their pools, in
    /// both fused test networks), as the core planned it.
    /// </summary>
    private static void AssertPoolsFused(CompiledNetwork net)
    {
        Assert.Equal([null, "conv2d", null, "conv2d_1"], net.Nodes.Take(4).Select(n => n.ForwardComputedBy));
        // A Sequential of [Conv2D] classes (kernels for any input size) has no pooled kernel to fuse with.
        Assert.All(FusedPair(net.GetType().Name, 1, 0).Sequential.Nodes, n => Assert.Null(n.ForwardComputedBy));
    }

    [Fact]
    public void Backward_after_Predict_is_refused_because_Predict_keeps_only_what_inference_needs()
    {
        var net = new PoolFusedNet(maxBatchSize: 4, seed: 1);
        var x = RandomBatch(net.InputShape, 4, seed: 1);
        var g = RandomBatch(net.OutputShape, 4, seed: 2);
        net.Forward(x);
        net.ZeroGradients();
        net.Backward(g);
        var expected = net.GradientBuffer.ToArray();

        net.Forward(x);
        net.Predict(RandomBatch(net.InputShape, 3, seed: 3));
        var error = Assert.Throws<InvalidOperationException>(() => net.Backward(g));
        Assert.Contains("Predict or Evaluate ran after the last Forward", error.Message);

        // A new Forward stores every activation again, and the gradients are those of the first pass.
        net.Forward(x);
        net.ZeroGradients();
        net.Backward(g);
        Assert.True(expected.AsSpan().SequenceEqual(net.GradientBuffer), "gradients after Forward, Predict, Forward differ from Forward alone");
    }

    [Fact]
    public void Tutorial_network_trains_like_the_Sequential_of_the_same_layers()
    {
        var net = new TutorialNet(maxBatchSize: 8, seed: 3).Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        var sequential = TutorialSequential(seed: 3).Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        for (int step = 0; step < 3; step++)
        {
            var x = RandomBatch(net.InputShape, 8, seed: step);
            var labels = RandomLabels(8, 10, seed: step);
            float expected = sequential.TrainStep(x, labels, out int expectedCorrect);
            float actual = net.TrainStep(x, labels, out int correct);
            output.WriteLine($"step {step}: loss {expected} (Sequential) vs {actual} (compiled)");
            Assert.Equal(expected, actual, 4);
            Assert.Equal(expectedCorrect, correct);
        }
        var reference = sequential.NamedParameters().SelectMany(p => p.Tensor.Span.ToArray()).ToArray();
        AssertClose(reference, net.ParameterBuffer, 1e-4f, "weights after 3 Adam steps");
    }

    [Fact]
    public void Summary_equals_the_Sequential_summary()
    {
        string expected = TutorialSequential(seed: 0).Summary();
        output.WriteLine(expected);
        Assert.Equal(expected, new TutorialNet(maxBatchSize: 1).Summary());
        Assert.Equal(SmallSequential(seed: 0).Summary(), new SmallNet(maxBatchSize: 1).Summary());
        Assert.Equal(3_274_634, TutorialNet.TotalParameters);
        Assert.Equal(10, TutorialNet.OutputSize);
    }

    [Fact]
    public void Weights_saved_by_either_load_into_the_other()
    {
        string directory = Path.Combine(Path.GetTempPath(), "convgen-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var net = new SmallNet(maxBatchSize: 4, seed: 11);
            var sequential = SmallSequential(seed: 12);
            string fromNet = Path.Combine(directory, "net.weights"), fromSequential = Path.Combine(directory, "sequential.weights");
            net.SaveWeights(fromNet);
            sequential.SaveWeights(fromSequential);

            var x = RandomBatch(net.InputShape, 4, seed: 1);
            var expectedNet = net.Forward(x).Span.ToArray();
            var expectedSequential = sequential.Forward(x).Span.ToArray();

            sequential.LoadWeights(fromNet);
            net.LoadWeights(fromSequential);
            Assert.Equal(expectedNet, sequential.Forward(x).Span.ToArray());
            AssertClose(expectedSequential, net.Forward(x).Span, 1e-6f, "compiled network with the Sequential's weights");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_network_constructed_from_a_weights_file_equals_one_initialized_then_loaded()
    {
        string directory = Path.Combine(Path.GetTempPath(), "convgen-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            // NormNet has BatchNormalization state and a folded inference path; SmallNet none.
            var trained = new NormNet(maxBatchSize: 6, seed: 3).Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
            var x = RandomBatch(trained.InputShape, 6, seed: 4);
            for (int step = 0; step < 3; step++) trained.TrainStep(x, [0, 1, 2, 3, 0, 1]);
            string path = Path.Combine(directory, "norm.weights");
            trained.SaveWeights(path);

            var loaded = new NormNet(maxBatchSize: 6, seed: 9);
            loaded.LoadWeights(path);
            var constructed = new NormNet(path, maxBatchSize: 6);
            Assert.Equal(6, constructed.MaxBatchSize);
            foreach (var ((name, expected), (_, actual)) in loaded.NamedWeights().Zip(constructed.NamedWeights()))
                Assert.True(expected.Span.SequenceEqual(actual.Span), $"{name} differs from the loaded network's");
            Assert.Equal(trained.Predict(x).ToArray(), constructed.Predict(x).ToArray());
            Assert.Equal(loaded.Forward(x).ToArray(), constructed.Forward(x).ToArray());

            // It trains like the loaded one.
            constructed.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
            loaded.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
            constructed.TrainStep(x, [3, 2, 1, 0, 3, 2]);
            loaded.TrainStep(x, [3, 2, 1, 0, 3, 2]);
            Assert.Equal(loaded.ParameterBuffer.ToArray(), constructed.ParameterBuffer.ToArray());

            // Another network's file, a corrupt one, a missing one: the constructor fails and names what is wrong.
            string other = Path.Combine(directory, "small.weights");
            new SmallNet(maxBatchSize: 2, seed: 1).SaveWeights(other);
            var mismatch = Assert.Throws<ConvGen.Serialization.WeightsMismatchException>(() => new NormNet(other, maxBatchSize: 2));
            Assert.Contains("model has", mismatch.Message);
            var bytes = File.ReadAllBytes(path);
            bytes[^8] ^= 0x40; // in the last tensor's data, before the 4-byte checksum
            string corrupt = Path.Combine(directory, "corrupt.weights");
            File.WriteAllBytes(corrupt, bytes);
            Assert.Contains("checksum mismatch", Assert.Throws<InvalidDataException>(() => new NormNet(corrupt, maxBatchSize: 2)).Message);
            Assert.Throws<FileNotFoundException>(() => new NormNet(Path.Combine(directory, "none.weights")));
            Assert.Throws<ArgumentOutOfRangeException>(() => new NormNet(path, maxBatchSize: 0));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Wrong_input_shapes_and_batches_are_refused_with_both_shapes()
    {
        var net = new SmallNet(maxBatchSize: 4);
        var e = Assert.Throws<ShapeMismatchException>(() => net.Forward(new Tensor(new Shape(2, 11, 13, 2))));
        Assert.Contains("(2, 11, 13, 2)", e.Message);
        Assert.Contains("13, 11, 2", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => net.Forward(new Tensor(new Shape(5, 13, 11, 2))));
        Assert.Contains("1 to 4", e.Message);
        var labels = new int[3];
        Assert.Throws<InvalidOperationException>(() => net.TrainStep(new Tensor(new Shape(2, 13, 11, 2)), new int[2], out _));
        net.Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        e = Assert.Throws<ShapeMismatchException>(() => net.TrainStep(new Tensor(new Shape(2, 13, 11, 2)), labels));
        Assert.Contains("2 labels", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmallNet(maxBatchSize: 0));
    }

    [Fact]
    public void Predict_and_Evaluate_split_data_larger_than_the_maximum_batch()
    {
        var net = new SmallNet(maxBatchSize: 4, seed: 2);
        net.Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        var x = RandomBatch(net.InputShape, 11, seed: 3);
        var all = net.Predict(x);
        for (int i = 0; i < 11; i++)
            Assert.Equal(net.Forward(x.SliceBatch(i, 1)).Span.ToArray(), all.Span.Slice(i * 3, 3).ToArray());
        var (loss, accuracy) = net.Evaluate(x, RandomLabels(11, 3, seed: 4));
        Assert.True(float.IsFinite(loss) && loss > 0);
        Assert.InRange(accuracy, 0f, 1f);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_training_step_allocates_nothing_after_warm_up(int threads)
    {
        using var scope = new ThreadScope(threads);
        {
            var net = new TutorialNet(maxBatchSize: 50, seed: 1).Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
            var x = RandomBatch(net.InputShape, 50, seed: 1);
            var labels = RandomLabels(50, 10, seed: 1);
            for (int i = 0; i < 20; i++) net.TrainStep(x, labels, out _); // warm-up: JIT tiers, optimizer state, views

            // Every thread the step uses: the calling thread and the persistent workers, each counted exactly.
            long thread = GC.GetAllocatedBytesForCurrentThread(), workers = CompiledNetwork.WorkerAllocatedBytes;
            float loss = 0;
            for (int i = 0; i < 5; i++) loss += net.TrainStep(x, labels, out _);
            long threadBytes = GC.GetAllocatedBytesForCurrentThread() - thread, workerBytes = CompiledNetwork.WorkerAllocatedBytes - workers;
            output.WriteLine($"{threads} thread(s): 5 steps allocated {threadBytes} B on the calling thread and {workerBytes} B on the workers; mean loss {loss / 5}");
            Assert.Equal(0, threadBytes);
            Assert.Equal(0, workerBytes);
            if (threads > 1) Assert.True(CompiledNetwork.WorkerAllocatedBytes > 0, "the workers report their allocation (they allocated at start-up)");
        }

    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_Sequential_training_step_allocates_nothing_after_warm_up_either(int threads)
    {
        using var scope = new ThreadScope(threads);
        var model = TutorialSequential(seed: 1).Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        var x = RandomBatch(model.InputShape, 50, seed: 1);
        var labels = RandomLabels(50, 10, seed: 1);
        for (int i = 0; i < 20; i++) model.TrainStep(x, labels, out _);

        long thread = GC.GetAllocatedBytesForCurrentThread(), workers = Model.WorkerAllocatedBytes;
        for (int i = 0; i < 5; i++) model.TrainStep(x, labels, out _);
        long threadBytes = GC.GetAllocatedBytesForCurrentThread() - thread, workerBytes = Model.WorkerAllocatedBytes - workers;
        output.WriteLine($"{threads} thread(s): 5 Sequential steps allocated {threadBytes} B on the calling thread and {workerBytes} B on the workers");
        Assert.Equal(0, threadBytes);
        Assert.Equal(0, workerBytes);
    }

    [Fact]
    public void Forward_runs_in_training_or_inference_mode_and_keeps_what_Backward_needs()
    {
        var net = new SmallNet(maxBatchSize: 4, seed: 3);
        var x = RandomBatch(net.InputShape, 4, seed: 8);
        var inference = net.Forward(x).Span.ToArray();
        var training = net.Forward(x, training: true).Span.ToArray();
        Assert.Equal(inference, training); // no layer of SmallNet behaves differently in training
        net.ZeroGradients();
        net.Backward(RandomBatch(net.OutputShape, 4, seed: 9));
        Assert.Contains(net.GradientBuffer.ToArray(), g => g != 0);
    }

    [Fact]
    public void Fit_trains_a_compiled_network_with_the_runtime_loop()
    {
        // Three separable classes: the class is which third of the image is bright.
        var random = new Random(7);
        int count = 120;
        var images = new Tensor(new Shape(count, 13, 11, 2));
        var labels = new int[count];
        var span = images.Span;
        for (int n = 0; n < count; n++)
        {
            labels[n] = n % 3;
            for (int h = 0; h < 13; h++)
            for (int w = 0; w < 11; w++)
            for (int c = 0; c < 2; c++)
                span[((n * 13 + h) * 11 + w) * 2 + c] = (float)random.NextDouble() * 0.2f + (h * 3 / 13 == labels[n] ? 1f : 0f);
        }
        var options = new FitOptions { ValidationSplit = 0.25f, Seed = 3, Output = null };
        var net = new SmallNet(maxBatchSize: 16, seed: 1).Compile(new Adam(3e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        var history = net.Fit(images, labels, epochs: 4, batchSize: 16, options);
        var sequential = SmallSequential(seed: 1).Compile(new Adam(3e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        var expected = sequential.Fit(images, labels, epochs: 4, batchSize: 16, options);
        output.WriteLine(string.Join("\n", history));
        Assert.Equal(4, history.Count);
        Assert.True(history[^1].Loss < history[0].Loss, "training loss falls");
        // The same loop as Sequential.Fit: same shuffles, batches, validation split, hence the same training history.
        // Evaluate batches differently (the network's maximum batch, 16, against the Sequential's 500), so the
        // validation loss, a mean of per-batch means, may differ in the last bits.
        Assert.Equal(expected.Select(r => (r.Loss, r.Accuracy, r.ValidationAccuracy)), history.Select(r => (r.Loss, r.Accuracy, r.ValidationAccuracy)));
        AssertClose(expected.Select(r => r.ValidationLoss).ToArray(), history.Select(r => r.ValidationLoss).ToArray(), 1e-6f, "validation loss");
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Fit(images, labels, 1, batchSize: 17));
        labels[5] = 3;
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Fit(images, labels, 1, batchSize: 16, new FitOptions { Output = null }));
    }

    [Fact]
    public void A_step_that_goes_non_finite_is_refused_naming_the_layer_and_keeping_the_weights()
    {
        var net = new SmallNet(maxBatchSize: 4, seed: 2);
        var sgd = new SGD(1e4f);
        net.Compile(sgd, new SparseCategoricalCrossentropy(fromLogits: true));
        var x = RandomBatch(net.InputShape, 4, seed: 5);
        var labels = RandomLabels(4, 3, seed: 5);
        NonFiniteLossException? caught = null;
        float[] before = [];
        for (int step = 0; step < 50 && caught is null; step++)
        {
            before = net.ParameterBuffer.ToArray();
            try { net.TrainStep(x, labels); }
            catch (NonFiniteLossException e) { caught = e; }
        }
        Assert.NotNull(caught);
        output.WriteLine(caught!.Message);
        Assert.Equal(sgd.Iterations + 1, caught.Step);
        Assert.NotNull(caught.LayerName);
        Assert.Contains(caught.LayerName!, net.LayerNames);
        Assert.True(before.AsSpan().SequenceEqual(net.ParameterBuffer), "the failing step left the weights as they were");

        // A NaN in the input is named as such.
        var fresh = new SmallNet(maxBatchSize: 4, seed: 2);
        fresh.Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        x.Span[7] = float.NaN;
        var e2 = Assert.Throws<NonFiniteLossException>(() => fresh.TrainStep(x, labels));
        Assert.Contains("input", e2.Message);
        Assert.True(new SmallNet(maxBatchSize: 4, seed: 2).ParameterBuffer.SequenceEqual(fresh.ParameterBuffer));
    }
}
