using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ConvGen.Data;
using ConvGen.Runtime.Tests.Layers;
using ConvGen.Runtime.Tests.Support;
using ConvGen.Testing;
using ConvGen.Serialization;
using Xunit;

namespace ConvGen.Runtime.Tests.Validation;

/// <summary>
/// Every public entry point of the runtime, given bad arguments: each case names the call, the exact exception type, the
/// <see cref="ArgumentException.ParamName"/> it must carry, and fragments its message must contain (the expected and the
/// actual value or shape). One test per area; each reports every failing case at once.
/// </summary>
public sealed class ArgumentValidationTests
{
    /// <summary>A table of calls that must throw.</summary>
    private sealed class Cases : List<(string Call, Action Act, Type Expected, string? Param, string[] Fragments)>
    {
        public void Add<T>(string call, Action act, string? param, params string[] fragments) where T : Exception =>
            Add((call, act, typeof(T), param, fragments));

        public void Add(Type expected, string call, Action act, string? param, params string[] fragments) =>
            Add((call, act, expected, param, fragments));

        public void AssertAll()
        {
            var failures = new List<string>();
            foreach (var (call, act, expected, param, fragments) in this)
            {
                try
                {
                    act();
                    failures.Add($"{call}: did not throw (expected {expected.Name})");
                    continue;
                }
                catch (Exception e)
                {
                    if (e.GetType() != expected)
                        failures.Add($"{call}: threw {e.GetType().Name} ({e.Message}), expected {expected.Name}");
                    else if (param is not null && (e as ArgumentException)?.ParamName != param)
                        failures.Add($"{call}: ParamName is '{(e as ArgumentException)?.ParamName}', expected '{param}' ({e.Message})");
                    else if (fragments.FirstOrDefault(f => !e.Message.Contains(f, StringComparison.Ordinal)) is { } missing)
                        failures.Add($"{call}: message lacks \"{missing}\": {e.Message}");
                }
            }
            Assert.True(failures.Count == 0, $"{failures.Count} of {Count} cases failed:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
        }
    }

    private static Tensor T(params int[] dims) => new(new Shape(dims));

