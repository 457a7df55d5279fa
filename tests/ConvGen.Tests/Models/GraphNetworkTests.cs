using System;
using System.Linq;
using ConvGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests.Models;

/// <summary>
/// Compiled networks that are graphs (a residual block, branches, a concatenation) against the same graphs built at run time
/// from [Conv2D] classes and the runtime's layers: same weights for a seed, same outputs and gradients, at 1 and 2 threads and
/// at 16 and 8 floats a vector; and their gradients against central differences.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class GraphNetworkTests(ITestOutputHelper output)
{
    private static Sequential ResidualSequential(int seed) => new Sequential(
        new ResidualStem { Name = "stem" }, new ResidualConv1(), new ResidualConv2(), new Add("stem") { Activation = Activation.ReLU },
        new MaxPool2D(2), new Flatten(), new Dense(10)).Build(new Shape(28, 28, 1), seed);

    private static Sequential BranchSequential(int seed) => new Sequential(
        new BranchStem { Name = "stem" }, new BranchConv(), new Add("stem") { Activation = Activation.ReLU, Name = "block" },
        new BranchSide { Input = "stem" }, new Concatenate("block", "conv2d_1"), new MaxPool2D(2), new Flatten(), new Dense(4))
        .Build(new Shape(9, 7, 2), seed);

    private static Sequential NormSequential(int seed) => new Sequential(
        new NormConv1 { KernelL2 = 0.01f }, new BatchNormalization(0.9f), new NormConv2(), new MaxPool2D(2), new Flatten(), new Dense(6) { KernelL2 = 0.02f },
        new BatchNormalization(epsilon: 0.01f, center: false) { Name = "dense_norm" }, new Dense(4)).Build(new Shape(9, 7, 2), seed);

    private static Sequential ResNetishSequential(int seed) => new Sequential(
        new ResNetishStem(), new BatchNormalization(), new ReLU { Name = "stem" },
        new ResNetishConv(), new BatchNormalization(), new ReLU(),
        new ResNetishConv(), new BatchNormalization(), new Add("stem") { Activation = Activation.ReLU, Name = "block" },
        new ResNetishDown(), new BatchNormalization(), new ReLU { Name = "down" },
        new ResNetishProjection { Input = "block", Name = "projection" }, new Add("down", "projection") { Activation = Activation.ReLU },
        new AveragePool2D(2, padding: Padding.Same), new GlobalAveragePooling2D { Name = "gap" },
        new GlobalMaxPooling2D { Input = "block", Name = "gmp" }, new Concatenate("gap", "gmp"), new Dense(4)).Build(new Shape(10, 10, 3), seed);

    private static Sequential ActivationSequential(int seed) => new Sequential(
        new ZeroPadding2D(1, 0, 2, 1), new ActivationConv1(), new ReLU6(), new ActivationConv2(), new LeakyReLU(0.2f), new ActivationConv3(), new ELU(0.5f),
        new Flatten(), new Dropout(0.25f, 9), new Dense(6), new LeakyReLU(), new ELU(), new Tanh(), new Dense(5), new Sigmoid(), new Dense(3), new Softmax()).Build(new Shape(8, 8, 2), seed);

    private static Sequential InvertedSequential(int seed) => new Sequential(
        new InvertedStem(), new BatchNormalization(), new ReLU6 { Name = "stem" },
        new InvertedExpand(), new BatchNormalization(), new ReLU6(), new InvertedDepthwise(), new BatchNormalization(), new ReLU6(),
        new InvertedProject(), new BatchNormalization(), new Add("stem") { Name = "block" },
        new InvertedDilated(), new InvertedDown(), new GlobalAveragePooling2D(), new Dense(4)).Build(new Shape(11, 9, 3), seed);

    private static Sequential SequenceSequential(int seed) => new Sequential(
        new SequenceStem(), new BatchNormalization(), new SiLU { Name = "stem" }, new SequenceDilated(), new Add("stem"), new MaxPool1D(2),
        new SequenceDown(), new GELU(), new AveragePool1D(3, 1, Padding.Same), new GlobalAveragePooling1D { Name = "gap" },
        new GlobalMaxPooling1D { Input = "gelu", Name = "gmp" }, new Flatten { Input = "average_pooling1d", Name = "flat" },
        new Concatenate("gap", "gmp", "flat"), new Dense(6), new GELU(approximate: true), new Dense(4)).Build(new Shape(17, 5), seed);

    private static Sequential UpsamplingSequential(int seed) => new Sequential(
        new UpsamplingSkip { Name = "skip" }, new UpsamplingDown(), new UpsamplingUp(), new Add("skip") { Name = "merged" },
        new UpsamplingReduce(), new UpsamplingSpread(), new UpsamplingDilated { KernelL2 = 0.01f }, new MaxPool2D(2), new Flatten(), new Dense(4))
        .Build(new Shape(10, 8, 3), seed);

    private static Sequential ReshapeSequential(int seed) => new Sequential(
        new Reshape(12, 8), new ReshapeSequenceConv(), new Reshape(3, 4, -1), new ReshapeImageConv(), new Reshape(-1), new Dense(5)).Build(new Shape(6, 8, 2), seed);

    private static Sequential ResNeXtishSequential(int seed) => new Sequential(
        new ResNeXtStem(), new BatchNormalization(), new ReLU { Name = "stem" },
        new ResNeXtGrouped(), new BatchNormalization(), new ReLU(), new ResNeXtProject(), new BatchNormalization(),
        new Add("stem") { Name = "block", Activation = Activation.ReLU },
        new ResNeXtDown(), new ResNeXtChannelwise(), new ResNeXtShuffle(), new MaxPool2D(2), new GlobalAveragePooling2D(), new Dense(4)).Build(new Shape(10, 9, 8), seed);

    internal static (CompiledNetwork Net, Sequential Sequential) Pair(string name, int seed) => name switch
    {
        nameof(ResNeXtish) => (new ResNeXtish(maxBatchSize: 6, seed), ResNeXtishSequential(seed)),
        nameof(ReshapeNet) => (new ReshapeNet(maxBatchSize: 6, seed), ReshapeSequential(seed)),
        nameof(UpsamplingNet) => (new UpsamplingNet(maxBatchSize: 6, seed), UpsamplingSequential(seed)),
        nameof(SequenceNet) => (new SequenceNet(maxBatchSize: 6, seed), SequenceSequential(seed)),
        nameof(InvertedNet) => (new InvertedNet(maxBatchSize: 6, seed), InvertedSequential(seed)),
        nameof(ActivationNet) => (new ActivationNet(maxBatchSize: 6, seed), ActivationSequential(seed)),
        nameof(ResNetish) => (new ResNetish(maxBatchSize: 6, seed), ResNetishSequential(seed)),
        nameof(NormNet) => (new NormNet(maxBatchSize: 6, seed), NormSequential(seed)),
        nameof(ResidualNet) => (new ResidualNet(maxBatchSize: 6, seed), ResidualSequential(seed)),
        nameof(BranchNet) => (new BranchNet(maxBatchSize: 6, seed), BranchSequential(seed)),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static Tensor RandomBatch(Shape sample, int batch, int seed)
    {
        var random = new Random(seed);
        var t = new Tensor(sample.WithBatch(batch));
        for (int i = 0; i < t.Length; i++) t.Span[i] = (float)(random.NextDouble() * 2 - 1);
        return t;
    }

    private void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int at = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]) / (1 + Math.Abs(expected[i]));
            if (!(error <= worst)) (worst, at) = (error, i);
        }
        output.WriteLine($"{what}: worst relative difference {worst:E2}");
        Assert.True(worst <= 1e-5, $"{what}: element {at} is {actual[at]}, expected {expected[at]} (relative difference {worst:E2})");
    }

    [Theory]
    [InlineData(nameof(ResidualNet), 1, 16)]
    [InlineData(nameof(ResidualNet), 2, 8)]
    [InlineData(nameof(BranchNet), 1, 8)]
    [InlineData(nameof(BranchNet), 2, 16)]
    [InlineData(nameof(NormNet), 1, 16)]
    [InlineData(nameof(NormNet), 2, 8)]
    [InlineData(nameof(ResNetish), 1, 8)]
    [InlineData(nameof(ResNetish), 2, 16)]
    [InlineData(nameof(ActivationNet), 1, 16)]
    [InlineData(nameof(ActivationNet), 2, 8)]
    [InlineData(nameof(InvertedNet), 1, 16)]
    [InlineData(nameof(InvertedNet), 2, 8)]
    [InlineData(nameof(InvertedNet), 2, 4)]
    [InlineData(nameof(UpsamplingNet), 1, 16)]
    [InlineData(nameof(UpsamplingNet), 2, 8)]
    [InlineData(nameof(UpsamplingNet), 2, 4)]
    [InlineData(nameof(SequenceNet), 1, 16)]
    [InlineData(nameof(SequenceNet), 2, 8)]
    [InlineData(nameof(ReshapeNet), 1, 16)]
    [InlineData(nameof(ReshapeNet), 2, 8)]
    [InlineData(nameof(ResNeXtish), 1, 16)]
    [InlineData(nameof(ResNeXtish), 2, 8)]
    [InlineData(nameof(ResNeXtish), 2, 4)]
    public void A_graph_network_equals_the_same_graph_built_at_run_time(string name, int threads, int lanes)
    {
        using var scope = new ThreadScope(threads);
        using var width = new LanesScope(lanes);
        var (net, sequential) = Pair(name, seed: 4);
        Assert.Equal(sequential.LayerNames, net.LayerNames);
        Assert.Equal(sequential.Nodes.Select(n => n.Inputs), net.Nodes.Select(n => n.Inputs));
        Assert.Equal(sequential.Summary(), net.Summary());
        Assert.Equal(sequential.NamedParameters().Select(p => p.Name), net.NamedParameters().Select(p => p.Name));
        foreach (var ((_, expected), (parameter, actual)) in sequential.NamedParameters().Zip(net.NamedParameters()))
            Assert.True(expected.Span.SequenceEqual(actual.Span), $"{parameter} initialized differently");

        foreach (int batch in new[] { 6, 1, 5 })
        {
            var x = RandomBatch(net.InputShape, batch, seed: batch);
            AssertClose(sequential.Forward(x, training: true).Span, net.Forward(x, training: true).Span, $"{name} forward, batch {batch}");
            var g = RandomBatch(net.OutputShape, batch, seed: 50 + batch);
            var dx = new Tensor(x.Shape);
            var dxNet = new Tensor(x.Shape);
            sequential.ZeroGradients();
            sequential.Backward(g, dx);
            net.ZeroGradients();
            net.Backward(g, dxNet);
            AssertClose(sequential.GradientBuffer, net.GradientBuffer, $"{name} gradients, batch {batch}");
            AssertClose(dx.Span, dxNet.Span, $"{name} input gradient, batch {batch}");
            AssertClose(sequential.Predict(x).Span, net.Predict(x, batchSize: 4).Span, $"{name} Predict, batch {batch}");
        }
    }

    [Theory]
    [InlineData(nameof(NormNet), 1)]
    [InlineData(nameof(NormNet), 2)]
    [InlineData(nameof(ResNetish), 2)]
    [InlineData(nameof(InvertedNet), 2)]
    [InlineData(nameof(SequenceNet), 1)]
    [InlineData(nameof(ResNeXtish), 2)]
    public void A_compiled_network_with_batch_normalization_trains_and_keeps_statistics_as_at_run_time(string name, int threads)
    {
        using var scope = new ThreadScope(threads);
        var (net, sequential) = Pair(name, seed: 7);
        net.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
        sequential.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
        var x = RandomBatch(net.InputShape, 6, seed: 1);
        int[] labels = [0, 1, 2, 3, 0, 1];
        float first = 0, last = 0;
        for (int step = 0; step < 8; step++)
        {
            float a = sequential.TrainStep(x, labels), b = net.TrainStep(x, labels);
            Assert.True(Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(a)), $"step {step}: loss {b}, at run time {a}");
            if (step == 0) first = b;
            last = b;
        }
        Assert.True(last < first, $"the loss did not fall: {first} to {last}");
        Assert.Equal(sequential.NamedWeights().Select(w => w.Name), net.NamedWeights().Select(w => w.Name));
        AssertClose(sequential.ParameterBuffer, net.ParameterBuffer, "parameters after 8 steps");
        AssertClose(sequential.StateBuffer, net.StateBuffer, "moving statistics after 8 steps");
        Assert.Contains(net.StateBuffer.ToArray(), v => v != 0 && v != 1); // the statistics moved
        AssertClose(sequential.Predict(x).Span, net.Predict(x).Span, "inference with the moving statistics");
    }

    [Fact]
    public void The_gradients_of_the_ResNet_shaped_network_pass_central_differences()
    {
        var net = new ResNetish(maxBatchSize: 2, seed: 5);
        var x = RandomBatch(net.InputShape, 2, seed: 6);
        int checkedCount = ModelGradientCheck.AssertPasses(net, x, seed: 7, positionsPerTensor: 20, log: output.WriteLine);
        Assert.True(checkedCount > 150, $"only {checkedCount} derivatives checked");
    }

    [Fact]
    public void The_gradients_of_the_encoder_decoder_with_transposed_convolutions_pass_central_differences()
    {
        var net = new UpsamplingNet(maxBatchSize: 2, seed: 5);
        var x = RandomBatch(net.InputShape, 2, seed: 8);
        int checkedCount = ModelGradientCheck.AssertPasses(net, x, seed: 9, positionsPerTensor: 20, log: output.WriteLine);
        Assert.True(checkedCount > 150, $"only {checkedCount} derivatives checked");
    }

    [Fact]
    public void The_gradients_of_the_MobileNet_shaped_network_pass_central_differences()
    {
        var net = new InvertedNet(maxBatchSize: 2, seed: 5);
        var x = RandomBatch(net.InputShape, 2, seed: 8);
        int checkedCount = ModelGradientCheck.AssertPasses(net, x, seed: 9, positionsPerTensor: 20, log: output.WriteLine);
        Assert.True(checkedCount > 150, $"only {checkedCount} derivatives checked");
    }

    [Fact]
    public void The_gradients_of_the_ResNeXt_shaped_network_with_grouped_convolutions_pass_central_differences()
    {
        var net = new ResNeXtish(maxBatchSize: 2, seed: 5);
        // No 2x2 max pool is fused into a grouped convolution (its kernels have no pooled forward), here or at run time.
        Assert.All(net.Nodes, n => Assert.Null(n.ForwardComputedBy));
        Assert.All(ResNeXtishSequential(5).Nodes, n => Assert.Null(n.ForwardComputedBy));
        var x = RandomBatch(net.InputShape, 2, seed: 8);
        int checkedCount = ModelGradientCheck.AssertPasses(net, x, seed: 9, positionsPerTensor: 20, log: output.WriteLine);
        Assert.True(checkedCount > 150, $"only {checkedCount} derivatives checked");
    }

    [Fact]
    public void The_gradients_of_the_sequence_network_pass_central_differences()
    {
        var net = new SequenceNet(maxBatchSize: 2, seed: 3);
        var x = RandomBatch(net.InputShape, 2, seed: 4);
        int checkedCount = ModelGradientCheck.AssertPasses(net, x, seed: 5, positionsPerTensor: 30, log: output.WriteLine);
        Assert.True(checkedCount > 150, $"only {checkedCount} derivatives checked");
    }

    [Fact]
    public void The_gradients_of_a_small_graph_network_pass_central_differences()
    {
        var net = new BranchNet(maxBatchSize: 2, seed: 2);
        var x = RandomBatch(net.InputShape, 2, seed: 9);
        int checkedCount = ModelGradientCheck.AssertPasses(net, x, seed: 3, positionsPerTensor: 30, log: output.WriteLine);
        Assert.True(checkedCount > 100, $"only {checkedCount} derivatives checked");
    }

    /// <summary>
    /// The residual network's outputs and gradients against <see cref="ResidualReference"/>, plain loops in double precision,
    /// whose own gradients are checked by central differences in double (ε = 1e-6, far below any kink of this input: float
    /// central differences of a 28x28 ReLU network land on kinks too often to say anything).
    /// </summary>
    [Fact]
    public void The_residual_network_matches_a_double_precision_reference_whose_gradients_pass_central_differences()
    {
        var net = new ResidualNet(maxBatchSize: 1, seed: 5);
        var rng = new Random(12);
        foreach (var p in net.Parameters.Where(p => p.Name == "bias"))
            for (int i = 0; i < p.Value.Length; i++) p.Value.Span[i] = (float)(rng.NextDouble() - 0.5) * 0.2f;
        var reference = new ResidualReference(net.Parameters.Select(p => p.Value.ToArray().Select(v => (double)v).ToArray()).ToArray());

        // An input whose ReLU inputs and pool windows are all clear of their kinks by more than float's error.
        ResidualReference.Trace? trace = null;
        float[] x = [];
        for (int draw = 0; draw < 50 && (trace is null || ResidualReference.KinkMargin(trace) < 1e-5); draw++)
        {
            x = RandomConfigurationTests.RandomArray(rng, 28 * 28);
            trace = reference.Forward(x.Select(v => (double)v).ToArray());
        }
        Assert.True(ResidualReference.KinkMargin(trace!) >= 1e-5, "no input clear of the kinks in 50 draws");
        var input = new Tensor(new Shape(1, 28, 28, 1), x);

        AssertMatches(trace!.Y, net.Forward(input).ToArray(), "output");
        var g = RandomConfigurationTests.RandomArray(rng, 10);
        var dx = new Tensor(input.Shape);
        net.ZeroGradients();
        net.Backward(new Tensor(new Shape(1, 10), g), dx);
        var (expectedInput, expectedParameters) = reference.Gradients(trace, g.Select(v => (double)v).ToArray());
        AssertMatches(expectedInput, dx.ToArray(), "input gradient");
        for (int p = 0; p < net.Parameters.Count; p++)
            AssertMatches(expectedParameters[p], net.Parameters[p].Gradient.ToArray(), net.NamedParameters()[p].Name + " gradient");

        // The reference's analytic gradient against central differences of its forward pass.
        const double eps = 1e-6;
        int compared = 0;
        double Loss(double[] input) => reference.Forward(input).Y.Zip(g, (y, r) => y * r).Sum();
        void Probe(string what, double[] values, double[] analytic, Func<double> loss)
        {
            foreach (int i in Enumerable.Range(0, 12).Select(_ => rng.Next(values.Length)).Distinct())
            {
                double v = values[i];
                values[i] = v + eps;
                double plus = loss();
                values[i] = v - eps;
                double minus = loss();
                values[i] = v;
                double numeric = (plus - minus) / (2 * eps);
                Assert.True(Math.Abs(numeric - analytic[i]) <= 1e-5 * (1 + Math.Abs(analytic[i])), $"reference d/d{what}[{i}]: central difference {numeric}, analytic {analytic[i]}");
                compared++;
            }
        }
        var xd = trace.X.ToArray();
        Probe("input", xd, expectedInput, () => Loss(xd));
        for (int p = 0; p < reference.Parameters.Length; p++)
            Probe(net.NamedParameters()[p].Name, reference.Parameters[p], expectedParameters[p], () => Loss(trace.X));
        output.WriteLine($"output, input gradient and 8 parameter gradients match the reference; {compared} of its derivatives checked by central differences");
    }

    private void AssertMatches(double[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs(v)), worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]) / (1 + scale);
            Assert.True(error <= 1e-5, $"{what}[{i}] is {actual[i]}, the reference {expected[i]} (error {error:E2} of the largest, {scale:G4})");
            worst = Math.Max(worst, error);
        }
        output.WriteLine($"{what}: worst difference {worst:E2} of the largest value ({scale:G4})");
    }

    [Fact]
    public void The_plan_reads_the_stem_twice_and_lets_the_pool_apply_the_Adds_ReLU()
    {
        var net = new ResidualNet(maxBatchSize: 1);
        Assert.Equal(["stem", "conv2d", "conv2d_1", "add", "max_pooling2d", "flatten", "dense"], net.LayerNames);
        Assert.Equal(["conv2d_1", "stem"], net.Nodes[3].Inputs);
        Assert.Equal("max_pooling2d", net.Nodes[3].ReluAppliedBy);
        Assert.All(net.Nodes, n => Assert.Null(n.ForwardComputedBy)); // the pool reads the Add, not a convolution
        Assert.Equal(ResidualNet.TotalParameters, net.ParameterCount);
    }
}
