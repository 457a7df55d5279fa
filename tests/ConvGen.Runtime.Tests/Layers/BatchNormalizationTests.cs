using System;
using System.Linq;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

/// <summary>
/// BatchNormalization against a plain-loop reference in double precision (forward and backward, training and inference,
/// moving statistics) over random shapes, thread counts and options, and its training-mode gradients by central differences.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public sealed class BatchNormalizationTests
{
    /// <summary>The reference: mean and biased variance per feature over every other axis, in double precision.</summary>
    private static (double[] Y, double[] Dx, double[] DGamma, double[] DBeta, double[] Mean, double[] Variance) Reference(
        float[] x, float[] dy, int features, float[] gamma, float[] beta, float[] movingMean, float[] movingVariance, bool training, double epsilon)
    {
        int m = x.Length / features;
        var mean = new double[features];
        var variance = new double[features];
        for (int j = 0; j < features; j++)
        {
            if (training)
            {
                for (int i = 0; i < m; i++) mean[j] += x[i * features + j];
                mean[j] /= m;
                for (int i = 0; i < m; i++) variance[j] += Math.Pow(x[i * features + j] - mean[j], 2);
                variance[j] /= m;
            }
            else
            {
                mean[j] = movingMean[j];
                variance[j] = movingVariance[j];
            }
        }
        var y = new double[x.Length];
        var dx = new double[x.Length];
        var dGamma = new double[features];
        var dBeta = new double[features];
        for (int j = 0; j < features; j++)
        {
            double inverseStd = 1 / Math.Sqrt(variance[j] + epsilon), sumDy = 0, sumDyXhat = 0;
            for (int i = 0; i < m; i++)
            {
                int k = i * features + j;
                double xhat = (x[k] - mean[j]) * inverseStd;
                y[k] = gamma[j] * xhat + beta[j];
                sumDy += dy[k];
                sumDyXhat += dy[k] * xhat;
            }
            dGamma[j] = sumDyXhat;
            dBeta[j] = sumDy;
            for (int i = 0; i < m; i++)
            {
                int k = i * features + j;
                double xhat = (x[k] - mean[j]) * inverseStd;
                dx[k] = training ? gamma[j] * inverseStd * (dy[k] - (sumDy + xhat * sumDyXhat) / m) : gamma[j] * inverseStd * dy[k];
            }
        }
        return (y, dx, dGamma, dBeta, mean, variance);
    }

    private static void AssertClose(double[] expected, float[] actual, string what, double tolerance = 2e-4)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1e-3, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * scale, $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Forward_backward_and_moving_statistics_match_the_reference_over_random_configurations(int threads)
    {
        using var scope = new ThreadScope(threads);
        var random = new Random(threads);
        // Every fourth trial has a feature count whose vector pattern is longer than one row (24 and 144 channels: a multiple
        // of 8 but not of 16 lanes) or is the feature count itself with a scalar tail (1030: lcm with the width above 1024).
        int[] wide = [24, 144, 1030];
        for (int trial = 0; trial < 16; trial++)
        {
            int batch = random.Next(1, 7), features = trial % 4 == 3 ? wide[random.Next(wide.Length)] : random.Next(1, 40);
            var sample = random.Next(3) switch
            {
                0 => new Shape(features),
                1 => new Shape(random.Next(1, 5), features),
                _ => new Shape(random.Next(1, 6), random.Next(1, 6), features),
            };
            bool center = random.Next(2) == 0, scale = random.Next(3) > 0, training = random.Next(3) > 0;
            float momentum = (float)random.NextDouble(), epsilon = 1e-3f;
            var layer = new BatchNormalization(momentum, epsilon, center, scale);
            var harness = new LayerHarness(layer, sample, seed: trial);
            var parameters = harness.Model.NamedParameters().ToDictionary(p => p.Name.Split('/')[1], p => p.Tensor);
            var gamma = scale ? TestData.Uniform(features, trial + 10, 0.5f, 1.5f) : Enumerable.Repeat(1f, features).ToArray();
            var beta = center ? TestData.Uniform(features, trial + 20) : new float[features];
            if (scale) gamma.CopyTo(parameters["gamma"].Span);
            if (center) beta.CopyTo(parameters["beta"].Span);
            var movingMean = TestData.Uniform(features, trial + 30);
            var movingVariance = TestData.Uniform(features, trial + 40, 0.5f, 2f);
            movingMean.CopyTo(layer.State[0].Value.Span);
            movingVariance.CopyTo(layer.State[1].Value.Span);

            var x = TestData.Tensor(trial + 50, [batch, .. sample.Dimensions]);
            for (int i = 0; i < x.Span.Length; i++) x.Span[i] = x.Span[i] * 3 + 1; // off-centre, so the mean matters
            var dy = TestData.Tensor(trial + 60, [batch, .. sample.Dimensions]);
            var expected = Reference(x.ToArray(), dy.ToArray(), features, gamma, beta, movingMean, movingVariance, training, epsilon);

            string what = $"trial {trial}: {batch} x {sample}, center {center}, scale {scale}, training {training}, {threads} threads";
            AssertClose(expected.Y, harness.Forward(x, training).ToArray(), $"{what}: y");
            harness.Model.ZeroGradients();
            AssertClose(expected.Dx, harness.Backward(dy).ToArray(), $"{what}: dx");
            if (scale) AssertClose(expected.DGamma, layer.Parameters[0].Gradient.ToArray(), $"{what}: dgamma");
            if (center) AssertClose(expected.DBeta, layer.Parameters[scale ? 1 : 0].Gradient.ToArray(), $"{what}: dbeta");
            var newMean = training ? movingMean.Select((v, j) => momentum * v + (1 - momentum) * expected.Mean[j]).ToArray() : movingMean.Select(v => (double)v).ToArray();
            var newVariance = training ? movingVariance.Select((v, j) => momentum * v + (1 - momentum) * expected.Variance[j]).ToArray() : movingVariance.Select(v => (double)v).ToArray();
            AssertClose(newMean, layer.State[0].Value.ToArray(), $"{what}: moving_mean");
            AssertClose(newVariance, layer.State[1].Value.ToArray(), $"{what}: moving_variance");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Training_gradients_pass_central_differences(int threads)
    {
        using var scope = new ThreadScope(threads);
        // Followed by a Dense layer, so the objective is not just a weighted sum of normalized values (whose input gradient
        // would be nearly zero by construction).
        var layer = new BatchNormalization(momentum: 0.5f);
        var model = new Sequential(layer, new Flatten(), new Dense(5)).Build(new Shape(3, 3, 4), seed: 3);
        TestData.Uniform(4, 8, 0.5f, 1.5f).CopyTo(layer.Parameters[0].Value.Span);
        TestData.Uniform(4, 9).CopyTo(layer.Parameters[1].Value.Span);
        var x = TestData.Tensor(4, 5, 3, 3, 4);
        var r = TestData.Uniform(5 * 5, 5);
        double Objective()
        {
            var y = model.Forward(x, training: true).Span;
            double sum = 0;
            for (int i = 0; i < y.Length; i++) sum += (double)r[i] * y[i];
            return sum;
        }
        model.Forward(x, training: true);
        model.ZeroGradients();
        var dx = new Tensor(x.Shape);
        model.Backward(new Tensor(new Shape(5, 5), (float[])r.Clone()), dx);
        var analytic = new[] { dx.ToArray(), layer.Parameters[0].Gradient.ToArray(), layer.Parameters[1].Gradient.ToArray() };
        var targets = new[] { x.Span.ToArray().Length, 4, 4 };
        int compared = 0;
        for (int t = 0; t < 3; t++)
        {
            for (int i = 0; i < targets[t]; i += t == 0 ? 7 : 1)
            {
                Span<float> values = t == 0 ? x.Span : layer.Parameters[t - 1].Value.Span;
                float original = values[i];
                values[i] = original + 1e-2f;
                double plus = Objective();
                values = t == 0 ? x.Span : layer.Parameters[t - 1].Value.Span;
                values[i] = original - 1e-2f;
                double minus = Objective();
                values = t == 0 ? x.Span : layer.Parameters[t - 1].Value.Span;
                values[i] = original;
                GradientCheck.AssertClose((plus - minus) / 2e-2, analytic[t][i], $"{(t == 0 ? "input" : layer.Parameters[t - 1].Name)}[{i}]");
                compared++;
            }
        }
        Assert.True(compared > 30);
    }

    [Fact]
    public void Its_weights_are_named_and_ordered_as_in_Keras_and_the_arguments_are_checked()
    {
        var model = new Sequential(new Dense(6), new BatchNormalization(), new Dense(2)).Build(new Shape(3), seed: 1);
        Assert.Equal(["dense/kernel", "dense/bias", "batch_normalization/gamma", "batch_normalization/beta",
            "batch_normalization/moving_mean", "batch_normalization/moving_variance", "dense_1/kernel", "dense_1/bias"],
            model.NamedWeights().Select(w => w.Name));
        Assert.Equal(12, model.StateCount);
        Assert.Equal(Enumerable.Repeat(1f, 6), model.NamedWeights()[2].Tensor.ToArray());
        Assert.Equal(Enumerable.Repeat(1f, 6), model.NamedWeights()[5].Tensor.ToArray());
        var noScale = new Sequential(new Dense(6), new BatchNormalization(center: false, scale: false), new Dense(2)).Build(new Shape(3), seed: 1);
        Assert.DoesNotContain(noScale.NamedWeights(), w => w.Name.EndsWith("gamma") || w.Name.EndsWith("beta"));
        Assert.Equal("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormalization(momentum: 1.5f)).ParamName);
        Assert.Equal("epsilon", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormalization(epsilon: 0f)).ParamName);
    }
}