    [Fact]
    public void Tensor_shape_parameter_parallelism_and_metrics()
    {
        var t23 = T(2, 3);
        var scalar = new Tensor(default(Shape));
        var cases = new Cases
        {
            { typeof(ArgumentNullException), "new Shape(null)", () => _ = new Shape(null!), "dimensions" },
            { typeof(ArgumentException), "new Shape(2, 0)", () => _ = new Shape(2, 0), "dimensions", "Dimension 1 of shape (2, 0) is 0" },
            { typeof(ArgumentException), "new Shape(-3)", () => _ = new Shape(-3), "dimensions", "is -3" },
            { typeof(ArgumentException), "new Shape(65536, 65536)", () => _ = new Shape(65536, 65536), "dimensions", "(65536, 65536) has more than" },
            { typeof(ArgumentOutOfRangeException), "shape[2] of rank 2", () => _ = new Shape(2, 3)[2], "index", "rank 2", "dimension 2" },
            { typeof(ArgumentOutOfRangeException), "shape[-1]", () => _ = new Shape(2)[-1], "index" },
            { typeof(ArgumentOutOfRangeException), "default(Shape)[0]", () => _ = default(Shape)[0], "index", "rank 0" },
            { typeof(ArgumentOutOfRangeException), "WithBatch(0)", () => new Shape(3).WithBatch(0), "batch", "0" },
            { typeof(ArgumentOutOfRangeException), "WithBatch overflowing", () => new Shape(1 << 20, 1 << 10).WithBatch(4), "batch", "4294967296 elements" },
            { typeof(InvalidOperationException), "WithoutBatch of rank 0", () => default(Shape).WithoutBatch(), null, "rank-0" },
            { typeof(ArgumentNullException), "new Tensor(shape, null)", () => _ = new Tensor(new Shape(2), null!), "data" },
            { typeof(ArgumentException), "new Tensor((2, 3), 5 floats)", () => _ = new Tensor(new Shape(2, 3), new float[5]), "data", "needs 6 elements", "has 5" },
            { typeof(ArgumentNullException), "new Tensor(shape, null, 0)", () => _ = new Tensor(new Shape(2), null!, 0), "buffer" },
            { typeof(ArgumentOutOfRangeException), "new Tensor(shape, buffer, -1)", () => _ = new Tensor(new Shape(2), new float[4], -1), "offset", "-1" },
            { typeof(ArgumentException), "new Tensor((4,), 5 floats, offset 2)", () => _ = new Tensor(new Shape(4), new float[5], 2), "buffer", "(4,) (4 elements) at offset 2", "buffer of 5" },
            { typeof(ArgumentException), "Reshape (2, 3) to (7,)", () => t23.Reshape(new Shape(7)), "shape", "(2, 3) (6 elements)", "(7,) (7 elements)" },
            { typeof(ArgumentOutOfRangeException), "SliceBatch(0, 0)", () => t23.SliceBatch(0, 0), "count" },
            { typeof(ArgumentOutOfRangeException), "SliceBatch(-1, 1)", () => t23.SliceBatch(-1, 1), "start", "leading dimension of 2" },
            { typeof(ArgumentOutOfRangeException), "SliceBatch(1, 2)", () => t23.SliceBatch(1, 2), "start", "Rows 1..3" },
            { typeof(ArgumentOutOfRangeException), "SliceBatch(int.MaxValue, 2)", () => t23.SliceBatch(int.MaxValue, 2), "start", "2147483649" },
            { typeof(InvalidOperationException), "SliceBatch of a rank-0 tensor", () => scalar.SliceBatch(0, 1), null, "rank-0" },
            { typeof(ArgumentNullException), "tensor[null]", () => _ = t23[null!], "index" },
            { typeof(ArgumentException), "tensor[0] of rank 2", () => _ = t23[0], "index", "1 coordinates", "rank 2" },
            { typeof(ArgumentOutOfRangeException), "tensor[5, 0]", () => _ = t23[5, 0], "index", "is 5", "0..1" },
            { typeof(ArgumentNullException), "new Parameter(null, shape)", () => _ = new Parameter(null!, new Shape(1)), "name" },
            { typeof(ArgumentException), "new Parameter(\"\", shape)", () => _ = new Parameter("", new Shape(1)), "name" },
            { typeof(ArgumentOutOfRangeException), "Parallelism.Threads = 0", () => Parallelism.Threads = 0, "Threads", "0" },
            { typeof(ArgumentOutOfRangeException), "ChunkRange(10, 0, 0)", () => Parallelism.ChunkRange(10, 0, 0), "chunks" },
            { typeof(ArgumentOutOfRangeException), "ChunkRange(10, 2, 2)", () => Parallelism.ChunkRange(10, 2, 2), "chunk", "[0, 1]" },
            { typeof(ArgumentOutOfRangeException), "ChunkRange(-1, 2, 0)", () => Parallelism.ChunkRange(-1, 2, 0), "count" },
            { typeof(ArgumentNullException), "CountCorrect(null, labels)", () => Metrics.CountCorrect(null!, [0]), "outputs" },
            { typeof(ShapeMismatchException), "CountCorrect of 2 rows with 3 labels", () => Metrics.CountCorrect(t23, [0, 1, 2]), "labels", "2 labels", "got 3 labels" },
        };
        cases.AssertAll();
    }

