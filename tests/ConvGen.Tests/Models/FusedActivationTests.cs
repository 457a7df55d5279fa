using System;
using System.Collections.Generic;
using System.Linq;
using ConvGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests.Models;

// For each activation: a compiled 2-D network whose Conv2D, DepthwiseConv2D, Add and Dense carry it, and a 1-D one whose
// Conv1D and Dense do; the references are the same layers with Activation.None followed by the separate activation layer.

[Input(6, 5, 3)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.ReLU, Name = "stem")]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, Activation = Activation.ReLU)]
[Add("stem", Activation = Activation.ReLU)]
[Flatten]
[Dense(5, Activation = Activation.ReLU)]
public partial class Fused2DReLU;

[Input(9, 3)]
[Conv1D(3, Filters = 4, Padding = Padding.Same, Activation = Activation.ReLU)]
[Flatten]
[Dense(6, Activation = Activation.ReLU)]
public partial class Fused1DReLU;

[Input(6, 5, 3)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.ReLU6, Name = "stem")]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, Activation = Activation.ReLU6)]
[Add("stem", Activation = Activation.ReLU6)]
[Flatten]
[Dense(5, Activation = Activation.ReLU6)]
public partial class Fused2DReLU6;

[Input(9, 3)]
[Conv1D(3, Filters = 4, Padding = Padding.Same, Activation = Activation.ReLU6)]
[Flatten]
[Dense(6, Activation = Activation.ReLU6)]
public partial class Fused1DReLU6;

[Input(6, 5, 3)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.LeakyReLU, Name = "stem")]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, Activation = Activation.LeakyReLU)]
[Add("stem", Activation = Activation.LeakyReLU)]
[Flatten]
[Dense(5, Activation = Activation.LeakyReLU)]
public partial class Fused2DLeakyReLU;

[Input(9, 3)]
[Conv1D(3, Filters = 4, Padding = Padding.Same, Activation = Activation.LeakyReLU)]
[Flatten]
[Dense(6, Activation = Activation.LeakyReLU)]
public partial class Fused1DLeakyReLU;

[Input(6, 5, 3)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.ELU, Name = "stem")]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, Activation = Activation.ELU)]
[Add("stem", Activation = Activation.ELU)]
[Flatten]
[Dense(5, Activation = Activation.ELU)]
public partial class Fused2DELU;

[Input(9, 3)]
[Conv1D(3, Filters = 4, Padding = Padding.Same, Activation = Activation.ELU)]
[Flatten]
[Dense(6, Activation = Activation.ELU)]
public partial class Fused1DELU;

[Input(6, 5, 3)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.Sigmoid, Name = "stem")]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, Activation = Activation.Sigmoid)]
[Add("stem", Activation = Activation.Sigmoid)]
[Flatten]
[Dense(5, Activation = Activation.Sigmoid)]
public partial class Fused2DSigmoid;

[Input(9, 3)]
[Conv1D(3, Filters = 4, Padding = Padding.Same, Activation = Activation.Sigmoid)]
[Flatten]
[Dense(6, Activation = Activation.Sigmoid)]
public partial class Fused1DSigmoid;

[Input(6, 5, 3)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.Tanh, Name = "stem")]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, Activation = Activation.Tanh)]
[Add("stem", Activation = Activation.Tanh)]
[Flatten]
[Dense(5, Activation = Activation.Tanh)]
public partial class Fused2DTanh;

[Input(9, 3)]
[Conv1D(3, Filters = 4, Padding = Padding.Same, Activation = Activation.Tanh)]
[Flatten]
[Dense(6, Activation = Activation.Tanh)]
public partial class Fused1DTanh;

[Input(6, 5, 3)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.Softmax, Name = "stem")]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, Activation = Activation.Softmax)]
[Add("stem", Activation = Activation.Softmax)]
[Flatten]
[Dense(5, Activation = Activation.Softmax)]
public partial class Fused2DSoftmax;

[Input(9, 3)]
[Conv1D(3, Filters = 4, Padding = Padding.Same, Activation = Activation.Softmax)]
[Flatten]
[Dense(6, Activation = Activation.Softmax)]
public partial class Fused1DSoftmax;

[Input(6, 5, 3)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.SiLU, Name = "stem")]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, Activation = Activation.SiLU)]
[Add("stem", Activation = Activation.SiLU)]
[Flatten]
[Dense(5, Activation = Activation.SiLU)]
public partial class Fused2DSiLU;

[Input(9, 3)]
[Conv1D(3, Filters = 4, Padding = Padding.Same, Activation = Activation.SiLU)]
[Flatten]
[Dense(6, Activation = Activation.SiLU)]
public partial class Fused1DSiLU;

[Input(6, 5, 3)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.GELU, Name = "stem")]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, Activation = Activation.GELU)]
[Add("stem", Activation = Activation.GELU)]
[Flatten]
[Dense(5, Activation = Activation.GELU)]
public partial class Fused2DGELU;

