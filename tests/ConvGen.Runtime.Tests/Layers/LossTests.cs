using System;
using ConvGen;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

public class LossTests
{
    /// <summary>Compares the gradient a loss writes with central differences of the loss it returns.</summary>
    private static void CheckGradient(Func<Tensor, Tensor?, float> loss, Tensor predictions)
    {
        var gradient = new Tensor(predictions.Shape);
        loss(predictions, gradient);
        var analytic = gradient.ToArray();
        var p = predictions.Span;
        for (int i = 0; i < p.Length; i++)
        {
            float original = p[i];
            float plus = original + GradientCheck.Epsilon, minus = original - GradientCheck.Epsilon;
            p[i] = plus;
            double lPlus = loss(predictions, null);
            p[i] = minus;
            double lMinus = loss(predictions, null);
            p[i] = original;
            GradientCheck.AssertClose((lPlus - lMinus) / ((double)plus - minus), analytic[i], $"dL/dp[{i}]");
        }
    }

    [Fact]
    public void Crossentropy_from_logits_by_hand()
    {
        var loss = new SparseCategoricalCrossentropy(fromLogits: true);
        var logits = new Tensor(new Shape(1, 3), [1, 2, 3]);
        var gradient = new Tensor(logits.Shape);
        Assert.Equal(0.40760596f, loss.Compute(logits, [2], gradient), 6);
        double z = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        var g = gradient.ToArray();
        Assert.Equal(Math.Exp(1) / z, g[0], 6);
        Assert.Equal(Math.Exp(2) / z, g[1], 6);
        Assert.Equal(Math.Exp(3) / z - 1, g[2], 6);
    }

    [Fact]
    public void Crossentropy_mean_and_sum_over_the_batch()
    {
        var logits = new Tensor(new Shape(2, 3), [1, 2, 3, 0, 0, 0]);
        double row0 = 0.40760596, row1 = Math.Log(3);
        var mean = new SparseCategoricalCrossentropy(fromLogits: true);
        var sum = new SparseCategoricalCrossentropy(fromLogits: true, Reduction.Sum);
        var gMean = new Tensor(logits.Shape);
        var gSum = new Tensor(logits.Shape);
        Assert.Equal((row0 + row1) / 2, mean.Compute(logits, [2, 0], gMean), 6);
        Assert.Equal(row0 + row1, sum.Compute(logits, [2, 0], gSum), 5);
        // (softmax − onehot) / batch for the mean.
        Assert.Equal((1 / 3.0 - 1) / 2, gMean[1, 0], 6);
        Assert.Equal(1 / 3.0 - 1, gSum[1, 0], 6);
        Assert.Equal(Reduction.Mean, mean.Reduction);
    }

    [Fact]
    public void Crossentropy_from_logits_is_stable_for_large_logits()
    {
        var loss = new SparseCategoricalCrossentropy(fromLogits: true);
        var logits = new Tensor(new Shape(1, 3), [1000, 0, -1000]);
        var gradient = new Tensor(logits.Shape);
        Assert.Equal(0f, loss.Compute(logits, [0], gradient), 6);
        Assert.Equal(1000f, loss.Compute(logits, [1], gradient), 3);
        Assert.All(gradient.ToArray(), v => Assert.True(float.IsFinite(v)));
        Assert.Equal(new float[] { 1, -1, 0 }, gradient.ToArray());
    }

    [Fact]
    public void Crossentropy_from_probabilities_by_hand_and_clipped()
    {
        var loss = new SparseCategoricalCrossentropy();
        Assert.False(loss.FromLogits);
        var p = new Tensor(new Shape(1, 3), [0.1f, 0.2f, 0.7f]);
        Assert.Equal(-Math.Log(0.7), loss.Compute(p, [2]), 6);
        // Unnormalized rows are divided by their sum first.
        Assert.Equal(-Math.Log(0.7), loss.Compute(new Tensor(new Shape(1, 3), [0.2f, 0.4f, 1.4f]), [2]), 5);
        // A zero probability is clipped to 1e-7, and the clipped entry passes no gradient.
        var certain = new Tensor(new Shape(1, 3), [1, 0, 0]);
        var gradient = new Tensor(certain.Shape);
        Assert.Equal(-Math.Log(1e-7), loss.Compute(certain, [1], gradient), 4);
        Assert.Equal(new float[] { 0, 0, 0 }, gradient.ToArray());
    }

    [Theory]
    [InlineData(true, Reduction.Mean)]
    [InlineData(true, Reduction.Sum)]
    [InlineData(false, Reduction.Mean)]
    [InlineData(false, Reduction.Sum)]
    public void Crossentropy_gradient_matches_central_differences(bool fromLogits, Reduction reduction)
    {
        var loss = new SparseCategoricalCrossentropy(fromLogits, reduction);
        int[] labels = [2, 0, 4, 1];
        var predictions = TestData.Tensor(17, 4, 5);
        if (!fromLogits)
        {
            // Probabilities well inside (0, 1): a softmax of small logits.
            var softmax = new ConvGen.Testing.LayerHarness(new Softmax(), new Shape(5)).Forward(predictions).ToArray();
            predictions = new Tensor(predictions.Shape, softmax);
        }
        CheckGradient((p, g) => loss.Compute(p, labels, g), predictions);
    }