    [Fact]
    public void Layers()
    {
        static void Build(Shape input, params Layer[] layers) => new Sequential(layers).Build(input);
        var cases = new Cases
        {
            { typeof(ArgumentOutOfRangeException), "new Dense(0)", () => _ = new Dense(0), "units", "0" },
            { typeof(ArgumentOutOfRangeException), "new Dense(3, (Activation)99)", () => _ = new Dense(3, (Activation)99), "activation", "99" },
            { typeof(InvalidOperationException), "unbuilt Dense.Kernel", () => _ = new Dense(3).Kernel, null, "build a model with it first" },
            { typeof(ShapeMismatchException), "Dense on (2, 2)", () => Build(new Shape(2, 2), new Dense(3)), "inputShape", "Layer 0 (dense)", "(features,)", "(2, 2)", "Flatten" },
            { typeof(ArgumentOutOfRangeException), "new MaxPool2D(0)", () => _ = new MaxPool2D(0), "poolSize" },
            { typeof(ArgumentOutOfRangeException), "new MaxPool2D(2, strides: 0)", () => _ = new MaxPool2D(2, strides: 0), "strides" },
            { typeof(ArgumentOutOfRangeException), "new MaxPool2D(2, 2, 0, 1)", () => _ = new MaxPool2D(2, 2, 0, 1), "strideHeight" },
            { typeof(ArgumentOutOfRangeException), "new AveragePool2D(2, 2, 1, -1)", () => _ = new AveragePool2D(2, 2, 1, -1), "strideWidth" },
            { typeof(ArgumentOutOfRangeException), "new AveragePool2D(2, padding: 7)", () => _ = new AveragePool2D(2, padding: (Padding)7), "padding", "7" },
            { typeof(ShapeMismatchException), "MaxPool2D on (4, 4)", () => Build(new Shape(4, 4), new MaxPool2D(2)), "inputShape", "(height, width, channels)", "(4, 4)" },
            { typeof(ShapeMismatchException), "MaxPool2D on a sample smaller than the window", () => Build(new Shape(1, 3, 1), new MaxPool2D(2)), "inputShape", "at least (2, 2, channels)", "(1, 3, 1)" },
            { typeof(ShapeMismatchException), "MaxPool2D on (5,)", () => Build(new Shape(5), new MaxPool2D(2)), "inputShape", "(5,)" },
            { typeof(ArgumentOutOfRangeException), "new Dropout(1)", () => _ = new Dropout(1f), "rate", "[0, 1)" },
            { typeof(ArgumentOutOfRangeException), "new Dropout(NaN)", () => _ = new Dropout(float.NaN), "rate", "NaN" },
            { typeof(ArgumentOutOfRangeException), "new Dropout(-0.1)", () => _ = new Dropout(-0.1f), "rate" },
            { typeof(ArgumentException), "Name = \"\"", () => _ = new Dense(2) { Name = "" }, "Name" },
            { typeof(ArgumentException), "Name with '/'", () => _ = new Dense(2) { Name = "a/b" }, "Name", "'/'" },
            { typeof(ArgumentException), "Input = \"\"", () => _ = new Dense(2) { Input = "" }, "Input" },
            { typeof(ArgumentNullException), "new Add(null)", () => _ = new Add(null!), "names" },
            { typeof(ArgumentException), "new Add()", () => _ = new Add(), "names", "at least one layer" },
            { typeof(ArgumentException), "new Concatenate(\"\")", () => _ = new Concatenate(""), "names" },
            { typeof(ArgumentOutOfRangeException), "Add.Activation = 10", () => _ = new Add("a") { Activation = (Activation)10 }, "Activation", "10" },
        };
        cases.AssertAll();
    }

    [Fact]
    public void Losses()
    {
        var mse = new MeanSquaredError();
        var sce = new SparseCategoricalCrossentropy(fromLogits: true);
        var p = TestData.Tensor(1, 2, 3);
        var cases = new Cases
        {
            { typeof(ArgumentOutOfRangeException), "new MeanSquaredError((Reduction)5)", () => _ = new MeanSquaredError((Reduction)5), "reduction", "5" },
            { typeof(ArgumentOutOfRangeException), "new SparseCategoricalCrossentropy(reduction: -1)", () => _ = new SparseCategoricalCrossentropy(reduction: (Reduction)(-1)), "reduction" },
            { typeof(ArgumentNullException), "MSE(null, t)", () => mse.Compute(null!, p), "predictions" },
            { typeof(ArgumentNullException), "MSE(p, null)", () => mse.Compute(p, (Tensor)null!), "targets" },
            { typeof(ShapeMismatchException), "MSE((2, 3), (3, 2))", () => mse.Compute(p, T(3, 2)), "targets", "(2, 3)", "(3, 2)" },
            { typeof(ShapeMismatchException), "MSE with a (2, 2) gradient", () => mse.Compute(p, T(2, 3), T(2, 2)), "gradient", "(2, 3)", "(2, 2)" },
            { typeof(NotSupportedException), "MSE with labels", () => mse.Compute(p, [0, 1]), null, "dense targets" },
            { typeof(ArgumentNullException), "SCE(null, labels)", () => sce.Compute(null!, [0]), "predictions" },
            { typeof(ShapeMismatchException), "SCE of rank 1", () => sce.Compute(T(3), [0, 1, 2]), "predictions", "(batch, classes)", "(3,)" },
            { typeof(ShapeMismatchException), "SCE with 1 label for 2 rows", () => sce.Compute(p, [0]), "labels", "2 labels", "1 labels" },
            { typeof(ArgumentOutOfRangeException), "SCE with label 3 of 3 classes", () => sce.Compute(p, [0, 3]), "labels", "Label 1 is 3", "[0, 2]" },
            { typeof(ArgumentOutOfRangeException), "SCE with label -1", () => sce.Compute(p, [-1, 0]), "labels", "Label 0 is -1" },
            { typeof(ShapeMismatchException), "SCE with a (3, 2) gradient", () => sce.Compute(p, [0, 1], T(3, 2)), "gradient", "(2, 3)", "(3, 2)" },
            { typeof(ArgumentException), "SCE with target 1.5", () => sce.Compute(p, new Tensor(new Shape(2), [0f, 1.5f])), "targets", "Target 1 is 1.5", "whole-number" },
            { typeof(ArgumentException), "SCE with target NaN", () => sce.Compute(p, new Tensor(new Shape(2), [float.NaN, 1f])), "targets", "NaN" },
            { typeof(ShapeMismatchException), "SCE with targets (3,)", () => sce.Compute(p, T(3)), "targets", "(2,)", "(3,)" },
        };
        cases.AssertAll();
    }

