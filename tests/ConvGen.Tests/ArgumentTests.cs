using System;
using System.Linq;
using ConvGen.Tests.Tutorial;
using Xunit;

namespace ConvGen.Tests;

/// <summary>Bad arguments fail with an ArgumentException that names the parameter, the expected and the actual value.</summary>
public class ArgumentTests
{
    [Fact]
    public void Wrong_input_length_names_input_expected_and_actual()
    {
        var e = Assert.Throws<ArgumentException>(() => Corr3x3.Forward(new float[48], 1, 7, 7, new float[9], new float[1], new float[25]));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("48", e.Message);
        Assert.Contains("[1, 7, 7, 1] = 49", e.Message);
    }

    [Theory]
    [InlineData("weights")]
    [InlineData("bias")]
    [InlineData("output")]
    public void Wrong_lengths_of_other_spans_name_the_parameter(string which)
    {
        float[] x = new float[49], w = new float[which == "weights" ? 8 : 9], b = new float[which == "bias" ? 2 : 1], y = new float[which == "output" ? 24 : 25];
        var e = Assert.Throws<ArgumentException>(() => Corr3x3.Forward(x, 1, 7, 7, w, b, y));
        Assert.Equal(which, e.ParamName);
    }

    [Theory]
    [InlineData(-1, 2, "rowStart")]
    [InlineData(6, 6, "rowStart")]
    [InlineData(3, 2, "rowEnd")]
    [InlineData(0, 6, "rowEnd")]
    public void Rows_outside_the_output_name_the_bound(int rowStart, int rowEnd, string which)
    {
        // A 3x3 Valid kernel on 7x7: 5 output rows.
        var e = Assert.Throws<ArgumentException>(() => Corr3x3.ForwardRows(new float[49], 1, 7, 7, new float[9], new float[1], new float[25], rowStart, rowEnd));
        Assert.Equal(which, e.ParamName);
        Assert.Contains("5 rows", e.Message);
    }

    [Fact]
    public void Bias_without_UseBias_is_empty_or_one_per_filter()
    {
        // EdgeKernel: 1x2, one filter, no bias of its own. A bias of one value is added (a folded BatchNormalization's); two are refused.
        var e = Assert.Throws<ArgumentException>(() => EdgeKernel.Forward(new float[48], 1, 6, 8, new float[2], new float[2], new float[42]));
        Assert.Equal("bias", e.ParamName);
        Assert.Contains("[Filters] or empty", e.Message);
        Assert.Contains("has 2 elements", e.Message);
        var x = Enumerable.Range(0, 48).Select(i => (float)i).ToArray();
        float[] plain = new float[42], shifted = new float[42];
        EdgeKernel.Forward(x, 1, 6, 8, [1f, -1f], [], plain);
        EdgeKernel.Forward(x, 1, 6, 8, [1f, -1f], [0.5f], shifted);
        Assert.Equal(plain.Select(v => v + 0.5f), shifted);
    }

    [Fact]
    public void ForwardRowsActivated_applies_ReLU_or_ReLU6_as_it_stores_and_refuses_other_activations()
    {
        // EdgeKernel: 1x2 Valid on 6x8, one filter: outputs from -10.5 to 10.5, so both clamps bite.
        var x = Enumerable.Range(0, 48).Select(i => (float)(i % 7) - 3f).ToArray();
        float[] w = [2f, -1.5f], plain = new float[42], relu = new float[42], relu6 = new float[42], other = new float[42];
        other.AsSpan().Fill(float.NaN);
        EdgeKernel.ForwardRows(x, 1, 6, 8, w, [], plain, 0, 6);
        Assert.True(EdgeKernel.ForwardRowsActivated(x, 1, 6, 8, w, [], relu, 0, 6, Activation.ReLU));
        Assert.True(EdgeKernel.ForwardRowsActivated(x, 1, 6, 8, w, [], relu6, 0, 6, Activation.ReLU6));
        Assert.False(EdgeKernel.ForwardRowsActivated(x, 1, 6, 8, w, [], other, 0, 6, Activation.Tanh));
        Assert.Contains(plain, v => v < 0f);
        Assert.Contains(plain, v => v > 6f);
        Assert.Equal(plain.Select(v => MathF.Max(v, 0f)), relu);
        Assert.Equal(plain.Select(v => MathF.Min(MathF.Max(v, 0f), 6f)), relu6);
        Assert.All(other, v => Assert.True(float.IsNaN(v), "a refused activation wrote the output"));
        var e = Assert.Throws<ArgumentException>(() => EdgeKernel.ForwardRowsActivated(x, 1, 6, 8, w, [], new float[41], 0, 6, Activation.ReLU));
        Assert.Equal("output", e.ParamName);
    }

    [Theory]
    [InlineData(0, 7, 7, "batch")]
    [InlineData(1, 0, 7, "inputHeight")]
    [InlineData(1, 7, -3, "inputWidth")]
    public void Non_positive_sizes_are_rejected(int batch, int height, int width, string param)
    {
        var e = Assert.Throws<ArgumentException>(() => Corr3x3.Forward(new float[49], batch, height, width, new float[9], new float[1], new float[25]));
        Assert.Equal(param, e.ParamName);
    }

    [Fact]
    public void Valid_input_smaller_than_the_kernel_is_rejected_with_the_minimum()
    {
        var e = Assert.Throws<ArgumentException>(() => Corr3x3.Forward(new float[14], 1, 2, 7, new float[9], new float[1], new float[5]));
        Assert.Equal("inputHeight", e.ParamName);
        Assert.Contains("at least 3", e.Message);
    }

    [Fact]
    public void Backward_checks_every_gradient_span()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            Corr3x3.Backward(new float[49], 1, 7, 7, new float[9], new float[25], new float[48], new float[9], new float[1]));
        Assert.Equal("inputGradient", e.ParamName);
        e = Assert.Throws<ArgumentException>(() =>
            Corr3x3.Backward(new float[49], 1, 7, 7, new float[9], new float[25], new float[49], new float[10], new float[1]));
        Assert.Equal("weightsGradient", e.ParamName);
        e = Assert.Throws<ArgumentException>(() =>
            Corr3x3.Backward(new float[49], 1, 7, 7, new float[9], new float[24], new float[49], new float[9], new float[1]));
        Assert.Equal("outputGradient", e.ParamName);
    }

    [Fact]
    public void The_layer_rejects_a_wrong_channel_count_with_both_shapes()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => new Sequential(new Odd33To17()).Build(new Shape(9, 9, 3)));
        Assert.Contains("Layer 0 (conv2d)", e.Message);
        Assert.Contains("(height, width, 33)", e.Message);
        Assert.Contains("(9, 9, 3)", e.Message);
    }
}
