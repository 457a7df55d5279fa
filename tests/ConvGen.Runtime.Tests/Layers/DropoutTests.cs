using System;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

[Collection(ProcessWideSettings.Name)]
public class DropoutTests
{
    [Fact]
    public void Inference_copies_the_input_and_passes_the_gradient()
    {
        var layer = new LayerHarness(new Dropout(0.5f, seed: 1), new Shape(10));
        var x = TestData.Tensor(1, 4, 10);
        Assert.Equal(x.ToArray(), layer.Forward(x).ToArray());
        var dy = TestData.Tensor(2, 4, 10);
        Assert.Equal(dy.ToArray(), layer.Backward(dy).ToArray());
    }

    [Fact]
    public void Training_drops_about_rate_and_scales_the_rest()
    {
        const float rate = 0.3f;
        var layer = new LayerHarness(new Dropout(rate, seed: 7), new Shape(1000));
        var x = new Tensor(new Shape(100, 1000));
        x.Span.Fill(2f);
        var y = layer.Forward(x, training: true).ToArray();
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
        var layer = new LayerHarness(new Dropout(0.4f, seed: 3), new Shape(33));
        var x = TestData.Tensor(1, 5, 33);
        var y = layer.Forward(x, training: true).ToArray();
        var dy = TestData.Tensor(2, 5, 33);
        var dx = layer.Backward(dy).ToArray();
        var xs = x.ToArray();
        var dys = dy.ToArray();
        for (int i = 0; i < y.Length; i++)
        {
            float mask = y[i] / xs[i];
            Assert.Equal(dys[i] * mask, dx[i], 5);
        }
    }

    [Fact]
    public void Masks_are_reproducible_from_the_seed_and_change_per_training_pass()
    {
        var x = new Tensor(new Shape(8, 64));
        x.Span.Fill(1f);
        var a = new LayerHarness(new Dropout(0.5f, seed: 42), new Shape(64));
        var b = new LayerHarness(new Dropout(0.5f, seed: 42), new Shape(64));
        var a1 = a.Forward(x, training: true).ToArray();
        a.Forward(x); // inference passes do not advance the sequence
        var a2 = a.Forward(x, training: true).ToArray();
        Assert.Equal(a1, b.Forward(x, training: true).ToArray());
        Assert.Equal(a2, b.Forward(x, training: true).ToArray());
        Assert.NotEqual(a1, a2);
        Assert.NotEqual(a1, new LayerHarness(new Dropout(0.5f, seed: 43), new Shape(64)).Forward(x, training: true).ToArray());

        // Initializing restarts the sequence; without a constructor seed the layer's seed in the model is used.
        a.Model.Initialize(0);
        Assert.Equal(a1, a.Forward(x, training: true).ToArray());
        var c = new LayerHarness(new Dropout(0.5f), new Shape(64), seed: 42);
        var d = new LayerHarness(new Dropout(0.5f), new Shape(64), seed: 42);
        Assert.Equal(c.Forward(x, training: true).ToArray(), d.Forward(x, training: true).ToArray());
    }

    [Fact]
    public void Rate_zero_is_the_identity_and_invalid_rates_are_rejected()
    {
        var x = TestData.Tensor(1, 3, 3);
        Assert.Equal(x.ToArray(), new LayerHarness(new Dropout(0f), new Shape(3)).Forward(x, training: true).ToArray());
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1f)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(-0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(float.NaN));
    }

    [Fact]
    public void Mask_does_not_depend_on_the_thread_count()
    {
        var x = TestData.Tensor(3, 64, 1000);
        float[] Run(int threads)
        {
            using var scope = new ThreadScope(threads);
            var layer = new LayerHarness(new Dropout(0.25f, seed: 9), new Shape(1000));
            layer.Forward(x, training: true);
            return layer.Forward(x, training: true).ToArray();
        }
        var one = Run(1);
        Assert.Equal(one, Run(2));
        Assert.Equal(one, Run(3));
    }
}