    [Fact]
    public void Optimizers()
    {
        var cases = new Cases();
        foreach (float bad in new[] { 0f, -0.1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, -float.Epsilon })
        {
            string v = bad.ToString(System.Globalization.CultureInfo.CurrentCulture);
            cases.Add<ArgumentOutOfRangeException>($"new SGD({bad})", () => _ = new SGD(bad), "learningRate", "finite and greater than 0", v);
            cases.Add<ArgumentOutOfRangeException>($"new Adam({bad})", () => _ = new Adam(bad), "learningRate", "finite and greater than 0", v);
            cases.Add<ArgumentOutOfRangeException>($"SGD.LearningRate = {bad}", () => new SGD().LearningRate = bad, "LearningRate", v);
            cases.Add<ArgumentOutOfRangeException>($"Adam.LearningRate = {bad}", () => new Adam().LearningRate = bad, "LearningRate", v);
        }
        foreach (float bad in new[] { -0.1f, 1f, 1.5f, float.NaN, float.PositiveInfinity })
        {
            cases.Add<ArgumentOutOfRangeException>($"new Adam(beta1: {bad})", () => _ = new Adam(beta1: bad), "beta1", "[0, 1)");
            cases.Add<ArgumentOutOfRangeException>($"new Adam(beta2: {bad})", () => _ = new Adam(beta2: bad), "beta2", "[0, 1)");
        }
        foreach (float bad in new[] { -0.1f, 1.5f, float.NaN, float.NegativeInfinity })
            cases.Add<ArgumentOutOfRangeException>($"new SGD(momentum: {bad})", () => _ = new SGD(momentum: bad), "momentum", "[0, 1]");
        foreach (float bad in new[] { 0f, -1e-7f, float.NaN, float.PositiveInfinity })
            cases.Add<ArgumentOutOfRangeException>($"new Adam(epsilon: {bad})", () => _ = new Adam(epsilon: bad), "epsilon", "finite and greater than 0");
        cases.Add<ArgumentNullException>("SGD.Step(null)", () => new SGD().Step(null!), "parameters");
        cases.Add<ArgumentException>("Adam.Step([null])", () => new Adam().Step([null!]), "parameters", "Parameter 0 is null");
        cases.AssertAll();
    }

