using System;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

[Collection(ProcessWideSettings.Name)]
public class PoolingTests
{
    private static Tensor Run(Layer pool, Tensor x) => new LayerHarness(pool, x.Shape.WithoutBatch()).Forward(x);

    [Theory]
    // poolH, poolW, strideH, strideW, padding, H, W, expected OH, OW
    [InlineData(2, 2, 2, 2, Padding.Valid, 5, 7, 2, 3)]
    [InlineData(2, 2, 2, 2, Padding.Same, 5, 7, 3, 4)]
    [InlineData(3, 3, 2, 2, Padding.Same, 5, 5, 3, 3)]
    [InlineData(3, 3, 1, 1, Padding.Valid, 4, 4, 2, 2)]
    [InlineData(2, 3, 1, 2, Padding.Same, 5, 6, 5, 3)]
    [InlineData(2, 2, 3, 3, Padding.Valid, 7, 8, 2, 3)]
    [InlineData(1, 1, 3, 3, Padding.Same, 7, 8, 3, 3)]
    public void Output_shape_follows_keras(int ph, int pw, int sh, int sw, Padding padding, int h, int w, int oh, int ow)
    {
        var expected = new Shape(oh, ow, 3);
        Assert.Equal(expected, new Sequential(new MaxPool2D(ph, pw, sh, sw, padding)).Build(new Shape(h, w, 3)).OutputShape);
        Assert.Equal(expected, new Sequential(new AveragePool2D(ph, pw, sh, sw, padding)).Build(new Shape(h, w, 3)).OutputShape);
        Assert.Equal(new Shape(2, oh, ow, 3), Run(new MaxPool2D(ph, pw, sh, sw, padding), new Tensor(new Shape(2, h, w, 3))).Shape);
    }

    [Fact]
    public void Strides_default_to_the_pool_size()
    {
        var pool = new MaxPool2D(3);
        Assert.Equal((3, 3, 3, 3, Padding.Valid), (pool.PoolHeight, pool.PoolWidth, pool.StrideHeight, pool.StrideWidth, pool.Padding));
        var avg = new AveragePool2D(2, strides: 1, Padding.Same);
        Assert.Equal((2, 2, 1, 1, Padding.Same), (avg.PoolHeight, avg.PoolWidth, avg.StrideHeight, avg.StrideWidth, avg.Padding));
    }

    [Fact]
    public void Max_pool_forward_and_backward_by_hand()
    {
        // One 4×4 channel, 2×2 windows.
        var x = new Tensor(new Shape(1, 4, 4, 1), [
            1, 5, 2, 0,
            3, 4, 8, 8,
            0, 0, 1, 2,
            -1, 7, 3, 9,
        ]);
        var pool = new LayerHarness(new MaxPool2D(2), new Shape(4, 4, 1));
        var y = pool.Forward(x);
        Assert.Equal(new float[] { 5, 8, 7, 9 }, y.ToArray());
        var dx = pool.Backward(new Tensor(new Shape(1, 2, 2, 1), [10, 20, 30, 40]));
        // The tie 8/8 goes to the first in row-major order.
        Assert.Equal(new float[] {
            0, 10, 0, 0,
            0, 0, 20, 0,
            0, 0, 0, 0,
            0, 30, 0, 40,
        }, dx.ToArray());
    }

    [Fact]
    public void Max_pool_same_padding_ignores_padded_positions()
    {
        // All-negative input: zero padding would win if it were counted.
        var x = new Tensor(new Shape(1, 3, 3, 1), [-9, -8, -7, -6, -5, -4, -3, -2, -1]);
        var y = Run(new MaxPool2D(2, padding: Padding.Same), x);
        Assert.Equal(new Shape(1, 2, 2, 1), y.Shape);
        Assert.Equal(new float[] { -5, -4, -2, -1 }, y.ToArray());
    }

