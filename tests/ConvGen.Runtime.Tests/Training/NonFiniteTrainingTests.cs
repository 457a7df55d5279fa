using System;
using System.Collections.Generic;
using System.Linq;
using ConvGen.Runtime.Tests.Layers;
using Xunit;

namespace ConvGen.Runtime.Tests.Training;

/// <summary>
/// A training step whose loss or gradients go NaN or infinite throws <see cref="NonFiniteLossException"/> naming the step and
/// the first layer to blame, before the optimizer runs: the weights stay bit-identical to those of the last good step.
/// </summary>
public sealed class NonFiniteTrainingTests
{
    /// <summary>Every weight's bit pattern: equal arrays mean bit-identical weights (-0 and 0, NaN payloads told apart).</summary>
    private static int[] Weights(Sequential model) =>
        model.Parameters.SelectMany(p => p.Value.ToArray()).Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>Checks where the exception puts the blame, and that its message says so.</summary>
    private static void AssertBlames(NonFiniteLossException e, long step, NonFiniteOrigin origin, int layerIndex, string? layerName, string? parameterName, string message)
    {
        Assert.Equal((step, origin, layerIndex, layerName, parameterName), (e.Step, e.Origin, e.LayerIndex, e.LayerName, e.ParameterName));
        Assert.Contains(message, e.Message);
    }

    /// <summary>Checks that the failed step was not applied: the same weight bits, and no optimizer iteration.</summary>
    private static void AssertNotApplied(Sequential model, int[] before, long iterations)
    {
        Assert.Equal(before, Weights(model));
        Assert.Equal(iterations, model.Optimizer!.Iterations);
    }

    private static (Tensor Images, int[] Labels) Data(int count, int seed)
    {
        var images = TestData.Tensor(seed, count, 4);
        var labels = Enumerable.Range(0, count).Select(i => i % 3).ToArray();
        return (images, labels);
    }