    [Fact]
    public void Initializers()
    {
        var rng = new Random(0);
        var values = new float[4];
        var cases = new Cases
        {
            { typeof(ArgumentOutOfRangeException), "GlorotUniform fanIn 0", () => new GlorotUniform().Initialize(values, 0, 1, rng), "fanIn" },
            { typeof(ArgumentOutOfRangeException), "GlorotUniform fanOut -1", () => new GlorotUniform().Initialize(values, 1, -1, rng), "fanOut" },
            { typeof(ArgumentNullException), "GlorotUniform random null", () => new GlorotUniform().Initialize(values, 1, 1, null!), "random" },
            { typeof(ArgumentOutOfRangeException), "HeNormal fanIn 0", () => new HeNormal().Initialize(values, 0, 1, rng), "fanIn" },
            { typeof(ArgumentNullException), "HeNormal random null", () => new HeNormal().Initialize(values, 1, 1, null!), "random" },
            { typeof(ArgumentOutOfRangeException), "new RandomNormal(NaN)", () => _ = new RandomNormal(float.NaN), "mean", "finite" },
            { typeof(ArgumentOutOfRangeException), "new RandomNormal(0, -1)", () => _ = new RandomNormal(0, -1), "stddev" },
            { typeof(ArgumentOutOfRangeException), "new RandomNormal(0, infinity)", () => _ = new RandomNormal(0, float.PositiveInfinity), "stddev", "finite" },
            { typeof(ArgumentNullException), "RandomNormal random null", () => new RandomNormal().Initialize(values, 1, 1, null!), "random" },
            { typeof(ArgumentOutOfRangeException), "new Constant(NaN)", () => _ = new Constant(float.NaN), "value", "finite" },
            { typeof(ArgumentOutOfRangeException), "new Constant(-infinity)", () => _ = new Constant(float.NegativeInfinity), "value" },
            { typeof(ArgumentOutOfRangeException), "Constant fanOut 0", () => new Constant(1).Initialize(values, 1, 0, rng), "fanOut" },
            { typeof(ArgumentNullException), "Zeros random null", () => new Zeros().Initialize(values, 1, 1, null!), "random" },
            { typeof(ArgumentOutOfRangeException), "Ones fanIn 0", () => new Ones().Initialize(values, 0, 1, rng), "fanIn" },
        };
        cases.AssertAll();
    }

    private static Sequential SmallModel() =>
        new Sequential(new Flatten(), new Dense(8, Activation.ReLU), new Dropout(0.25f), new Dense(3)).Build(new Shape(2, 2, 1), seed: 1);

