using System;
using System.Linq;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

/// <summary>The global poolings against plain loops in double precision and by central differences, at 1 and 2 threads.</summary>
[Collection(ProcessWideSettings.Name)]
public sealed class GlobalPoolingTests
{
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    public void Global_pooling_matches_the_reference_over_random_shapes(int threads, bool max)
    {
        using var scope = new ThreadScope(threads);
        var random = new Random(threads + (max ? 10 : 0));
        for (int trial = 0; trial < 10; trial++)
        {
            int batch = random.Next(1, 6), h = random.Next(1, 7), w = random.Next(1, 7), ch = random.Next(1, 20);
            Layer layer = max ? new GlobalMaxPooling2D() : new GlobalAveragePooling2D();
            var harness = new LayerHarness(layer, new Shape(h, w, ch), seed: trial);
            var x = TestData.Tensor(trial, batch, h, w, ch);
            var dy = TestData.Tensor(trial + 100, batch, ch);
            var y = harness.Forward(x).ToArray();
            var dx = harness.Backward(dy).ToArray();
            var expectedY = new double[batch * ch];
            var expectedDx = new double[x.Length];
            for (int n = 0; n < batch; n++)
            {
                for (int k = 0; k < ch; k++)
                {
                    var values = Enumerable.Range(0, h * w).Select(i => (double)x.Span[(n * h * w + i) * ch + k]).ToArray();
                    expectedY[n * ch + k] = max ? values.Max() : values.Average();
                    if (max) expectedDx[(n * h * w + Array.IndexOf(values, values.Max())) * ch + k] = dy.Span[n * ch + k];
                    else for (int i = 0; i < h * w; i++) expectedDx[(n * h * w + i) * ch + k] = dy.Span[n * ch + k] / (double)(h * w);
                }
            }
            for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(expectedY[i] - y[i]) <= 1e-5, $"y[{i}]: {y[i]}, expected {expectedY[i]}");
            for (int i = 0; i < dx.Length; i++) Assert.True(Math.Abs(expectedDx[i] - dx[i]) <= 1e-5, $"dx[{i}]: {dx[i]}, expected {expectedDx[i]}");
        }
    }

    [Fact]
    public void Global_pooling_passes_central_differences_and_refuses_flat_inputs()
    {
        Assert.True(GradientCheck.Check(new GlobalAveragePooling2D(), TestData.Tensor(1, 2, 3, 4, 5), seed: 1) > 50);
        Assert.True(GradientCheck.Check(new GlobalMaxPooling2D(), TestData.Distinct(2, 0.05f, 2, 3, 4, 5), seed: 2) > 50);
        var e = Assert.Throws<ShapeMismatchException>(() => new Sequential(new Dense(4), new GlobalAveragePooling2D()).Build(new Shape(3), seed: 0));
        Assert.Contains("(height, width, channels)", e.Message);
        Assert.Equal("global_average_pooling2d", BaseNameOf(new GlobalAveragePooling2D()));
        Assert.Equal("global_max_pooling2d", BaseNameOf(new GlobalMaxPooling2D()));
    }

    private static string BaseNameOf(Layer layer) =>
        new Sequential(layer).Build(new Shape(2, 2, 1), seed: 0).LayerNames[0];
}