[Input(9, 3)]
[Conv1D(3, Filters = 4, Padding = Padding.Same, Activation = Activation.GELU)]
[Flatten]
[Dense(6, Activation = Activation.GELU)]
public partial class Fused1DGELU;

[Conv2D(3, 3, Filters = 4, InputChannels = 3, Padding = Padding.Same)]
public partial class FusedRefConv;

[DepthwiseConv2D(3, 3, InputChannels = 4, Padding = Padding.Same)]
public partial class FusedRefDepthwise;

[Conv1D(3, Filters = 4, InputChannels = 3, Padding = Padding.Same)]
public partial class FusedRefConv1D;

// [Conv2D] classes (static kernels, which never apply the activation) carrying a fused activation in a Sequential.
[Conv2D(3, 3, Filters = 4, InputChannels = 3, Padding = Padding.Same, Activation = Activation.SiLU)]
public partial class FusedClassSilu;

[Conv2D(3, 3, Filters = 4, InputChannels = 3, Padding = Padding.Same, Activation = Activation.GELU)]
public partial class FusedClassGelu;

[Conv2D(3, 3, Filters = 4, InputChannels = 3, Padding = Padding.Same, Activation = Activation.Softmax)]
public partial class FusedClassSoftmax;

[Conv2D(3, 3, Filters = 4, InputChannels = 3, Padding = Padding.Same, Activation = Activation.LeakyReLU)]
public partial class FusedClassLeaky;

/// <summary>
/// Several fused activations in one network, with a SiLU convolution followed by a 2x2 max pool (which must not fuse into the
/// convolution's kernel: only None and ReLU do) and a GELU depthwise convolution, both keeping their pre-activation.
/// </summary>
[Input(8, 6, 3)]
[Conv2D(3, 3, Filters = 5, Padding = Padding.Same, Activation = Activation.SiLU)]
[MaxPool2D(2)]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, Activation = Activation.GELU, Name = "dw")]
[Conv2D(1, 1, Filters = 5, Activation = Activation.ELU)]
[Add("dw", Activation = Activation.Tanh)]
[Flatten]
[Dense(7, Activation = Activation.LeakyReLU)]
[Dense(4, Activation = Activation.Softmax)]
public partial class MixedFusedNet;