    [Fact]
    public void Sequential_rejects_bad_arguments_before_changing_anything()
    {
        var model = SmallModel().Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        var images = TestData.Tensor(3, 4, 2, 2, 1);
        int[] labels = [0, 1, 2, 1];
        var before = model.Parameters.SelectMany(p => p.Value.ToArray()).ToArray();
        var quiet = new FitOptions { Output = null };
        var uncompiled = SmallModel();
        var unbuilt = new Sequential(new Flatten(), new Dense(3));

        var cases = new Cases
        {
            { typeof(ArgumentNullException), "new Sequential(null)", () => _ = new Sequential(null!), "layers" },
            { typeof(ArgumentException), "new Sequential(dense, null)", () => _ = new Sequential(new Dense(2), null!), "layers", "Layer 1 of 2 is null" },
            { typeof(ArgumentNullException), "Add(null)", () => new Sequential().Add(null!), "layer" },
            { typeof(InvalidOperationException), "Build with no layers", () => new Sequential().Build(new Shape(2)), null, "no layers" },
            { typeof(ShapeMismatchException), "Build (2, 2, 1) into Dense", () => new Sequential(new Dense(2)).Build(new Shape(2, 2, 1)), "inputShape", "Layer 0 (dense)", "(2, 2, 1)" },
            { typeof(InvalidOperationException), "Predict before Build", () => unbuilt.Predict(images), null, "not built" },
            { typeof(InvalidOperationException), "TrainStep before Compile", () => uncompiled.TrainStep(images, labels), null, "Compile" },
            { typeof(ArgumentNullException), "Compile(null, loss)", () => uncompiled.Compile(null!, new MeanSquaredError()), "optimizer" },
            { typeof(ArgumentNullException), "Compile(optimizer, null)", () => uncompiled.Compile(new SGD(), null!), "loss" },
            { typeof(ArgumentNullException), "TrainStep(null, labels)", () => model.TrainStep(null!, labels), "images" },
            { typeof(ShapeMismatchException), "TrainStep of (4, 2, 3, 1)", () => model.TrainStep(T(4, 2, 3, 1), labels), "images", "(batch, 2, 2, 1)", "(4, 2, 3, 1)" },
            { typeof(ShapeMismatchException), "TrainStep of rank 0", () => model.TrainStep(new Tensor(default(Shape)), labels), "images", "()" },
            { typeof(ShapeMismatchException), "TrainStep with 3 labels for 4 images", () => model.TrainStep(images, [0, 1, 2]), "labels", "4 labels", "3 labels" },
            { typeof(ShapeMismatchException), "TrainStep with no labels", () => model.TrainStep(images, []), "labels", "0 labels" },
            { typeof(ArgumentOutOfRangeException), "TrainStep with label 3 of 3 classes", () => model.TrainStep(images, [0, 1, 3, 1]), "labels", "Label 2 is 3", "[0, 2]" },
            { typeof(ArgumentOutOfRangeException), "TrainStep with label -1", () => model.TrainStep(images, [0, -1, 2, 1]), "labels", "Label 1 is -1" },
            { typeof(ArgumentNullException), "Fit(null, labels)", () => model.Fit(null!, labels, 1, 2, quiet), "images" },
            { typeof(ArgumentNullException), "Fit(images, null)", () => model.Fit(images, null!, 1, 2, quiet), "labels" },
            { typeof(ShapeMismatchException), "Fit with 5 labels for 4 images", () => model.Fit(images, [0, 1, 2, 1, 0], 1, 2, quiet), "labels", "4 labels", "5 labels" },
            { typeof(ArgumentOutOfRangeException), "Fit with the last label 7", () => model.Fit(images, [0, 1, 2, 7], 1, 2, quiet), "labels", "Label 3 is 7" },
            { typeof(ArgumentOutOfRangeException), "Fit epochs -1", () => model.Fit(images, labels, -1, 2, quiet), "epochs", "-1" },
            { typeof(ArgumentOutOfRangeException), "Fit batchSize 0", () => model.Fit(images, labels, 1, 0, quiet), "batchSize", "0" },
            { typeof(ArgumentOutOfRangeException), "Fit batchSize -5", () => model.Fit(images, labels, 1, -5, quiet), "batchSize", "-5" },
            { typeof(ArgumentOutOfRangeException), "Fit ValidationSplit -0.1", () => model.Fit(images, labels, 1, 2, new FitOptions { Output = null, ValidationSplit = -0.1f }), "options", "ValidationSplit is -0.1", "[0, 1)" },
            { typeof(ArgumentOutOfRangeException), "Fit ValidationSplit 1", () => model.Fit(images, labels, 1, 2, new FitOptions { Output = null, ValidationSplit = 1f }), "options", "ValidationSplit is 1" },
            { typeof(ArgumentOutOfRangeException), "Fit ValidationSplit NaN", () => model.Fit(images, labels, 1, 2, new FitOptions { Output = null, ValidationSplit = float.NaN }), "options", "NaN" },
            { typeof(ArgumentOutOfRangeException), "Fit ValidationSplit 0.1 of 4 samples", () => model.Fit(images, labels, 1, 2, new FitOptions { Output = null, ValidationSplit = 0.1f }), "options", "leaves no training or no validation data" },
            { typeof(ShapeMismatchException), "Fit with validation images (1, 3, 3, 1)", () => model.Fit(images, labels, 1, 2, new FitOptions { Output = null, ValidationData = (T(1, 3, 3, 1), [0]) }), "options.ValidationData.Images", "(1, 3, 3, 1)" },
            { typeof(ArgumentNullException), "Fit with null validation labels", () => model.Fit(images, labels, 1, 2, new FitOptions { Output = null, ValidationData = (T(1, 2, 2, 1), null!) }), "options.ValidationData.Labels" },
            { typeof(ArgumentOutOfRangeException), "Fit with validation label 9", () => model.Fit(images, labels, 1, 2, new FitOptions { Output = null, ValidationData = (T(1, 2, 2, 1), [9]) }), "options.ValidationData.Labels", "Label 0 is 9" },
            { typeof(ArgumentOutOfRangeException), "Evaluate batchSize 0", () => model.Evaluate(images, labels, 0), "batchSize" },
            { typeof(ArgumentNullException), "Evaluate(images, null)", () => model.Evaluate(images, null!), "labels" },
            { typeof(ArgumentOutOfRangeException), "Evaluate with label 3", () => model.Evaluate(images, [3, 0, 0, 0]), "labels", "Label 0 is 3" },
            { typeof(ArgumentNullException), "Predict(null)", () => model.Predict(null!), "images" },
            { typeof(ArgumentOutOfRangeException), "Predict batchSize 0", () => model.Predict(images, 0), "batchSize" },
            { typeof(ShapeMismatchException), "Predict of rank 0", () => model.Predict(new Tensor(default(Shape))), "images" },
            { typeof(ShapeMismatchException), "Predict of (2, 4)", () => model.Predict(T(2, 4)), "images", "(batch, 2, 2, 1)", "(2, 4)" },
            { typeof(ArgumentNullException), "Forward(null)", () => model.Forward(null!), "input" },
            { typeof(ShapeMismatchException), "Forward of (2, 2, 2, 2)", () => model.Forward(T(2, 2, 2, 2)), "input", "(2, 2, 2, 2)" },
            { typeof(ArgumentNullException), "Backward(null)", () => model.Backward(null!), "outputGradient" },
            { typeof(ArgumentNullException), "SaveWeights(null)", () => model.SaveWeights(null!), "path" },
            { typeof(ArgumentException), "SaveWeights(\"\")", () => model.SaveWeights(""), "path" },
            { typeof(ArgumentException), "LoadWeights(\"\")", () => model.LoadWeights(""), "path" },
        };
        cases.AssertAll();

        // Not one of those calls changed a weight or took an optimizer step.
        Assert.Equal(before, model.Parameters.SelectMany(p => p.Value.ToArray()).ToArray());
        Assert.Equal(0, model.Optimizer!.Iterations);

        // Zero epochs is allowed, as in Keras: nothing happens.
        Assert.Empty(model.Fit(images, labels, epochs: 0, batchSize: 2, quiet));
        Assert.Equal(0, model.Optimizer.Iterations);
    }

