using System;
using ConvGen;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

public class FlattenTests
{
    [Fact]
    public void Forward_is_a_view_of_the_input_and_backward_a_view_of_the_gradient()
    {
        var flatten = new Flatten();
        Assert.Equal(new Shape(60), flatten.Build(new Shape(3, 4, 5), 0));
        var x = TestData.Tensor(1, 2, 3, 4, 5);
        var y = flatten.Forward(x);
        Assert.Equal(new Shape(2, 60), y.Shape);
        Assert.Same(x.Storage.Buffer, y.Storage.Buffer);
        Assert.Equal(x.ToArray(), y.ToArray());
        Assert.Equal(x[1, 2, 3, 4], y[1, 59]);

        var dy = TestData.Tensor(2, 2, 60);
        var dx = flatten.Backward(dy)!;
        Assert.Equal(x.Shape, dx.Shape);
        Assert.Same(dy.Storage.Buffer, dx.Storage.Buffer);
        Assert.Null(flatten.Backward(dy, computeInputGradient: false));
        Assert.Empty(flatten.Parameters);
    }

    [Fact]
    public void Backward_matches_central_differences() => GradientCheck.Check(new Flatten(), TestData.Tensor(3, 3, 2, 3, 2), seed: 3);

    [Fact]
    public void Shape_errors_name_the_parameter_and_both_shapes()
    {
        var flatten = new Flatten();
        var ex = Assert.Throws<ShapeMismatchException>(() => flatten.Forward(new Tensor(new Shape(7))));
        Assert.Equal("input", ex.ParamName);
        Assert.Contains("(7,)", ex.Message);
        flatten.Forward(new Tensor(new Shape(2, 3, 3)));
        var grad = Assert.Throws<ShapeMismatchException>(() => flatten.Backward(new Tensor(new Shape(2, 8))));
        Assert.Equal("outputGradient", grad.ParamName);
        Assert.Contains("(2, 9)", grad.Message);
        Assert.Contains("(2, 8)", grad.Message);
    }
}

public class ActivationLayerTests
{
    private static Tensor AwayFromZero(int seed, params int[] shape)
    {
        var t = TestData.Tensor(seed, shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = MathF.CopySign(0.1f + MathF.Abs(s[i]), s[i]);
        return t;
    }

    [Fact]
    public void Forward_values_by_hand()
    {
        var x = new Tensor(new Shape(1, 3), [-2, 0, 1.5f]);
        Assert.Equal(new float[] { 0, 0, 1.5f }, new ReLU().Forward(x).ToArray());
        var sig = new Sigmoid().Forward(x).ToArray();
        Assert.Equal(1 / (1 + Math.Exp(2)), sig[0], 6);
        Assert.Equal(0.5, sig[1], 6);
        Assert.Equal(1 / (1 + Math.Exp(-1.5)), sig[2], 6);
        var tanh = new Tanh().Forward(x).ToArray();
        Assert.Equal(Math.Tanh(-2), tanh[0], 6);
        Assert.Equal(Math.Tanh(1.5), tanh[2], 6);

        var soft = new Softmax().Forward(new Tensor(new Shape(2, 3), [1, 2, 3, 0, 0, 0])).ToArray();
        double z = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        Assert.Equal(Math.Exp(1) / z, soft[0], 6);
        Assert.Equal(Math.Exp(3) / z, soft[2], 6);
        Assert.Equal(1 / 3.0, soft[4], 6);
    }

    [Fact]
    public void Softmax_is_stable_for_large_logits()
    {
        var y = new Softmax().Forward(new Tensor(new Shape(1, 3), [1000, 1001, 1002])).ToArray();
        var reference = new Softmax().Forward(new Tensor(new Shape(1, 3), [0, 1, 2])).ToArray();
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        for (int i = 0; i < 3; i++) Assert.Equal(reference[i], y[i], 6);
        var negative = new Softmax().Forward(new Tensor(new Shape(1, 2), [-1000, -1000])).ToArray();
        Assert.Equal(new float[] { 0.5f, 0.5f }, negative);
    }

    [Theory]
    [InlineData(3, 7)]
    [InlineData(1, 1)]
    [InlineData(2, 19)]
    public void Relu_backward_matches_central_differences(int batch, int features)
        => GradientCheck.Check(new ReLU(), AwayFromZero(batch * 31 + features, batch, features), seed: 1);

    [Fact]
    public void Relu_backward_on_images() => GradientCheck.Check(new ReLU(), AwayFromZero(9, 2, 3, 4, 5), seed: 2);

    [Theory]
    [InlineData(3, 7)]
    [InlineData(2, 19)]
    public void Sigmoid_backward_matches_central_differences(int batch, int features)
        => GradientCheck.Check(new Sigmoid(), TestData.Tensor(batch + features, batch, features), seed: 3);

    [Theory]
    [InlineData(3, 7)]
    [InlineData(2, 19)]
    public void Tanh_backward_matches_central_differences(int batch, int features)
        => GradientCheck.Check(new Tanh(), TestData.Tensor(batch + features, batch, features), seed: 4);

    [Theory]
    [InlineData(new[] { 3, 7 })]
    [InlineData(new[] { 2, 3, 5 })]
    [InlineData(new[] { 4, 1 })]
    [InlineData(new[] { 2, 10 })]
    public void Softmax_backward_matches_central_differences(int[] shape)
    {
        var x = TestData.Tensor(shape.Length * 7 + shape[^1], shape);
        var s = x.Span;
        for (int i = 0; i < s.Length; i++) s[i] *= 3f;
        GradientCheck.Check(new Softmax(), x, seed: 5);
    }

    [Fact]
    public void Layers_have_no_parameters_and_keep_the_shape()
    {
        ILayer[] layers = [new ReLU(), new Sigmoid(), new Tanh(), new Softmax()];
        foreach (var layer in layers)
        {
            Assert.Empty(layer.Parameters);
            Assert.Equal(new Shape(4, 5, 6), layer.Build(new Shape(4, 5, 6), 0));
            var x = TestData.Tensor(1, 2, 3);
            layer.Forward(x, training: true);
            Assert.Null(layer.Backward(TestData.Tensor(2, 2, 3), computeInputGradient: false));
            var ex = Assert.Throws<ShapeMismatchException>(() => layer.Backward(TestData.Tensor(2, 3, 2)));
            Assert.Equal("outputGradient", ex.ParamName);
            Assert.Contains("(2, 3)", ex.Message);
            Assert.Contains("(3, 2)", ex.Message);
        }
        Assert.Throws<ShapeMismatchException>(() => new Softmax().Forward(new Tensor(new Shape(5))));
        Assert.Throws<InvalidOperationException>(() => new Tanh().Backward(new Tensor(new Shape(1, 1))));
    }
}

public class DropoutTests
{
    [Fact]
    public void Inference_is_the_identity()
    {
        var dropout = new Dropout(0.5f, seed: 1);
        var x = TestData.Tensor(1, 4, 10);
        var y = dropout.Forward(x);
        Assert.Same(x, y);
        Assert.Equal(x.ToArray(), dropout.Forward(x, training: false).ToArray());
        var dy = TestData.Tensor(2, 4, 10);
        Assert.Equal(dy.ToArray(), dropout.Backward(dy)!.ToArray());
    }