    [Fact]
    public void Crossentropy_accepts_label_tensors_like_keras()
    {
        var loss = new SparseCategoricalCrossentropy(fromLogits: true);
        var logits = TestData.Tensor(3, 3, 4);
        float expected = loss.Compute(logits, [3, 0, 2]);
        Assert.Equal(expected, loss.Compute(logits, new Tensor(new Shape(3), [3, 0, 2])));
        Assert.Equal(expected, loss.Compute(logits, new Tensor(new Shape(3, 1), [3, 0, 2])));
        var fractional = Assert.Throws<ArgumentException>(() => loss.Compute(logits, new Tensor(new Shape(3), [3, 0.5f, 2])));
        Assert.Equal("targets", fractional.ParamName);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => loss.Compute(logits, new Tensor(new Shape(3), [3, 4, 2])));
        Assert.Equal("targets", range.ParamName);
        var shape = Assert.Throws<ShapeMismatchException>(() => loss.Compute(logits, new Tensor(new Shape(4))));
        Assert.Equal("targets", shape.ParamName);
        Assert.Contains("(3,)", shape.Message);
        Assert.Contains("(4,)", shape.Message);
    }

    [Fact]
    public void Crossentropy_validates_labels_and_shapes()
    {
        var loss = new SparseCategoricalCrossentropy(fromLogits: true);
        var logits = TestData.Tensor(1, 2, 3);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => loss.Compute(logits, [0, 3]));
        Assert.Equal("labels", range.ParamName);
        Assert.Contains("Label 1 is 3", range.Message);
        Assert.Contains("[0, 2]", range.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => loss.Compute(logits, [-1, 0]));

        var count = Assert.Throws<ShapeMismatchException>(() => loss.Compute(logits, [0, 1, 2]));
        Assert.Equal("labels", count.ParamName);
        Assert.Contains("2 labels", count.Message);
        Assert.Contains("3 labels", count.Message);

        var gradient = Assert.Throws<ShapeMismatchException>(() => loss.Compute(logits, [0, 1], new Tensor(new Shape(2, 4))));
        Assert.Equal("gradient", gradient.ParamName);
        Assert.Contains("(2, 3)", gradient.Message);
        Assert.Contains("(2, 4)", gradient.Message);

        var rank = Assert.Throws<ShapeMismatchException>(() => loss.Compute(new Tensor(new Shape(3)), [0, 1, 2]));
        Assert.Equal("predictions", rank.ParamName);
    }

    [Fact]
    public void Mean_squared_error_by_hand()
    {
        var p = new Tensor(new Shape(2, 2), [1, 2, 3, 4]);
        var t = new Tensor(new Shape(2, 2), [0, 2, 5, 4]);
        var g = new Tensor(p.Shape);
        Assert.Equal(1.25f, new MeanSquaredError().Compute(p, t, g));
        Assert.Equal(new float[] { 0.5f, 0, -1, 0 }, g.ToArray());
        // Sum over the batch of the per-sample means: (1 + 0)/2 + (4 + 0)/2.
        Assert.Equal(2.5f, new MeanSquaredError(Reduction.Sum).Compute(p, t, g));
        Assert.Equal(new float[] { 1, 0, -2, 0 }, g.ToArray());
        Assert.Equal(1.25f, new MeanSquaredError().Compute(p, t));
    }

    [Theory]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    public void Mean_squared_error_gradient_matches_central_differences(Reduction reduction)
    {
        var loss = new MeanSquaredError(reduction);
        var targets = TestData.Tensor(2, 3, 2, 5);
        CheckGradient((p, g) => loss.Compute(p, targets, g), TestData.Tensor(1, 3, 2, 5));
        var scalars = TestData.Tensor(4, 6);
        CheckGradient((p, g) => loss.Compute(p, scalars, g), TestData.Tensor(3, 6));
    }

    [Fact]
    public void Mean_squared_error_validates_shapes_and_rejects_labels()
    {
        var loss = new MeanSquaredError();
        var p = new Tensor(new Shape(2, 3));
        var ex = Assert.Throws<ShapeMismatchException>(() => loss.Compute(p, new Tensor(new Shape(3, 2))));
        Assert.Equal("targets", ex.ParamName);
        Assert.Contains("(2, 3)", ex.Message);
        Assert.Contains("(3, 2)", ex.Message);
        var grad = Assert.Throws<ShapeMismatchException>(() => loss.Compute(p, new Tensor(new Shape(2, 3)), new Tensor(new Shape(6))));
        Assert.Equal("gradient", grad.ParamName);
        Assert.Throws<NotSupportedException>(() => loss.Compute(p, [0, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MeanSquaredError((Reduction)5));
    }
}
