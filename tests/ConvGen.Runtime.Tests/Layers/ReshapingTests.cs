using System;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

/// <summary>ZeroPadding2D and Cropping2D against their definitions and by central differences; Reshape's shapes and that it moves nothing.</summary>
[Collection(ProcessWideSettings.Name)]
public sealed class ReshapingTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Zero_padding_matches_the_definition(int threads)
    {
        using var scope = new ThreadScope(threads);
        var layer = new ZeroPadding2D(1, 2, 0, 3);
        var harness = new LayerHarness(layer, new Shape(3, 4, 2));
        var x = TestData.Tensor(1, 3, 3, 4, 2);
        var y = harness.Forward(x);
        Assert.Equal(new Shape(3, 6, 7, 2), y.Shape);
        var dy = TestData.Tensor(2, 3, 6, 7, 2);
        var dx = harness.Backward(dy);
        for (int n = 0; n < 3; n++)
            for (int r = 0; r < 6; r++)
                for (int q = 0; q < 7; q++)
                    for (int k = 0; k < 2; k++)
                    {
                        bool inside = r >= 1 && r < 4 && q < 4;
                        float expected = inside ? x.Span[((n * 3 + r - 1) * 4 + q) * 2 + k] : 0f;
                        Assert.Equal(expected, y.Span[((n * 6 + r) * 7 + q) * 2 + k]);
                        if (inside) Assert.Equal(dy.Span[((n * 6 + r) * 7 + q) * 2 + k], dx.Span[((n * 3 + r - 1) * 4 + q) * 2 + k]);
                    }
        Assert.True(GradientCheck.Check(new ZeroPadding2D(2), TestData.Tensor(3, 2, 3, 3, 2), seed: 3) > 30);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ZeroPadding2D(-1));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Cropping_matches_the_definition(int threads)
    {
        using var scope = new ThreadScope(threads);
        var layer = new Cropping2D(1, 2, 0, 3);
        var harness = new LayerHarness(layer, new Shape(6, 7, 2));
        var x = TestData.Tensor(1, 3, 6, 7, 2);
        var y = harness.Forward(x);
        Assert.Equal(new Shape(3, 3, 4, 2), y.Shape);
        var dy = TestData.Tensor(2, 3, 3, 4, 2);
        var dx = harness.Backward(dy);
        for (int n = 0; n < 3; n++)
            for (int r = 0; r < 6; r++)
                for (int q = 0; q < 7; q++)
                    for (int k = 0; k < 2; k++)
                    {
                        bool kept = r >= 1 && r < 4 && q < 4;
                        int at = ((n * 3 + r - 1) * 4 + q) * 2 + k;
                        if (kept) Assert.Equal(x.Span[((n * 6 + r) * 7 + q) * 2 + k], y.Span[at]);
                        Assert.Equal(kept ? dy.Span[at] : 0f, dx.Span[((n * 6 + r) * 7 + q) * 2 + k]);
                    }
        // Read by two layers, its input gradient accumulates; and central differences.
        Assert.True(GradientCheck.Check(new Cropping2D(1, 0, 2, 1), TestData.Tensor(3, 2, 5, 6, 2), seed: 3) > 30);
        var branches = new Sequential(new ZeroPadding2D(1) { Name = "p" }, new Cropping2D(1) { Name = "a" }, new Cropping2D(0, 2, 1, 1) { Input = "p", Name = "b" },
            new Cropping2D(0) { Input = "a" }, new Concatenate("b", "cropping2d"), new Flatten(), new Dense(2)).Build(new Shape(4, 5, 2), seed: 2);
        Assert.Equal(new Shape(4, 5, 2), branches.Nodes[1].OutputShape);
        ModelGradientCheck.AssertPasses(branches, TestData.Tensor(5, 2, 4, 5, 2), seed: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Cropping2D(-1));
        Assert.Equal("inputShape", Assert.Throws<ShapeMismatchException>(() => new Sequential(new Cropping2D(2, 2, 0, 0)).Build(new Shape(4, 5, 2), seed: 0)).ParamName);
    }

    [Fact]
    public void Reshape_infers_one_dimension_moves_nothing_and_refuses_other_sizes()
    {
        var model = new Sequential(new Dense(12), new Reshape(2, -1, 3), new Flatten(), new Dense(2)).Build(new Shape(5), seed: 1);
        Assert.Equal(new Shape(2, 2, 3), model.OutputShapes[1]);
        Assert.Equal(new Shape(2, 2, 3), model.Nodes[1].OutputShape);
        Assert.Throws<ShapeMismatchException>(() => new Sequential(new Dense(10), new Reshape(3, 3)).Build(new Shape(5), seed: 0));
        Assert.Throws<ArgumentException>(() => new Reshape(-1, -1));
        Assert.Throws<ArgumentException>(() => new Reshape());
        Assert.True(GradientCheck.Check(new Reshape(6), TestData.Tensor(5, 2, 2, 3), seed: 5, then: new Dense(4)) > 10);
    }
}
