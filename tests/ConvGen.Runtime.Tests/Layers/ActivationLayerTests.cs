using System;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

public class ActivationLayerTests
{
    private static Tensor AwayFromZero(int seed, params int[] shape)
    {
        var t = TestData.Tensor(seed, shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = MathF.CopySign(0.1f + MathF.Abs(s[i]), s[i]);
        return t;
    }

    private static float[] Run(Layer layer, Tensor x) => new LayerHarness(layer, x.Shape.WithoutBatch()).Forward(x).ToArray();

    [Fact]
    public void Forward_values_by_hand()
    {
        var x = new Tensor(new Shape(1, 3), [-2, 0, 1.5f]);
        Assert.Equal(new float[] { 0, 0, 1.5f }, Run(new ReLU(), x));
        var sig = Run(new Sigmoid(), x);
        Assert.Equal(1 / (1 + Math.Exp(2)), sig[0], 6);
        Assert.Equal(0.5, sig[1], 6);
        Assert.Equal(1 / (1 + Math.Exp(-1.5)), sig[2], 6);
        var tanh = Run(new Tanh(), x);
        Assert.Equal(Math.Tanh(-2), tanh[0], 6);
        Assert.Equal(Math.Tanh(1.5), tanh[2], 6);

        var soft = Run(new Softmax(), new Tensor(new Shape(2, 3), [1, 2, 3, 0, 0, 0]));
        double z = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        Assert.Equal(Math.Exp(1) / z, soft[0], 6);
        Assert.Equal(Math.Exp(3) / z, soft[2], 6);
        Assert.Equal(1 / 3.0, soft[4], 6);
    }

    [Fact]
    public void Softmax_is_stable_for_large_logits_and_runs_along_the_last_axis()
    {
        var y = Run(new Softmax(), new Tensor(new Shape(1, 3), [1000, 1001, 1002]));
        var reference = Run(new Softmax(), new Tensor(new Shape(1, 3), [0, 1, 2]));
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        for (int i = 0; i < 3; i++) Assert.Equal(reference[i], y[i], 6);
        Assert.Equal(new float[] { 0.5f, 0.5f }, Run(new Softmax(), new Tensor(new Shape(1, 2), [-1000, -1000])));
        // (2, 2, 2) samples: each pair along the last axis sums to 1.
        var images = Run(new Softmax(), TestData.Tensor(4, 3, 2, 2, 2));
        for (int r = 0; r < images.Length; r += 2) Assert.Equal(1f, images[r] + images[r + 1], 5);
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
        Layer[] layers = [new ReLU(), new Sigmoid(), new Tanh(), new Softmax()];
        foreach (var layer in layers)
        {
            var model = new Sequential(layer).Build(new Shape(4, 5, 6));
            Assert.Empty(layer.Parameters);
            Assert.Equal(new Shape(4, 5, 6), model.OutputShape);
        }
    }
}