    [Fact]
    public void Data()
    {
        var unreadable = new MemoryStream();
        unreadable.Dispose();
        var split = new MnistSplit(T(4, 2, 2, 1), [0, 1, 2, 3]);
        var cases = new Cases
        {
            { typeof(ArgumentOutOfRangeException), "new IdxImages(0, 1, 1, ...)", () => _ = new IdxImages(0, 1, 1, []), "count" },
            { typeof(ArgumentOutOfRangeException), "new IdxImages(1, 0, 1, ...)", () => _ = new IdxImages(1, 0, 1, []), "rows" },
            { typeof(ArgumentOutOfRangeException), "new IdxImages(1, 1, -1, ...)", () => _ = new IdxImages(1, 1, -1, []), "columns" },
            { typeof(ArgumentNullException), "new IdxImages(1, 1, 1, null)", () => _ = new IdxImages(1, 1, 1, null!), "pixels" },
            { typeof(ArgumentException), "new IdxImages(2, 2, 2, 7 bytes)", () => _ = new IdxImages(2, 2, 2, new byte[7]), "pixels", "need 8 bytes", "has 7" },
            { typeof(ArgumentNullException), "Idx.ReadImages((string)null)", () => Idx.ReadImages((string)null!), "path" },
            { typeof(ArgumentNullException), "Idx.ReadImages(null stream)", () => Idx.ReadImages((Stream)null!, "x"), "stream" },
            { typeof(ArgumentNullException), "Idx.ReadLabels(stream, null)", () => Idx.ReadLabels(new MemoryStream(), null!), "name" },
            { typeof(ArgumentException), "Idx.ReadLabels(unreadable stream)", () => Idx.ReadLabels(unreadable, "x"), "stream", "not readable" },
            { typeof(ArgumentNullException), "new MnistSplit(null, labels)", () => _ = new MnistSplit(null!, [0]), "images" },
            { typeof(ArgumentNullException), "new MnistSplit(images, null)", () => _ = new MnistSplit(T(1, 2, 2, 1), null!), "labels" },
            { typeof(ArgumentException), "new MnistSplit of rank 2", () => _ = new MnistSplit(T(1, 4), [0]), "images", "(1, 4)" },
            { typeof(ArgumentException), "new MnistSplit with 2 labels for 1 image", () => _ = new MnistSplit(T(1, 2, 2, 1), [0, 1]), "labels", "1 images but 2 labels" },
            { typeof(ArgumentOutOfRangeException), "Take(0)", () => split.Take(0), "count" },
            { typeof(ArgumentOutOfRangeException), "Subset(-1, 1)", () => split.Subset(-1, 1), "start", "split of 4" },
            { typeof(ArgumentOutOfRangeException), "Subset(0, 0)", () => split.Subset(0, 0), "count" },
            { typeof(ArgumentOutOfRangeException), "Subset(3, 5)", () => split.Subset(3, 5), "start", "Samples 3..8" },
            { typeof(ArgumentNullException), "Mnist.Load(null)", () => Mnist.Load(null!), "directory" },
            { typeof(ArgumentNullException), "Mnist.LoadSplit(null, labels)", () => Mnist.LoadSplit(null!, "labels"), "imagesPath" },
            { typeof(ArgumentNullException), "Mnist.LoadSplit(images, null)", () => Mnist.LoadSplit("images", null!), "labelsPath" },
        };
        cases.AssertAll();
    }

