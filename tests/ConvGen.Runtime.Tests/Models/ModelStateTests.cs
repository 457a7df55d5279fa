using System;
using System.IO;
using System.Linq;
using ConvGen;
using ConvGen.Runtime.Tests.Layers;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Models;

/// <summary>
/// Non-trainable state (the moving statistics of a normalization layer): held apart from the parameters, untouched by the
/// optimizer, changed only in training mode, and saved and loaded with the weights. <see cref="Centering"/> is a custom layer
/// written here against the public <see cref="Layer"/> contract.
/// </summary>
public class ModelStateTests
{
    /// <summary>
    /// Subtracts a mean from every feature: the batch's in training (updating a moving mean), the moving mean in inference.
    /// Its state is <c>moving_mean</c>; its parameter a learned <c>offset</c> added back.
    /// </summary>
    private sealed class Centering : Layer
    {
        public const float Momentum = 0.5f;

        protected override string BaseName => "centering";

        protected internal override Shape Build(LayerBuild build)
        {
            build.AddParameter("offset", build.InputShape, new Zeros());
            build.AddState("moving_mean", build.InputShape, new Constant(1f));
            return build.InputShape;
        }

        protected internal override void RunForward(in NodeContext c)
        {
            if (c.Part != 0) return; // small: one thread does it all
            int features = c.OutputShape.Size;
            var x = c.Input();
            var y = c.Output;
            var mean = c.State(0);
            var offset = c.Parameter(0);
            Span<float> batchMean = stackalloc float[features];
            for (int n = 0; n < c.Batch; n++)
                for (int i = 0; i < features; i++) batchMean[i] += x[n * features + i] / c.Batch;
            if (c.Training)
                for (int i = 0; i < features; i++) mean[i] = Momentum * mean[i] + (1 - Momentum) * batchMean[i];
            for (int n = 0; n < c.Batch; n++)
                for (int i = 0; i < features; i++)
                    y[n * features + i] = x[n * features + i] - (c.Training ? batchMean[i] : mean[i]) + offset[i];
        }

        protected internal override void RunBackward(in NodeContext c)
        {
            if (c.Part != 0) return;
            int features = c.OutputShape.Size;
            var dy = c.OutputGradient;
            var dOffset = c.Gradient(0);
            for (int n = 0; n < c.Batch; n++)
                for (int i = 0; i < features; i++) dOffset[i] += dy[n * features + i];
            if (!c.ComputesInputGradient()) return;
            var dx = c.InputGradient();
            for (int n = 0; n < c.Batch; n++)
                for (int i = 0; i < features; i++)
                {
                    float sum = 0;
                    for (int m = 0; m < c.Batch; m++) sum += dy[m * features + i];
                    float g = c.Training ? dy[n * features + i] - sum / c.Batch : dy[n * features + i];
                    if (c.AccumulatesInputGradient()) dx[n * features + i] += g;
                    else dx[n * features + i] = g;
                }
        }
    }

    private static Sequential Model(int seed = 1) => new Sequential(new Dense(3), new Centering(), new Dense(2)).Build(new Shape(4), seed)
        .Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));

    [Fact]
    public void State_is_apart_from_the_parameters_and_in_the_weights_and_summary()
    {
        var model = Model();
        Assert.Equal(["dense/kernel", "dense/bias", "centering/offset", "dense_1/kernel", "dense_1/bias"], model.NamedParameters().Select(p => p.Name));
        Assert.Equal(["dense/kernel", "dense/bias", "centering/offset", "centering/moving_mean", "dense_1/kernel", "dense_1/bias"], model.NamedWeights().Select(p => p.Name));
        Assert.Equal(3, model.StateCount);
        Assert.Equal(4 * 3 + 3 + 3 + 3 * 2 + 2, model.ParameterCount);
        Assert.Equal(model.ParameterCount, model.ParameterBuffer.Length);
        Assert.Equal(new float[] { 1, 1, 1 }, model.Layers[1].State[0].Value.ToArray()); // its initializer
        string summary = model.Summary();
        Assert.Contains("Non-trainable params: 3", summary);
        Assert.Contains("Trainable params: 26", summary);
        Assert.Contains("Total params: 29", summary);
    }

    [Fact]
    public void Training_updates_the_state_inference_uses_it_and_the_optimizer_leaves_it_alone()
    {
        var model = Model();
        var state = model.Layers[1].State[0].Value;
        var x = TestData.Tensor(3, 5, 4);
        int[] labels = [0, 1, 1, 0, 1];

        model.Predict(x);
        model.Evaluate(x, labels);
        model.Forward(x);
        Assert.Equal(new float[] { 1, 1, 1 }, state.ToArray()); // inference does not move it

        model.TrainStep(x, labels);
        var afterOne = state.ToArray();
        Assert.NotEqual(new float[] { 1, 1, 1 }, afterOne);
        model.Forward(x, training: true);
        Assert.NotEqual(afterOne, state.ToArray());

        // Two identical inputs in inference mode give the same output: it depends on the moving mean, not on the batch.
        var single = model.Predict(x.SliceBatch(0, 1)).ToArray();
        Assert.Equal(single, model.Predict(x, batchSize: 5).ToArray()[..2]);
    }

    [Fact]
    public void State_is_saved_and_loaded_with_the_weights()
    {
        string directory = Directory.CreateTempSubdirectory("convgen-state-").FullName;
        try
        {
            var trained = Model(seed: 1);
            var x = TestData.Tensor(4, 6, 4);
            int[] labels = [0, 1, 1, 0, 1, 0];
            for (int step = 0; step < 4; step++) trained.TrainStep(x, labels);
            string path = Path.Combine(directory, "centering.weights");
            trained.SaveWeights(path);

            var fresh = Model(seed: 2);
            Assert.NotEqual(trained.Predict(x).ToArray(), fresh.Predict(x).ToArray());
            fresh.LoadWeights(path);
            Assert.Equal(trained.Layers[1].State[0].Value.ToArray(), fresh.Layers[1].State[0].Value.ToArray());
            Assert.Equal(trained.Predict(x).ToArray(), fresh.Predict(x).ToArray());

            // A model without the state does not take the file.
            var other = new Sequential(new Dense(3), new Dense(2)).Build(new Shape(4));
            Assert.Throws<ConvGen.Serialization.WeightsMismatchException>(() => other.LoadWeights(path));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