/// <summary>
/// Every <see cref="Activation"/> fused into its producing layer against the layer with <see cref="Activation.None"/> followed
/// by the separate activation layer: forward, every parameter gradient and the input gradient, at 1 and 2 threads; central
/// differences through a network with several; no allocation per training step with a fused SiLU and GELU.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class FusedActivationTests(ITestOutputHelper output)
{
    private static Tensor RandomBatch(Shape sample, int batch, int seed)
    {
        var random = new Random(seed);
        var t = new Tensor(sample.WithBatch(batch));
        for (int i = 0; i < t.Length; i++) t.Span[i] = (float)(random.NextDouble() * 4 - 2);
        return t;
    }

    /// <summary>The separate layer computing what <paramref name="activation"/> computes fused.</summary>
    private static Layer Separate(Activation activation, string? name = null)
    {
        Layer layer = activation switch
        {
            Activation.ReLU => name is null ? new ReLU() : new ReLU { Name = name },
            Activation.ReLU6 => name is null ? new ReLU6() : new ReLU6 { Name = name },
            Activation.LeakyReLU => name is null ? new LeakyReLU(0.2f) : new LeakyReLU(0.2f) { Name = name },
            Activation.ELU => name is null ? new ELU(1f) : new ELU(1f) { Name = name },
            Activation.Sigmoid => name is null ? new Sigmoid() : new Sigmoid { Name = name },
            Activation.Tanh => name is null ? new Tanh() : new Tanh { Name = name },
            Activation.Softmax => name is null ? new Softmax() : new Softmax { Name = name },
            Activation.SiLU => name is null ? new SiLU() : new SiLU { Name = name },
            Activation.GELU => name is null ? new GELU() : new GELU { Name = name },
            _ => throw new ArgumentOutOfRangeException(nameof(activation)),
        };
        return layer;
    }

    private static Model Fused2D(Activation a, int seed) => a switch
    {
        Activation.ReLU => new Fused2DReLU(maxBatchSize: 4, seed: seed),
        Activation.ReLU6 => new Fused2DReLU6(maxBatchSize: 4, seed: seed),
        Activation.LeakyReLU => new Fused2DLeakyReLU(maxBatchSize: 4, seed: seed),
        Activation.ELU => new Fused2DELU(maxBatchSize: 4, seed: seed),
        Activation.Sigmoid => new Fused2DSigmoid(maxBatchSize: 4, seed: seed),
        Activation.Tanh => new Fused2DTanh(maxBatchSize: 4, seed: seed),
        Activation.Softmax => new Fused2DSoftmax(maxBatchSize: 4, seed: seed),
        Activation.SiLU => new Fused2DSiLU(maxBatchSize: 4, seed: seed),
        Activation.GELU => new Fused2DGELU(maxBatchSize: 4, seed: seed),
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    private static Model Fused1D(Activation a, int seed) => a switch
    {
        Activation.ReLU => new Fused1DReLU(maxBatchSize: 4, seed: seed),
        Activation.ReLU6 => new Fused1DReLU6(maxBatchSize: 4, seed: seed),
        Activation.LeakyReLU => new Fused1DLeakyReLU(maxBatchSize: 4, seed: seed),
        Activation.ELU => new Fused1DELU(maxBatchSize: 4, seed: seed),
        Activation.Sigmoid => new Fused1DSigmoid(maxBatchSize: 4, seed: seed),
        Activation.Tanh => new Fused1DTanh(maxBatchSize: 4, seed: seed),
        Activation.Softmax => new Fused1DSoftmax(maxBatchSize: 4, seed: seed),
        Activation.SiLU => new Fused1DSiLU(maxBatchSize: 4, seed: seed),
        Activation.GELU => new Fused1DGELU(maxBatchSize: 4, seed: seed),
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    private static Model Reference2D(Activation a) => new Sequential(
        new FusedRefConv(), Separate(a, "stem"), new FusedRefDepthwise(), Separate(a), new Add("stem"), Separate(a),
        new Flatten(), new Dense(5), Separate(a)).Build(new Shape(6, 5, 3), seed: 99);

    private static Model Reference1D(Activation a) => new Sequential(
        new FusedRefConv1D(), Separate(a), new Flatten(), new Dense(6), Separate(a)).Build(new Shape(9, 3), seed: 99);

    /// <summary>Copies the weights (both models declare the same parameters in the same order) and gives every bias a non-zero value.</summary>
    private static void CopyWeights(Model from, Model to)
    {
        Assert.Equal(from.Parameters.Count, to.Parameters.Count);
        var random = new Random(5);
        for (int p = 0; p < from.Parameters.Count; p++)
        {
            var source = from.Parameters[p].Value.Span;
            if (from.Parameters[p].Value.Shape.Rank == 1)
                for (int i = 0; i < source.Length; i++) source[i] = (float)(random.NextDouble() - 0.5);
            Assert.Equal(source.Length, to.Parameters[p].Value.Length);
            source.CopyTo(to.Parameters[p].Value.Span);
        }
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = 0f;
        foreach (float v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
        {
            double allowed = 1e-5 * Math.Max(Math.Abs(expected[i]), Math.Abs(actual[i])) + 1e-6 * scale + 1e-30;
            Assert.True(Math.Abs(expected[i] - actual[i]) <= allowed, $"{what}[{i}]: separate {expected[i]:R}, fused {actual[i]:R}");
        }
    }

    /// <summary>Forward (a batch, and one sample, which a convolution splits by rows on several threads), backward with a random output gradient: output, parameter gradients, input gradient.</summary>
    private void Compare(Model fused, Model reference, int threads, string label)
    {
        using var scope = new ThreadScope(threads);
        CopyWeights(fused, reference);
        foreach (int batch in new[] { 3, 1 })
        {
            var x = RandomBatch(fused.InputShape, batch, seed: 7 + batch);
            var yFused = fused.Forward(x);
            var yReference = reference.Forward(x);
            AssertClose(yReference.Span, yFused.Span, $"{label} batch {batch} output");
            var dy = RandomBatch(fused.OutputShape, batch, seed: 11);
            var dxFused = new Tensor(x.Shape);
            var dxReference = new Tensor(x.Shape);
            fused.ZeroGradients();
            reference.ZeroGradients();
            fused.Backward(new Tensor(dy.Shape, dy.Span.ToArray()), dxFused);
            reference.Backward(new Tensor(dy.Shape, dy.Span.ToArray()), dxReference);
            AssertClose(dxReference.Span, dxFused.Span, $"{label} batch {batch} input gradient");
            for (int p = 0; p < fused.Parameters.Count; p++)
                AssertClose(reference.Parameters[p].Gradient.Span, fused.Parameters[p].Gradient.Span, $"{label} batch {batch} gradient {p}");
        }
    }

    [Theory]
    [InlineData(Activation.ReLU)]
    [InlineData(Activation.ReLU6)]
    [InlineData(Activation.LeakyReLU)]
    [InlineData(Activation.ELU)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Softmax)]
    [InlineData(Activation.SiLU)]
    [InlineData(Activation.GELU)]
    public void A_compiled_network_with_fused_activations_equals_separate_activation_layers(Activation activation)
    {
        foreach (int threads in new[] { 1, 2 })
        {
            Compare(Fused2D(activation, seed: 3), Reference2D(activation), threads, $"2-D {activation}, {threads} thread(s)");
            Compare(Fused1D(activation, seed: 3), Reference1D(activation), threads, $"1-D {activation}, {threads} thread(s)");
        }
    }

    [Theory]
    [InlineData(Activation.ReLU)]
    [InlineData(Activation.ReLU6)]
    [InlineData(Activation.LeakyReLU)]
    [InlineData(Activation.ELU)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Softmax)]
    [InlineData(Activation.SiLU)]
    [InlineData(Activation.GELU)]
    public void A_Sequential_with_fused_activations_equals_separate_activation_layers(Activation activation)
    {
        foreach (int threads in new[] { 1, 2 })
        {
            var fused = new Sequential(new FusedRefConv1D { }, new Flatten(), new Dense(6, activation)).Build(new Shape(9, 3), seed: 4);
            var reference = new Sequential(new FusedRefConv1D(), new Flatten(), new Dense(6), Separate(activation)).Build(new Shape(9, 3), seed: 4);
            Compare(fused, reference, threads, $"Dense {activation}, {threads} thread(s)");
            var added = new Sequential(new FusedRefConv(), new FusedRefConv { Name = "second", Input = "input" }, new Add("conv2d") { Activation = activation },
                new Flatten(), new Dense(3)).Build(new Shape(6, 5, 3), seed: 4);
            var addedReference = new Sequential(new FusedRefConv(), new FusedRefConv { Name = "second", Input = "input" }, new Add("conv2d"), Separate(activation),
                new Flatten(), new Dense(3)).Build(new Shape(6, 5, 3), seed: 4);
            Compare(added, addedReference, threads, $"Add {activation}, {threads} thread(s)");
        }
    }

    public static IEnumerable<object[]> ClassCases() =>
    [
        [Activation.SiLU], [Activation.GELU], [Activation.Softmax], [Activation.LeakyReLU],
    ];

    [Theory]
    [MemberData(nameof(ClassCases))]
    public void A_Conv2D_class_carrying_an_activation_equals_the_separate_layer(Activation activation)
    {
        Layer Fused() => activation switch
        {
            Activation.SiLU => new FusedClassSilu(),
            Activation.GELU => new FusedClassGelu(),
            Activation.Softmax => new FusedClassSoftmax(),
            _ => new FusedClassLeaky(),
        };
        foreach (int threads in new[] { 1, 2 })
        {
            var fused = new Sequential(Fused(), new MaxPool2D(2), new Flatten(), new Dense(3)).Build(new Shape(6, 4, 3), seed: 4);
            var reference = new Sequential(new FusedRefConv(), Separate(activation), new MaxPool2D(2), new Flatten(), new Dense(3)).Build(new Shape(6, 4, 3), seed: 4);
            Assert.All(fused.Nodes, n => Assert.Null(n.ForwardComputedBy));
            Compare(fused, reference, threads, $"[Conv2D] {activation}, {threads} thread(s)");
        }
    }

    [Fact]
    public void Fused_activations_pass_central_differences()
    {
        var net = new MixedFusedNet(maxBatchSize: 2, seed: 5);
        Assert.All(net.Nodes, n => Assert.Null(n.ForwardComputedBy));
        var x = RandomBatch(net.InputShape, 2, seed: 6);
        for (int i = 0; i < x.Length; i++) x.Span[i] *= 0.5f;
        var result = ModelGradientCheck.Check(net, x, seed: 7);
        output.WriteLine($"{result.Checked} checked, {result.Skipped} skipped");
        Assert.Empty(result.Failures);
        Assert.True(result.Checked > 100, $"only {result.Checked} positions checked");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_training_step_with_fused_SiLU_and_GELU_allocates_nothing_after_warm_up(int threads)
    {
        using var scope = new ThreadScope(threads);
        var net = new MixedFusedNet(maxBatchSize: 16, seed: 1).Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy());
        var x = RandomBatch(net.InputShape, 16, seed: 1);
        var labels = Enumerable.Range(0, 16).Select(i => i % 4).ToArray();
        for (int i = 0; i < 20; i++) net.TrainStep(x, labels, out _);
        long thread = GC.GetAllocatedBytesForCurrentThread(), workers = CompiledNetwork.WorkerAllocatedBytes;
        for (int i = 0; i < 5; i++) net.TrainStep(x, labels, out _);
        long threadBytes = GC.GetAllocatedBytesForCurrentThread() - thread, workerBytes = CompiledNetwork.WorkerAllocatedBytes - workers;
        output.WriteLine($"{threads} thread(s): {threadBytes} B on the calling thread, {workerBytes} B on the workers");
        Assert.Equal(0, threadBytes);
        Assert.Equal(0, workerBytes);
    }
}
