using System;
using System.Linq;
using ConvGen;
using ConvGen.Runtime.Tests.Layers;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Models;

/// <summary>A 3x3 'same' convolution of 4 channels, for graphs of images.</summary>
[Conv2D(3, 3, Filters = 4, InputChannels = 4, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class GraphConv;

/// <summary>A 1x1 convolution from 1 to 4 channels, the stem of the image graphs.</summary>
[Conv2D(1, 1, Filters = 4, InputChannels = 1)]
public partial class GraphStem;

/// <summary>
/// Models that are graphs: layers that read an earlier layer by name, <see cref="Add"/> and <see cref="Concatenate"/>, an
/// output read by several layers (whose gradients add up), and the errors that name what does not fit.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class ModelGraphTests
{
    private static Tensor Input(int seed, params int[] shape)
    {
        var x = TestData.Tensor(seed, shape);
        return x;
    }

    [Fact]
    public void Add_sums_its_inputs_and_passes_the_gradient_to_each()
    {
        var model = new Sequential(
            new Dense(2, useBias: false) { Name = "a" },
            new Dense(2, useBias: false) { Name = "b", Input = "input" },
            new Add("a", "b")).Build(new Shape(2));
        var a = (Dense)model.Layers[0];
        var b = (Dense)model.Layers[1];
        new float[] { 1, 0, 0, 1 }.CopyTo(a.Kernel.Value.Span);   // identity
        new float[] { 0, 2, 3, 0 }.CopyTo(b.Kernel.Value.Span);   // [[0, 2], [3, 0]]
        var y = model.Forward(new Tensor(new Shape(1, 2), [1, 10]));
        Assert.Equal(new float[] { 1 + 30, 10 + 2 }, y.ToArray());

        var dx = new Tensor(new Shape(1, 2));
        model.Backward(new Tensor(new Shape(1, 2), [1, 1]), dx);
        // dL/dx = I·1 + Bᵀ·1: both branches reach the shared input, and their gradients add.
        Assert.Equal(new float[] { 1 + 2, 1 + 3 }, dx.ToArray());
        Assert.Equal(new float[] { 1, 1, 10, 10 }, a.Kernel.Gradient.ToArray());
        Assert.Equal(new float[] { 1, 1, 10, 10 }, b.Kernel.Gradient.ToArray());
        Assert.Equal(["a", "b", "add"], model.LayerNames);
        Assert.Equal(["a", "b"], model.Nodes[2].Inputs);
        Assert.Equal(["input"], model.Nodes[1].Inputs);
    }

    [Theory]
    [InlineData(6000, 1)]
    [InlineData(6000, 2)]
    [InlineData(20000, 1)]
    [InlineData(20000, 2)]
    public void Add_of_several_inputs_with_an_activation_matches_plain_loops_in_Predict_and_Forward(int features, int threads)
    {
        using var scope = new ThreadScope(threads);
        var x = TestData.Tensor(features, 5, features);
        foreach (var (activation, f) in new (Activation, Func<double, double>)[]
                 {
                     (Activation.ReLU, v => Math.Max(v, 0)), (Activation.ReLU6, v => Math.Clamp(v, 0, 6)),
                     (Activation.Tanh, Math.Tanh), (Activation.SiLU, v => v / (1 + Math.Exp(-v))),
                 })
        {
            // y = f(tanh(x) + sigmoid(x) + 3x): three inputs, none of them a parameter.
            var model = new Sequential(new Tanh { Name = "t" }, new Sigmoid { Name = "s", Input = "input" },
                new Add("t", "s", "input", "input", "input") { Activation = activation }).Build(new Shape(features));
            var xs = x.ToArray();
            var expected = xs.Select(v => (float)f(Math.Tanh(v) + 1 / (1 + Math.Exp(-(double)v)) + 3.0 * v)).ToArray();
            foreach (var (what, actual) in new[] { ("Predict", model.Predict(x).ToArray()), ("Forward", model.Forward(x, training: true).ToArray()) })
            {
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5 * (1 + Math.Abs(expected[i])),
                        $"{activation}, {what}, {threads} threads: element {i} is {actual[i]}, expected {expected[i]}");
            }
        }
    }

    [Fact]
    public void Concatenate_joins_along_the_last_axis_in_order()
    {
        var model = new Sequential(new ReLU { Name = "r" }, new Sigmoid { Input = "input" }, new Concatenate("r", "sigmoid")).Build(new Shape(2, 1, 2));
        var x = new Tensor(new Shape(1, 2, 1, 2), [-1, 2, 3, -4]);
        var y = model.Forward(x).ToArray();
        Assert.Equal(new Shape(2, 1, 4), model.OutputShape);
        float S(float v) => 1 / (1 + MathF.Exp(-v));
        Assert.Equal(new[] { 0, 2, S(-1), S(2), 3, 0, S(3), S(-4) }, y, new ToleranceComparer(1e-6f));
    }

    public static TheoryData<string> Graphs => new()
    {
        "dense residual", "two readers", "add of one input twice", "concatenate with the input", "conv residual into a fused ReLU pool", "conv branches concatenated",
    };

    private static (Sequential Model, Tensor Input) Graph(string name) => name switch
    {
        "dense residual" => (new Sequential(
            new Dense(6, Activation.ReLU) { Name = "h" }, new Dense(6), new Add("h") { Activation = Activation.ReLU }, new Dense(3)), Input(1, 4, 5)),
        "two readers" => (new Sequential(
            new Dense(4, Activation.ReLU) { Name = "shared" }, new Dense(3) { Name = "left" }, new Dense(3) { Input = "shared" }, new Add("left", "dense")), Input(2, 3, 5)),
        "add of one input twice" => (new Sequential(new Dense(4) { Name = "d" }, new Add("d", "d"), new Tanh()), Input(3, 2, 3)),
        "concatenate with the input" => (new Sequential(new Dense(3, Activation.ReLU), new Concatenate("input", "dense"), new Dense(2)), Input(4, 3, 4)),
        "conv residual into a fused ReLU pool" => (new Sequential(
            new GraphStem { Name = "stem" }, new GraphConv(), new Add("stem") { Activation = Activation.ReLU }, new MaxPool2D(2), new Flatten(), new Dense(3)), Input(5, 2, 6, 6, 1)),
        "conv branches concatenated" => (new Sequential(
            new GraphStem { Name = "stem" }, new GraphConv { Name = "left" }, new GraphConv { Input = "stem" }, new Concatenate("left", "conv2d"), new AveragePool2D(2), new Flatten(), new Dense(2)), Input(6, 2, 4, 4, 1)),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Graphs_pass_central_differences_at_1_and_2_threads(string name)
    {
        foreach (int threads in new[] { 1, 2 })
        {
            using var scope = new ThreadScope(threads);
            var (model, x) = Graph(name);
            model.Build(x.Shape.WithoutBatch(), seed: 3);
            int checkedCount = ModelGradientCheck.AssertPasses(model, x, seed: 7);
            Assert.True(checkedCount > 15, $"{name}: only {checkedCount} derivatives checked");
        }
    }

    [Fact]
    public void A_ReLU_before_a_max_pool_is_applied_by_the_pool_when_the_pool_is_its_only_reader()
    {
        var (model, x) = Graph("conv residual into a fused ReLU pool");
        model.Build(x.Shape.WithoutBatch());
        Assert.Equal("max_pooling2d", model.Nodes[2].ReluAppliedBy); // the Add's ReLU
        Assert.Null(model.Nodes[1].ReluAppliedBy);                   // GraphConv's output is read by the Add, which cannot fold it
        Assert.All(model.Nodes, n => Assert.Null(n.ForwardComputedBy)); // [Conv2D] classes have no pooled kernel
    }

    [Fact]
    public void Unnamed_layers_get_Keras_names_around_the_named_ones()
    {
        var model = new Sequential(new Dense(3), new Dense(3) { Name = "dense_1" }, new Dense(3), new Add("dense", "dense_2") { Name = "sum" }, new Dense(2))
            .Build(new Shape(3));
        // "dense_1" is taken, so the third Dense becomes dense_2, and the last dense_3.
        Assert.Equal(["dense", "dense_1", "dense_2", "sum", "dense_3"], model.LayerNames);
        Assert.Equal(["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias", "dense_3/kernel", "dense_3/bias"],
            model.NamedParameters().Select(p => p.Name));
    }

    [Fact]
    public void The_summary_of_a_graph_says_what_each_layer_reads()
    {
        var (model, x) = Graph("dense residual");
        string summary = model.Build(x.Shape.WithoutBatch()).Summary();
        Assert.StartsWith("Model: \"functional\"", summary);
        Assert.Contains("Connected to", summary);
        Assert.Matches(@"add \(Add\)\s+\(None, 6\)\s+0\s+dense, h", summary);
        Assert.DoesNotContain("Connected to", new Sequential(new Dense(2)).Build(new Shape(3)).Summary());
    }

    [Fact]
    public void Graphs_that_do_not_fit_are_refused_naming_the_layer()
    {
        static string Refused<T>(Shape input, params Layer[] layers) where T : Exception
            => Assert.Throws<T>(() => new Sequential(layers).Build(input)).Message;

        Assert.Contains("Layer 1 (add) reads 'stme', but no layer has that name; the layers before it are: stem",
            Refused<ArgumentException>(new Shape(3), new Dense(3) { Name = "stem" }, new Add("stme")));
        Assert.Contains("Layer 0 (flatten) reads 'head', which is layer 1, after it",
            Refused<ArgumentException>(new Shape(3), new Flatten { Input = "head" }, new Dense(2) { Name = "head" }));
        Assert.Contains("Layer 1 (add) reads 'add', which is layer 1, itself",
            Refused<ArgumentException>(new Shape(3), new Dense(3), new Add("add")));
        Assert.Contains("Layers 0 and 1 are both named 'block'",
            Refused<ArgumentException>(new Shape(3), new Dense(3) { Name = "block" }, new Dense(3) { Name = "block" }));
        Assert.Contains("Layer 0 is named 'input', which names the model's input",
            Refused<ArgumentException>(new Shape(3), new Dense(3) { Name = "input" }));
        Assert.Contains("The output of layer 0 (dead) is never used",
            Refused<ArgumentException>(new Shape(3), new Dense(3) { Name = "dead" }, new Dense(2) { Input = "input" }));
        var add = Refused<ShapeMismatchException>(new Shape(3), new Dense(3) { Name = "a" }, new Dense(4), new Add("a"));
        Assert.Contains("Layer 2 (add) cannot take (4,) from layer 1 (dense) and (3,) from layer 0 (a)", add);
        Assert.Contains("expected (4,), the shape of its first input, got (3,)", add);
        var concatenate = Refused<ShapeMismatchException>(new Shape(4, 4, 1), new GraphStem { Name = "s" }, new MaxPool2D(2), new Concatenate("s"));
        Assert.Contains("must agree on height and width", concatenate);
        Assert.Contains("(2, 2, any)", concatenate);

        var dense = new Dense(2);
        Assert.Contains("is the same object as an earlier layer", Refused<ArgumentException>(new Shape(2), dense, dense));
        new Sequential(dense).Build(new Shape(2));
        Assert.Contains("belongs to another model", Refused<ArgumentException>(new Shape(2), dense));
    }

    [Fact]
    public void Training_a_graph_without_convolutions_gives_the_same_bits_at_any_thread_count()
    {
        float[] Train(int threads)
        {
            using var scope = new ThreadScope(threads);
            var (model, x) = Graph("two readers");
            model.Build(x.Shape.WithoutBatch(), seed: 5).Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits: true));
            var labels = new[] { 0, 1, 2 };
            for (int step = 0; step < 5; step++) model.TrainStep(x, labels);
            return model.ParameterBuffer.ToArray();
        }
        var one = Train(1);
        Assert.Equal(one, Train(2));
        Assert.Equal(one, Train(3));
    }

    private sealed class ToleranceComparer(float tolerance) : System.Collections.Generic.IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;

        public int GetHashCode(float value) => 0;
    }
}