    [Fact]
    public void Serialization()
    {
        string dir = Directory.CreateTempSubdirectory("convgen-validation-").FullName;
        try
        {
            string path = Path.Combine(dir, "w.cgw");
            var t = T(2);
            WeightsFile.Save(path, [("a", t)]);
            var readOnly = new MemoryStream(new byte[16], writable: false);
            var cases = new Cases
            {
                { typeof(ArgumentNullException), "Save((string)null, tensors)", () => WeightsFile.Save((string)null!, [("a", t)]), "path" },
                { typeof(ArgumentNullException), "Save(path, null)", () => WeightsFile.Save(path, null!), "tensors" },
                { typeof(ArgumentException), "Save with an empty name", () => WeightsFile.Save(path, [("", t)]), "tensors", "Tensor 0 has an empty name" },
                { typeof(ArgumentException), "Save with a duplicate name", () => WeightsFile.Save(path, [("a", t), ("a", t)]), "tensors", "Two tensors are named 'a'" },
                { typeof(ArgumentException), "Save with a null tensor", () => WeightsFile.Save(path, [("a", null!)]), "tensors", "'a' is null" },
                { typeof(ArgumentException), "Save with rank 17", () => WeightsFile.Save(path, [("a", T(Enumerable.Repeat(1, 17).ToArray()))]), "tensors", "rank 17", "at most 16" },
                { typeof(ArgumentException), "Save with a 1025-byte name", () => WeightsFile.Save(path, [(new string('n', 1025), t)]), "tensors", "1025 UTF-8 bytes" },
                { typeof(ArgumentNullException), "Save((Stream)null, tensors)", () => WeightsFile.Save((Stream)null!, [("a", t)]), "stream" },
                { typeof(ArgumentException), "Save to a read-only stream", () => WeightsFile.Save(readOnly, [("a", t)]), "stream", "writable" },
                { typeof(ArgumentNullException), "Load((string)null)", () => WeightsFile.Load((string)null!), "path" },
                { typeof(ArgumentNullException), "Load(null stream)", () => WeightsFile.Load((Stream)null!, "x"), "stream" },
                { typeof(ArgumentNullException), "Load(stream, null)", () => WeightsFile.Load(new MemoryStream(), null!), "name" },
                { typeof(ArgumentException), "Load(unseekable stream)", () => WeightsFile.Load(new UnseekableStream([]), "x"), "stream", "seekable" },
                { typeof(ArgumentNullException), "LoadInto(null, targets)", () => WeightsFile.LoadInto(null!, [("a", t)]), "path" },
                { typeof(ArgumentNullException), "LoadInto(path, null)", () => WeightsFile.LoadInto(path, null!), "targets" },
                { typeof(ArgumentException), "LoadInto with a null target tensor", () => WeightsFile.LoadInto(path, [("a", null!)]), "targets", "Target tensor 0 ('a') is null" },
                { typeof(FileNotFoundException), "Load of a missing file", () => WeightsFile.Load(Path.Combine(dir, "missing")), null },
            };
            cases.AssertAll();
            Assert.Equal(new[] { path }, Directory.GetFiles(dir)); // the rejected saves wrote nothing
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