    [Fact]
    public void A_NaN_in_the_input_names_the_first_layer_whose_output_went_NaN_and_keeps_the_weights()
    {
        var model = new Sequential(new Dense(8, Activation.ReLU), new Dense(3)).Build(new Shape(4), seed: 3)
            .Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits: true));
        var (x, y) = Data(6, seed: 1);
        model.TrainStep(x, y);
        model.TrainStep(x, y);
        var before = Weights(model);

        x[4, 2] = float.NaN;
        var e = Assert.Throws<NonFiniteLossException>(() => model.TrainStep(x, y));

        AssertBlames(e, 3, NonFiniteOrigin.Output, 0, "dense", null, "Training step 3: the output of layer 0 (dense) holds NaN or infinity");
        Assert.True(float.IsNaN(e.Loss));
        Assert.Contains("the input batch itself holds 1 NaN or infinite value, the first in sample 4", e.Message);
        Assert.Contains("the weights are those after step 2", e.Message);
        AssertNotApplied(model, before, iterations: 2); // nor did the optimizer (and its moments) step

        // Training goes on from the good weights once the data is fixed.
        x[4, 2] = 0.5f;
        Assert.True(float.IsFinite(model.TrainStep(x, y)));
        Assert.Equal(3, model.Optimizer!.Iterations);
    }

    [Fact]
    public void A_huge_learning_rate_that_blows_up_after_a_few_steps_stops_at_that_step_with_the_last_good_weights()
    {
        var model = new Sequential(new Dense(16, Activation.ReLU), new Dense(16, Activation.ReLU), new Dense(3)).Build(new Shape(4), seed: 5)
            .Compile(new SGD(1e4f), new SparseCategoricalCrossentropy(fromLogits: true));
        var (x, y) = Data(12, seed: 2);
        var names = model.LayerNames;

        int[] lastGood = Weights(model);
        NonFiniteLossException? failure = null;
        int step;
        for (step = 1; step <= 50 && failure is null; step++)
        {
            lastGood = Weights(model);
            try
            {
                model.TrainStep(x, y);
            }
            catch (NonFiniteLossException e)
            {
                failure = e;
            }
        }

        Assert.NotNull(failure);
        int failed = step - 1;
        Assert.InRange(failed, 3, 50);                             // a few good steps first
        AssertBlames(failure!, failed, NonFiniteOrigin.Output, 2, names[2], null, $"Training step {failed}: the output of layer 2 (dense_2)"); // the logits overflowed
        AssertNotApplied(model, lastGood, iterations: failed - 1); // bit-identical to the weights before the failing step
        Assert.True(lastGood.All(b => float.IsFinite(BitConverter.Int32BitsToSingle(b))));
    }

    [Fact]
    public void A_gradient_that_goes_NaN_while_the_loss_is_finite_is_caught_before_the_update()
    {
        var poison = new PoisonGradient { Name = "poison" };
        var model = new Sequential(new Dense(5), poison, new Dense(3)).Build(new Shape(4), seed: 2)
            .Compile(new SGD(0.1f, momentum: 0.9f), new SparseCategoricalCrossentropy(fromLogits: true));
        var (x, y) = Data(4, seed: 3);
        model.TrainStep(x, y);
        var before = Weights(model);

        poison.Poisoned = true;
        var e = Assert.Throws<NonFiniteLossException>(() => model.TrainStep(x, y));
        Assert.True(float.IsFinite(e.Loss));
        AssertBlames(e, 2, NonFiniteOrigin.Gradient, 1, "poison", null, "the input gradient computed by layer 1 (poison) holds NaN or infinity");
        AssertNotApplied(model, before, iterations: 1);
    }

    [Fact]
    public void An_infinite_parameter_gradient_with_a_finite_loss_names_the_layer_and_the_parameter()
    {
        var model = new Sequential(new Dense(3), new Dense(2)).Build(new Shape(2), seed: 4)
            .Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true, Reduction.Sum));
        // Tiny first kernel and huge inputs: every output is finite (4e8, logits ±1.2e9, a finite loss), but the first
        // kernel's gradient xᵀ·dy = 2e38 · 2 overflows.
        model.Layers[0].Parameters[0].Value.Span.Fill(1e-30f);
        new float[] { 1, -1, 1, -1, 1, -1 }.CopyTo(model.Layers[1].Parameters[0].Value.Span);
        var x = new Tensor(new Shape(4, 2), Enumerable.Repeat(2e38f, 8).ToArray());
        var before = Weights(model);

        var e = Assert.Throws<NonFiniteLossException>(() => model.TrainStep(x, [1, 1, 1, 1]));
        Assert.True(float.IsFinite(e.Loss));
        AssertBlames(e, 1, NonFiniteOrigin.Gradient, 0, "dense", "kernel", "Training step 1: the gradient of layer 0 (dense)'s kernel holds NaN or infinity");
        Assert.Contains("the weights are the initial ones", e.Message);
        AssertNotApplied(model, before, iterations: 0);
    }

    [Fact]
    public void An_infinite_loss_of_finite_logits_is_caught_even_though_its_gradient_is_finite()
    {
        // Logits (3e38, -3e38) are finite and so is their gradient softmax − onehot, but the loss of label 1 is 6e38 = ∞ in float.
        var model = new Sequential(new Dense(2)).Build(new Shape(1), seed: 1)
            .Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        new float[] { 3e38f, -3e38f }.CopyTo(model.Layers[0].Parameters[0].Value.Span);
        var before = Weights(model);

        var e = Assert.Throws<NonFiniteLossException>(() => model.TrainStep(new Tensor(new Shape(1, 1), [1f]), [1]));
        Assert.Equal(float.PositiveInfinity, e.Loss);
        AssertBlames(e, 1, NonFiniteOrigin.Loss, -1, null, null, "Training step 1: the loss is not finite although every layer output is");
        AssertNotApplied(model, before, iterations: 0);
    }

    [Fact]
    public void Weights_that_are_already_infinite_are_named_as_the_cause()
    {
        var model = new Sequential(new Dense(3), new Dense(2)).Build(new Shape(2), seed: 4)
            .Compile(new Adam(), new SparseCategoricalCrossentropy(fromLogits: true));
        model.Layers[1].Parameters[0].Value.Span[5] = float.PositiveInfinity;
        var e = Assert.Throws<NonFiniteLossException>(() => model.TrainStep(new Tensor(new Shape(1, 2), [1f, 2f]), [1]));
        AssertBlames(e, 1, NonFiniteOrigin.Weights, 1, "dense_1", "kernel", "the kernel of layer 1 (dense_1) were already NaN or infinite");
        Assert.Contains("kernel[5] is ", e.Message);
    }

    [Fact]
    public void Fit_stops_at_the_poisoned_batch_with_the_weights_of_the_step_before()
    {
        var model = new Sequential(new Dense(8, Activation.ReLU), new Dense(3)).Build(new Shape(4), seed: 6)
            .Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits: true));
        var (x, y) = Data(8, seed: 4);
        x[7, 0] = float.PositiveInfinity;
        var snapshots = new List<int[]>();
        // Without shuffling, batches of 2 are samples 0-1, 2-3, 4-5, 6-7: the 4th step of epoch 1 fails.
        var e = Assert.Throws<NonFiniteLossException>(() => model.Fit(x, y, epochs: 2, batchSize: 2,
            new FitOptions { Shuffle = false, Output = null, OnEpochEnd = _ => snapshots.Add(Weights(model)) }));
        AssertBlames(e, 4, NonFiniteOrigin.Output, 0, "dense", null, "Training step 4: the output of layer 0 (dense)");
        Assert.Empty(snapshots);
        Assert.Equal(3, model.Optimizer!.Iterations);
        Assert.Contains("the input batch itself holds 1 NaN or infinite value, the first in sample 1", e.Message);

        // The same three good steps, replayed by hand, give the same bits.
        var replay = new Sequential(new Dense(8, Activation.ReLU), new Dense(3)).Build(new Shape(4), seed: 6)
            .Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits: true));
        for (int s = 0; s < 3; s++) replay.TrainStep(x.SliceBatch(2 * s, 2), y.AsSpan(2 * s, 2));
        Assert.Equal(Weights(replay), Weights(model));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    [InlineData(36)]
    public void The_per_step_check_sees_NaN_and_infinity_anywhere_in_the_gradients(int at)
    {
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var poison = new PoisonParameterGradient(37) { At = at, Value = bad };
            var model = new Sequential(new Dense(4), poison, new Dense(3)).Build(new Shape(4), seed: 1)
                .Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
            var (x, y) = Data(4, seed: 5);
            var before = Weights(model);
            var e = Assert.Throws<NonFiniteLossException>(() => model.TrainStep(x, y));
            AssertBlames(e, 1, NonFiniteOrigin.Gradient, 1, "poison_parameter_gradient", "offset", $"gradient element {at} is {bad}");
            AssertNotApplied(model, before, iterations: 0);
        }
    }

    /// <summary>The identity, whose backward pass writes NaN into its input gradient once <see cref="Poisoned"/> is set: a custom layer.</summary>
    private sealed class PoisonGradient : Layer
    {
        public bool Poisoned { get; set; }

        protected override string BaseName => "poison_gradient";

        protected internal override Shape Build(LayerBuild build) => build.InputShape;

        protected internal override void RunForward(in NodeContext c)
        {
            var (s, e) = c.Rows;
            int row = c.OutputShape.Size;
            c.Input().Slice(s * row, (e - s) * row).CopyTo(c.Output.Slice(s * row, (e - s) * row));
        }

        protected internal override void RunBackward(in NodeContext c)
        {
            if (!c.ComputesInputGradient() || c.Part != 0) return;
            c.OutputGradient.CopyTo(c.InputGradient());
            if (Poisoned) c.InputGradient()[1] = float.NaN;
        }
    }

    /// <summary>Adds a trainable offset to its input; its backward pass writes <see cref="Value"/> into the offset's gradient at <see cref="At"/>.</summary>
    private sealed class PoisonParameterGradient(int size) : Layer
    {
        public int At { get; init; }

        public float Value { get; init; }

        protected override string BaseName => "poison_parameter_gradient";

        protected internal override Shape Build(LayerBuild build)
        {
            build.AddParameter("offset", new Shape(size), new Zeros());
            return new Shape(size);
        }

        protected internal override void RunForward(in NodeContext c)
        {
            if (c.Part != 0) return;
            var y = c.Output;
            var x = c.Input();
            for (int n = 0; n < c.Batch; n++)
                for (int i = 0; i < size; i++) y[n * size + i] = c.Parameter(0)[i] + x[n * x.Length / c.Batch + i % (x.Length / c.Batch)];
        }

        protected internal override void RunBackward(in NodeContext c)
        {
            if (c.Part != 0) return;
            var dy = c.OutputGradient;
            var g = c.Gradient(0);
            for (int n = 0; n < c.Batch; n++)
                for (int i = 0; i < size; i++) g[i] += dy[n * size + i];
            g[At] = Value;
            if (c.ComputesInputGradient()) c.InputGradient().Clear();
        }
    }
}
