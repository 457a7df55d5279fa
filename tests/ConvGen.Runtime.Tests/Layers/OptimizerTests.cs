using System;
using ConvGen;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

public class OptimizerTests
{
    private static Parameter Param(float[] value, float[] gradient)
    {
        var p = new Parameter("w", new Shape(value.Length));
        value.CopyTo(p.Value.Span);
        gradient.CopyTo(p.Gradient.Span);
        return p;
    }

    [Fact]
    public void Sgd_plain_steps_by_hand()
    {
        var p = Param([1f, -2f], [0.5f, 1f]);
        var sgd = new SGD(learningRate: 0.1f);
        sgd.Step([p]);
        Assert.Equal(0.95f, p.Value[0], 6);
        Assert.Equal(-2.1f, p.Value[1], 6);
        sgd.Step([p]);
        Assert.Equal(0.9f, p.Value[0], 6);
        Assert.Equal(-2.2f, p.Value[1], 6);
        Assert.Equal(new float[] { 0.5f, 1f }, p.Gradient.ToArray()); // gradients are left alone
        Assert.Equal(2, sgd.Iterations);
    }

    [Fact]
    public void Sgd_momentum_steps_by_hand()
    {
        // v = 0.9 v − 0.1·0.5; w += v: v = −0.05, −0.095, −0.1355.
        var p = Param([1f], [0.5f]);
        var sgd = new SGD(0.1f, momentum: 0.9f);
        sgd.Step([p]);
        Assert.Equal(0.95f, p.Value[0], 6);
        sgd.Step([p]);
        Assert.Equal(0.855f, p.Value[0], 6);
        sgd.Step([p]);
        Assert.Equal(0.7195f, p.Value[0], 6);
    }

    [Fact]
    public void Sgd_nesterov_steps_by_hand()
    {
        // v as above; w += 0.9 v − 0.1·0.5: 1 − 0.045 − 0.05, then − 0.0855 − 0.05, then − 0.12195 − 0.05.
        var p = Param([1f], [0.5f]);
        var sgd = new SGD(0.1f, momentum: 0.9f, nesterov: true);
        sgd.Step([p]);
        Assert.Equal(0.905f, p.Value[0], 6);
        sgd.Step([p]);
        Assert.Equal(0.7695f, p.Value[0], 6);
        sgd.Step([p]);
        Assert.Equal(0.59755f, p.Value[0], 5);
    }

    [Fact]
    public void Adam_first_step_is_about_the_learning_rate()
    {
        var p = Param([1f], [0.5f]);
        new Adam().Step([p]);
        // m̂/√v̂ = 1 at the first step, so w moves by lr (less a hair for ε).
        Assert.Equal(0.999f, p.Value[0], 6);
    }

    [Theory]
    [InlineData(0.001f, 0.9f, 0.999f, 1e-7f)]
    [InlineData(0.05f, 0.5f, 0.9f, 1e-3f)]
    public void Adam_three_steps_match_the_keras_formula(float lr, float beta1, float beta2, float epsilon)
    {
        // 11 elements: a full vector and a scalar tail; the gradient changes every step.
        const int n = 11;
        var w0 = TestData.Uniform(n, 1);
        var p = Param(w0, new float[n]);
        var adam = new Adam(lr, beta1, beta2, epsilon);
        var w = Array.ConvertAll(w0, v => (double)v);
        var m = new double[n];
        var v2 = new double[n];
        for (int t = 1; t <= 3; t++)
        {
            var g = TestData.Uniform(n, 10 + t);
            g.CopyTo(p.Gradient.Span);
            adam.Step([p]);
            double alpha = lr * Math.Sqrt(1 - Math.Pow(beta2, t)) / (1 - Math.Pow(beta1, t));
            for (int i = 0; i < n; i++)
            {
                m[i] += (g[i] - m[i]) * (1 - beta1);
                v2[i] += ((double)g[i] * g[i] - v2[i]) * (1 - beta2);
                w[i] -= alpha * m[i] / (Math.Sqrt(v2[i]) + epsilon);
                Assert.Equal(w[i], p.Value[i], 5);
            }
        }
        Assert.Equal(3, adam.Iterations);
    }