    [Fact]
    public void Training_drops_about_rate_and_scales_the_rest()
    {
        const float rate = 0.3f;
        var dropout = new Dropout(rate, seed: 7);
        var x = new Tensor(new Shape(100, 1000));
        x.Span.Fill(2f);
        var y = dropout.Forward(x, training: true).ToArray();
        int dropped = 0;
        foreach (float v in y)
        {
            if (v == 0f) dropped++;
            else Assert.Equal(2f / (1f - rate), v, 6);
        }
        Assert.InRange(dropped / (double)y.Length, rate - 0.01, rate + 0.01);
    }

    [Fact]
    public void Backward_applies_the_same_mask()
    {
        var dropout = new Dropout(0.4f, seed: 3);
        var x = TestData.Tensor(1, 5, 33);
        var y = dropout.Forward(x, training: true).ToArray();
        var dy = TestData.Tensor(2, 5, 33);
        var dx = dropout.Backward(dy)!.ToArray();
        var xs = x.ToArray();
        var dys = dy.ToArray();
        for (int i = 0; i < y.Length; i++)
        {
            float mask = y[i] / xs[i];
            Assert.Equal(dys[i] * mask, dx[i], 5);
        }
        Assert.Null(dropout.Backward(dy, computeInputGradient: false));
    }

    [Fact]
    public void Masks_are_reproducible_from_the_seed_and_change_per_call()
    {
        var x = new Tensor(new Shape(8, 64));
        x.Span.Fill(1f);
        var a = new Dropout(0.5f, seed: 42);
        var b = new Dropout(0.5f, seed: 42);
        var a1 = a.Forward(x, training: true).ToArray();
        var a2 = a.Forward(x, training: true).ToArray();
        Assert.Equal(a1, b.Forward(x, training: true).ToArray());
        Assert.Equal(a2, b.Forward(x, training: true).ToArray());
        Assert.NotEqual(a1, a2);
        Assert.NotEqual(a1, new Dropout(0.5f, seed: 43).Forward(x, training: true).ToArray());

        // Build restarts the sequence; without a constructor seed the Build seed is used.
        a.Build(new Shape(64), 0);
        Assert.Equal(a1, a.Forward(x, training: true).ToArray());
        var c = new Dropout(0.5f);
        c.Build(new Shape(64), 42);
        Assert.Equal(a1, c.Forward(x, training: true).ToArray());
    }

    [Fact]
    public void Rate_zero_is_the_identity_and_invalid_rates_are_rejected()
    {
        var x = TestData.Tensor(1, 3, 3);
        Assert.Equal(x.ToArray(), new Dropout(0f).Forward(x, training: true).ToArray());
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1f)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(-0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(float.NaN));
    }
}

[Collection(ThreadCountCollection.Name)]
public class DropoutParallelTests
{
    [Fact]
    public void Mask_does_not_depend_on_the_thread_count()
    {
        var x = TestData.Tensor(3, 64, 1000);
        float[] Run(int threads)
        {
            using var scope = new ThreadScope(threads);
            var dropout = new Dropout(0.25f, seed: 9);
            dropout.Forward(x, training: true);
            return dropout.Forward(x, training: true).ToArray();
        }
        var one = Run(1);
        Assert.Equal(one, Run(2));
        Assert.Equal(one, Run(3));
    }
}
