using System;
using System.Linq;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

/// <summary>
/// The 1-D pools (<c>(steps, channels)</c> samples) against Keras' definitions written as plain loops in double precision
/// (TF 'same': <c>ceil(steps / stride)</c> outputs, the extra padding step at the end, averages over the real steps only),
/// over random configurations at 1 and 2 threads; by central differences; and their shape errors.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class Pooling1DTests
{
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    public void Pools_match_the_Keras_definition_over_random_configurations(int threads, bool max)
    {
        using var scope = new ThreadScope(threads);
        var random = new Random(threads * 10 + (max ? 1 : 0));
        for (int trial = 0; trial < 60; trial++)
        {
            int pool = random.Next(1, 6), stride = random.Next(1, 4), channels = random.Next(3) == 0 ? 17 : random.Next(1, 10);
            var padding = random.Next(2) == 0 ? Padding.Valid : Padding.Same;
            int steps = (padding == Padding.Same ? 1 : pool) + random.Next(0, 12), batch = trial % 4 == 0 ? 1 : random.Next(2, 6);
            string where = $"{(max ? "max" : "average")} pool {pool}, stride {stride}, {padding}, {steps} steps x {channels}, batch {batch}, {threads} threads";
            Layer layer = max ? new MaxPool1D(pool, stride, padding) : new AveragePool1D(pool, stride, padding);
            var harness = new LayerHarness(layer, new Shape(steps, channels));
            // Distinct values, so that the maximum of a window is one step.
            var x = TestData.Distinct(trial, 0.01f, batch, steps, channels);
            var y = harness.Forward(x, training: true);
            var (expectedY, windows) = Reference(x.ToArray(), batch, steps, channels, pool, stride, padding == Padding.Same, max);
            int outSteps = expectedY.Length / (batch * channels);
            Assert.Equal(new Shape(batch, outSteps, channels), y.Shape);
            AssertClose(expectedY, y.ToArray(), "forward of " + where);

            var dy = TestData.Tensor(trial + 100, batch, outSteps, channels);
            var expectedDx = new double[x.Length];
            for (int o = 0; o < windows.Length; o++)
            foreach (int at in windows[o])
                expectedDx[at] += dy.Span[o] / (double)windows[o].Length;
            AssertClose(expectedDx, harness.Backward(dy).ToArray(), "input gradient of " + where);
        }
    }

    /// <summary>
    /// Each output, and the inputs its gradient goes to (max: the step holding the maximum; average: every real step of the
    /// window, each a share).
    /// </summary>
    private static (double[] Y, int[][] Windows) Reference(float[] x, int batch, int steps, int channels, int pool, int stride, bool same, bool max)
    {
        int outSteps = same ? (steps + stride - 1) / stride : (steps - pool) / stride + 1;
        int left = same ? Math.Max((outSteps - 1) * stride + pool - steps, 0) / 2 : 0;
        var y = new double[batch * outSteps * channels];
        var windows = new int[y.Length][];
        for (int n = 0; n < batch; n++)
        for (int t = 0; t < outSteps; t++)
        for (int c = 0; c < channels; c++)
        {
            var real = Enumerable.Range(t * stride - left, pool).Where(s => s >= 0 && s < steps).Select(s => (n * steps + s) * channels + c).ToArray();
            int o = (n * outSteps + t) * channels + c;
            int argMax = real.MaxBy(i => x[i]);
            y[o] = max ? x[argMax] : real.Average(i => (double)x[i]);
            windows[o] = max ? [argMax] : real;
        }
        return (y, windows);
    }

    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * (1 + Math.Abs(expected[i])), $"{what}: [{i}] is {actual[i]}, reference {expected[i]}");
    }

    [Fact]
    public void Same_padding_ignores_the_padded_steps_and_pads_at_the_end()
    {
        // 5 steps, pool 2, stride 2: 3 outputs, one padding step at the end: windows {0,1}, {2,3}, {4}.
        var x = new Tensor(new Shape(1, 5, 1), [-9, -8, -7, -6, -5]);
        Assert.Equal(new float[] { -8, -6, -5 }, new LayerHarness(new MaxPool1D(padding: Padding.Same), new Shape(5, 1)).Forward(x).ToArray());
        var average = new LayerHarness(new AveragePool1D(padding: Padding.Same), new Shape(5, 1));
        Assert.Equal(new float[] { -8.5f, -6.5f, -5 }, average.Forward(x).ToArray());
        Assert.Equal(new float[] { 1, 1, 2, 2, 6 }, average.Backward(new Tensor(new Shape(1, 3, 1), [2, 4, 6])).ToArray());
        // 4 steps, pool 3, stride 1: 4 outputs, padding 1 before and 1 after: windows {0,1}, {0,1,2}, {1,2,3}, {2,3}.
        var y = new LayerHarness(new AveragePool1D(3, 1, Padding.Same), new Shape(4, 1)).Forward(new Tensor(new Shape(1, 4, 1), [1, 2, 3, 40]));
        Assert.Equal(new float[] { 1.5f, 2, 15, 21.5f }, y.ToArray());
    }

    [Fact]
    public void Defaults_are_Keras_and_bad_arguments_are_refused()
    {
        var pool = new MaxPool1D();
        Assert.Equal((2, 2, Padding.Valid), (pool.PoolSize, pool.Strides, pool.Padding));
        var average = new AveragePool1D(3, padding: Padding.Same);
        Assert.Equal((3, 3, Padding.Same), (average.PoolSize, average.Strides, average.Padding));
        Assert.Equal("poolSize", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool1D(0)).ParamName);
        Assert.Equal("strides", Assert.Throws<ArgumentOutOfRangeException>(() => new AveragePool1D(2, 0)).ParamName);
        Assert.Equal("padding", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool1D(2, 1, (Padding)7)).ParamName);
        var model = new Sequential(new MaxPool1D(), new AveragePool1D(), new GlobalMaxPooling1D { Name = "gmp" },
            new GlobalAveragePooling1D { Input = "average_pooling1d" }, new Concatenate("gmp")).Build(new Shape(8, 3));
        Assert.Equal(["max_pooling1d", "average_pooling1d", "gmp", "global_average_pooling1d", "concatenate"], model.LayerNames);
        Assert.Equal([new Shape(4, 3), new Shape(2, 3), new Shape(3), new Shape(3), new Shape(6)], model.OutputShapes);
    }

    public static TheoryData<int, int, Padding, int[]> GradientCases => new()
    {
        { 2, 2, Padding.Valid, new[] { 2, 7, 3 } },
        { 3, 2, Padding.Same, new[] { 1, 6, 2 } },
        { 3, 1, Padding.Same, new[] { 2, 5, 9 } },   // 9 channels: vector lanes and a scalar tail
        { 2, 3, Padding.Valid, new[] { 1, 8, 2 } },  // stride larger than the pool
        { 4, 3, Padding.Same, new[] { 3, 7, 17 } },
    };

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void Pools_pass_central_differences(int pool, int stride, Padding padding, int[] shape)
    {
        // Values at least 0.05 apart, so a ±0.01 nudge never changes which step is the maximum.
        GradientCheck.Check(new MaxPool1D(pool, stride, padding), TestData.Distinct(shape[2], 0.05f, shape), seed: 3);
        GradientCheck.Check(new AveragePool1D(pool, stride, padding), TestData.Tensor(shape[2], shape), seed: 4);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Global_pools_match_the_reference_and_central_differences(int threads)
    {
        using var scope = new ThreadScope(threads);
        var random = new Random(threads);
        for (int trial = 0; trial < 10; trial++)
        {
            int batch = random.Next(1, 6), steps = random.Next(1, 12), channels = random.Next(1, 20);
            var x = TestData.Distinct(trial, 0.01f, batch, steps, channels);
            var dy = TestData.Tensor(trial + 100, batch, channels);
            foreach (bool max in new[] { false, true })
            {
                Layer layer = max ? new GlobalMaxPooling1D() : new GlobalAveragePooling1D();
                var harness = new LayerHarness(layer, new Shape(steps, channels));
                var y = harness.Forward(x).ToArray();
                var dx = harness.Backward(dy).ToArray();
                var expectedY = new double[batch * channels];
                var expectedDx = new double[x.Length];
                for (int n = 0; n < batch; n++)
                for (int c = 0; c < channels; c++)
                {
                    var at = Enumerable.Range(0, steps).Select(s => (n * steps + s) * channels + c).ToArray();
                    int argMax = at.MaxBy(i => x.Span[i]);
                    expectedY[n * channels + c] = max ? x.Span[argMax] : at.Average(i => (double)x.Span[i]);
                    if (max) expectedDx[argMax] = dy.Span[n * channels + c];
                    else foreach (int i in at) expectedDx[i] = dy.Span[n * channels + c] / (double)steps;
                }
                AssertClose(expectedY, y, $"{layer.Name} of {steps} steps x {channels}");
                AssertClose(expectedDx, dx, $"{layer.Name} gradient of {steps} steps x {channels}");
            }
        }
        Assert.True(GradientCheck.Check(new GlobalAveragePooling1D(), TestData.Tensor(1, 2, 7, 5), seed: 1) > 50);
        Assert.True(GradientCheck.Check(new GlobalMaxPooling1D(), TestData.Distinct(2, 0.05f, 2, 7, 5), seed: 2) > 50);
    }

    [Fact]
    public void A_max_pool_after_a_ReLU_applies_its_mask()
    {
        Assert.Equal("max_pooling1d", new Sequential(new ReLU(), new MaxPool1D(3, 2, Padding.Same)).Build(new Shape(9, 4)).Nodes[0].ReluAppliedBy);
        // Values 0.05 apart and 0.025 away from the ReLU's kink at 0.
        var x = TestData.Distinct(6, 0.05f, 2, 9, 4);
        for (int i = 0; i < x.Length; i++) x.Span[i] += 0.025f;
        Assert.True(GradientCheck.Check(new ReLU(), x, seed: 5, then: new MaxPool1D(3, 2, Padding.Same)) > 50);
        Assert.True(GradientCheck.Check(new ReLU(), x, seed: 6, then: new GlobalMaxPooling1D()) > 50);
    }

    [Fact]
    public void Shape_errors_name_the_layer_and_both_shapes()
    {
        foreach (var layer in new Func<Layer>[] { () => new MaxPool1D(), () => new AveragePool1D(), () => new GlobalAveragePooling1D(), () => new GlobalMaxPooling1D() })
        {
            var made = layer();
            var e = Assert.Throws<ShapeMismatchException>(() => new Sequential(made).Build(new Shape(4, 4, 2)));
            Assert.Equal("inputShape", e.ParamName);
            Assert.Equal("(steps, channels)", e.Expected);
            Assert.Contains($"Layer 0 ({made.Name})", e.Message);
            Assert.Contains("(4, 4, 2)", e.Message);
        }
        var tooShort = Assert.Throws<ShapeMismatchException>(() => new Sequential(new MaxPool1D(5)).Build(new Shape(4, 2)));
        Assert.Contains("Layer 0 (max_pooling1d)", tooShort.Message);
        Assert.Contains("at least (5, channels)", tooShort.Message);
        Assert.Equal(new Shape(1, 2), new Sequential(new MaxPool1D(5, padding: Padding.Same)).Build(new Shape(4, 2)).OutputShape);
    }
}