    [Fact]
    public void Sgd_momentum_vector_path_matches_the_formula()
    {
        const int n = 19;
        var w0 = TestData.Uniform(n, 2);
        var p = Param(w0, new float[n]);
        var sgd = new SGD(0.05f, 0.8f, nesterov: true);
        var w = Array.ConvertAll(w0, x => (double)x);
        var v = new double[n];
        for (int t = 0; t < 3; t++)
        {
            var g = TestData.Uniform(n, 20 + t);
            g.CopyTo(p.Gradient.Span);
            sgd.Step([p]);
            for (int i = 0; i < n; i++)
            {
                v[i] = 0.8f * v[i] - 0.05f * g[i];
                w[i] += 0.8f * v[i] - 0.05f * g[i];
                Assert.Equal(w[i], p.Value[i], 5);
            }
        }
    }

    [Fact]
    public void State_is_kept_per_parameter_and_reset_forgets_it()
    {
        var a = Param([1f], [1f]);
        var b = Param([1f], [1f]);
        var sgd = new SGD(0.1f, momentum: 0.5f);
        sgd.Step([a]);
        sgd.Step([a, b]);
        // a: v = −0.1 then −0.15 → 0.75; b: first step v = −0.1 → 0.9.
        Assert.Equal(0.75f, a.Value[0], 6);
        Assert.Equal(0.9f, b.Value[0], 6);
        sgd.Reset();
        Assert.Equal(0, sgd.Iterations);
        sgd.Step([a]);
        Assert.Equal(0.65f, a.Value[0], 6);
    }

    [Fact]
    public void Learning_rate_and_hyper_parameters_are_validated()
    {
        foreach (float bad in new[] { 0f, -0.1f, float.NaN, float.PositiveInfinity })
        {
            Assert.Equal("learningRate", Assert.Throws<ArgumentOutOfRangeException>(() => new SGD(bad)).ParamName);
            Assert.Equal("learningRate", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(bad)).ParamName);
            Assert.Equal("LearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => new SGD().LearningRate = bad).ParamName);
        }
        Assert.Equal("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new SGD(momentum: -0.1f)).ParamName);
        Assert.Equal("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new SGD(momentum: 1.5f)).ParamName);
        Assert.Equal("beta1", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: 1f)).ParamName);
        Assert.Equal("beta2", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta2: float.NaN)).ParamName);
        Assert.Equal("epsilon", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(epsilon: 0f)).ParamName);

        var adam = new Adam();
        adam.LearningRate = 0.01f;
        Assert.Equal(0.01f, adam.LearningRate);
        Assert.Throws<ArgumentNullException>(() => adam.Step(null!));
    }

    [Fact]
    public void Optimizers_train_a_dense_layer_on_a_linear_problem()
    {
        // y = 2·x0 − x1 + 0.5: a few hundred steps of either optimizer get the loss near zero.
        foreach (IOptimizer optimizer in new IOptimizer[] { new SGD(0.1f, 0.9f), new Adam(0.05f) })
        {
            var dense = new Dense(1);
            var model = new Sequential(dense).Build(new Shape(2), 0);
            var x = TestData.Tensor(5, 32, 2);
            var t = new Tensor(new Shape(32, 1));
            for (int i = 0; i < 32; i++) t[i, 0] = 2 * x[i, 0] - x[i, 1] + 0.5f;
            var loss = new MeanSquaredError();
            var gradient = new Tensor(t.Shape);
            float value = 0;
            for (int step = 0; step < 300; step++)
            {
                foreach (var p in dense.Parameters) p.ZeroGradient();
                value = loss.Compute(model.Forward(x, training: true), t, gradient);
                model.Backward(gradient);
                optimizer.Step(dense.Parameters);
            }
            Assert.True(value < 1e-4, $"{optimizer}: final loss {value}");
        }
    }
}
