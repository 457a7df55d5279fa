using System;
using System.Collections.Generic;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

internal static class TestData
{
    public static float[] Uniform(int count, int seed, float low = -1f, float high = 1f)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = low + (high - low) * random.NextSingle();
        return values;
    }

    public static Tensor Tensor(int seed, params int[] shape)
    {
        var s = new Shape(shape);
        return new Tensor(s, Uniform(s.Size, seed));
    }

    /// <summary>Distinct values <c>k·gap</c> in random order, centred on zero: no two within <paramref name="gap"/> of each other.</summary>
    public static Tensor Distinct(int seed, float gap, params int[] shape)
    {
        var s = new Shape(shape);
        var values = new float[s.Size];
        for (int i = 0; i < values.Length; i++) values[i] = (i - values.Length / 2) * gap;
        new Random(seed).Shuffle(values);
        return new Tensor(s, values);
    }
}

/// <summary>
/// Central-difference gradient checks of one layer (run through <see cref="LayerHarness"/>). The scalar objective is
/// <c>L = Σ r·layer(x)</c> for a fixed random <c>r</c>, summed in double; its numeric derivative
/// <c>(L(v + ε) − L(v − ε)) / (2ε)</c> is compared with the input gradient and the parameter gradients the backward pass computes.
/// </summary>
internal static class GradientCheck
{
    public const float Epsilon = 1e-2f;
    public const double RelativeTolerance = 1e-2;
    public const double AbsoluteTolerance = 1e-3;

    public static void AssertClose(double expected, double actual, string what, double rel = RelativeTolerance, double abs = AbsoluteTolerance)
    {
        double error = Math.Abs(expected - actual);
        double allowed = rel * Math.Max(Math.Abs(expected), Math.Abs(actual)) + abs;
        Assert.True(error <= allowed, $"{what}: expected {expected:R}, got {actual:R} (error {error:G3} > {allowed:G3}).");
    }

    public static double Objective(LayerHarness layer, Tensor input, float[] weights)
    {
        var y = layer.Forward(input).Span;
        double sum = 0;
        for (int i = 0; i < y.Length; i++) sum += (double)weights[i] * y[i];
        return sum;
    }

    /// <summary>Checks the input gradient and every parameter gradient of <paramref name="layer"/> at <paramref name="input"/>.</summary>
    /// <returns>The number of derivatives compared.</returns>
    public static int Check(Layer layer, Tensor input, int seed, int maxPerTensor = 400, Action<Layer>? setUp = null, Layer? then = null)
    {
        var harness = new LayerHarness(layer, input.Shape.WithoutBatch(), seed, then);
        setUp?.Invoke(layer);
        var output = harness.Forward(input, training: true);
        var weights = TestData.Uniform(output.Length, seed);
        harness.Model.ZeroGradients();
        var dx = harness.Backward(new Tensor(output.Shape, (float[])weights.Clone()));
        Assert.Equal(input.Shape, dx.Shape);
        float[] analyticInput = dx.ToArray();
        var analyticParams = new List<float[]>();
        foreach (var p in layer.Parameters) analyticParams.Add(p.Gradient.ToArray());

        int compared = CompareAll(harness, input, weights, input.Span.Length, analyticInput, "input", seed, maxPerTensor,
            i => input.Span[i], (i, v) => input.Span[i] = v);
        for (int k = 0; k < layer.Parameters.Count; k++)
        {
            var p = layer.Parameters[k];
            compared += CompareAll(harness, input, weights, p.Value.Length, analyticParams[k], p.Name, seed + k + 1, maxPerTensor,
                i => p.Value.Span[i], (i, v) => p.Value.Span[i] = v);
        }
        return compared;
    }

    private static int CompareAll(LayerHarness layer, Tensor input, float[] weights, int length, float[] analytic, string what, int seed,
        int maxCount, Func<int, float> get, Action<int, float> set)
    {
        var indices = new List<int>();
        for (int i = 0; i < length; i++) indices.Add(i);
        if (length > maxCount)
        {
            var shuffled = indices.ToArray();
            new Random(seed).Shuffle(shuffled);
            indices = new List<int>(shuffled[..maxCount]);
        }
        foreach (int i in indices)
        {
            float original = get(i);
            float plus = original + Epsilon, minus = original - Epsilon;
            set(i, plus);
            double lPlus = Objective(layer, input, weights);
            set(i, minus);
            double lMinus = Objective(layer, input, weights);
            set(i, original);
            double numeric = (lPlus - lMinus) / ((double)plus - minus);
            AssertClose(numeric, analytic[i], $"d/d{what}[{i}]");
        }
        return indices.Count;
    }
}