    [Fact]
    public void Average_pool_same_padding_divides_by_the_valid_count()
    {
        var x = new Tensor(new Shape(1, 3, 3, 1), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var pool = new LayerHarness(new AveragePool2D(2, padding: Padding.Same), new Shape(3, 3, 1));
        var y = pool.Forward(x);
        // Windows: {1,2,4,5}, {3,6}, {7,8}, {9} (padding after: total 1, top/left 0).
        Assert.Equal(new float[] { 3, 4.5f, 7.5f, 9 }, y.ToArray());
        var dx = pool.Backward(new Tensor(new Shape(1, 2, 2, 1), [4, 2, 6, 1]));
        Assert.Equal(new float[] { 1, 1, 1, 1, 1, 1, 3, 3, 1 }, dx.ToArray());
    }

    [Fact]
    public void Same_padding_puts_the_extra_row_at_the_bottom()
    {
        // H = 4, pool 3, stride 2: out 2, total padding 1 -> 0 on top, 1 at the bottom: windows rows {0,1,2} and {2,3}.
        var x = new Tensor(new Shape(1, 4, 1, 1), [1, 2, 3, 40]);
        var y = Run(new AveragePool2D(3, 1, 2, 1, Padding.Same), x);
        Assert.Equal(new float[] { 2, 21.5f }, y.ToArray());
        // H = 5, pool 4, stride 1: out 5, total padding 3 -> 1 on top, 2 at the bottom.
        var x5 = new Tensor(new Shape(1, 5, 1, 1), [1, 2, 3, 4, 5]);
        var y5 = Run(new MaxPool2D(4, 1, 1, 1, Padding.Same), x5);
        Assert.Equal(new float[] { 3, 4, 5, 5, 5 }, y5.ToArray());
    }

    public static TheoryData<int, int, int, int, Padding, int[]> GradientCases => new()
    {
        { 2, 2, 2, 2, Padding.Valid, new[] { 2, 5, 7, 3 } },
        { 3, 3, 2, 2, Padding.Same, new[] { 1, 6, 5, 2 } },
        { 2, 3, 1, 2, Padding.Same, new[] { 2, 5, 6, 9 } },  // 9 channels: vector lanes and a scalar tail
        { 3, 3, 1, 1, Padding.Valid, new[] { 1, 4, 4, 1 } },
        { 2, 2, 3, 3, Padding.Valid, new[] { 1, 7, 8, 2 } },  // stride larger than the pool
        { 3, 2, 2, 1, Padding.Same, new[] { 3, 4, 3, 17 } },
        { 1, 1, 2, 2, Padding.Same, new[] { 1, 5, 5, 8 } },
    };

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void Max_pool_backward_matches_central_differences(int ph, int pw, int sh, int sw, Padding padding, int[] shape)
    {
        // Values at least 0.05 apart, so a ±0.01 nudge never changes which element is the maximum.
        var input = TestData.Distinct(shape.Length + shape[3], 0.05f, shape);
        GradientCheck.Check(new MaxPool2D(ph, pw, sh, sw, padding), input, seed: 3);
    }

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void Average_pool_backward_matches_central_differences(int ph, int pw, int sh, int sw, Padding padding, int[] shape)
    {
        GradientCheck.Check(new AveragePool2D(ph, pw, sh, sw, padding), TestData.Tensor(shape[3], shape), seed: 4);
    }

    [Fact]
    public void Shape_errors_name_the_layer_and_both_shapes()
    {
        var tooSmall = Assert.Throws<ShapeMismatchException>(() => new Sequential(new MaxPool2D(3)).Build(new Shape(2, 5, 1)));
        Assert.Equal("inputShape", tooSmall.ParamName);
        Assert.Contains("Layer 0 (max_pooling2d)", tooSmall.Message);
        Assert.Contains("(2, 5, 1)", tooSmall.Message);
        Assert.Contains("at least (3, 3, channels)", tooSmall.Message);

        var rank = Assert.Throws<ShapeMismatchException>(() => new Sequential(new AveragePool2D(2)).Build(new Shape(4, 4)));
        Assert.Contains("(height, width, channels)", rank.Message);
        Assert.Contains("(4, 4)", rank.Message);
    }

    [Fact]
    public void Invalid_configuration_is_rejected()
    {
        Assert.Equal("poolSize", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool2D(0)).ParamName);
        Assert.Equal("strides", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool2D(2, 0)).ParamName);
        Assert.Equal("strideWidth", Assert.Throws<ArgumentOutOfRangeException>(() => new AveragePool2D(2, 2, 1, 0)).ParamName);
        Assert.Equal("padding", Assert.Throws<ArgumentOutOfRangeException>(() => new AveragePool2D(2, 2, 1, 1, (Padding)7)).ParamName);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Results_do_not_depend_on_the_thread_count(bool max)
    {
        var input = TestData.Tensor(5, 9, 14, 13, 19);
        var dy = TestData.Tensor(6, 9, 7, 7, 19);
        (float[] Y, float[] DX) Run(int threads)
        {
            using var scope = new ThreadScope(threads);
            Layer pool = max ? new MaxPool2D(3, 2, Padding.Same) : new AveragePool2D(3, 2, Padding.Same);
            var layer = new LayerHarness(pool, new Shape(14, 13, 19));
            var y = layer.Forward(input, training: true).ToArray();
            return (y, layer.Backward(dy).ToArray());
        }
        var one = Run(1);
        foreach (int threads in new[] { 2, 3, 4 })
        {
            var many = Run(threads);
            Assert.Equal(one.Y, many.Y);
            Assert.Equal(one.DX, many.DX);
        }
    }
}
