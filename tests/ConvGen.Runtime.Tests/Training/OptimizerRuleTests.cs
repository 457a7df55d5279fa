using System;
using System.Linq;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Training;

/// <summary>
/// RMSprop, AMSGrad, AdamW, clipping and learning-rate schedules against Keras' formulas written out here in double precision,
/// over several steps of random gradients and lengths that take both the vector loop and its tail.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public sealed class OptimizerRuleTests
{
    private const int Steps = 6;

    /// <summary>Random weights, and a gradient per step, of <paramref name="length"/> values.</summary>
    private static (float[] W, float[][] G) Problem(int length, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        float R() => (float)(random.NextDouble() * 2 - 1) * scale;
        return (Enumerable.Range(0, length).Select(_ => R()).ToArray(),
                Enumerable.Range(0, Steps).Select(_ => Enumerable.Range(0, length).Select(_ => R()).ToArray()).ToArray());
    }

    /// <summary>Runs <paramref name="optimizer"/> over the steps' gradients and returns the weights.</summary>
    private static float[] Run(IOptimizer optimizer, float[] w, float[][] gradients)
    {
        var p = new Parameter("w", new Shape(w.Length));
        w.CopyTo(p.Value.Span);
        foreach (var g in gradients)
        {
            g.CopyTo(p.Gradient.Span);
            optimizer.Step([p]);
        }
        return p.Value.ToArray();
    }

    private static void AssertClose(double[] expected, float[] actual, double tolerance = 2e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData(false, 0f, 37)]
    [InlineData(true, 0f, 37)]
    [InlineData(false, 0.9f, 37)]
    [InlineData(true, 0.5f, 64)]
    public void Rmsprop_follows_keras(bool centered, float momentum, int length)
    {
        var (w, gs) = Problem(length, seed: length + (centered ? 1 : 0));
        const double lr = 0.01, rho = 0.9, eps = 1e-7;
        var expected = w.Select(x => (double)x).ToArray();
        var v = new double[length]; var a = new double[length]; var u = new double[length];
        foreach (var g in gs)
        {
            for (int i = 0; i < length; i++)
            {
                v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];
                double denominator = v[i] + eps;
                if (centered) { a[i] = rho * a[i] + (1 - rho) * g[i]; denominator -= a[i] * a[i]; }
                double increment = lr * g[i] / Math.Sqrt(denominator);
                if (momentum > 0) { u[i] = momentum * u[i] + increment; increment = u[i]; }
                expected[i] -= increment;
            }
        }
        AssertClose(expected, Run(new RMSprop(0.01f, momentum: momentum, centered: centered), w, gs));
    }

    /// <summary>Adam as Keras writes it, with AMSGrad and decoupled weight decay as options.</summary>
    private static double[] KerasAdam(float[] w, float[][] gs, double lr, bool amsgrad, double weightDecay)
    {
        const double b1 = 0.9, b2 = 0.999, eps = 1e-7;
        var x = w.Select(v => (double)v).ToArray();
        var m = new double[w.Length]; var v2 = new double[w.Length]; var vHat = new double[w.Length];
        for (int t = 1; t <= gs.Length; t++)
        {
            var g = gs[t - 1];
            double alpha = lr * Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t));
            for (int i = 0; i < w.Length; i++)
            {
                x[i] -= x[i] * weightDecay * lr;
                m[i] += (g[i] - m[i]) * (1 - b1);
                v2[i] += (g[i] * g[i] - v2[i]) * (1 - b2);
                double denominator = v2[i];
                if (amsgrad) denominator = vHat[i] = Math.Max(vHat[i], v2[i]);
                x[i] -= alpha * m[i] / (Math.Sqrt(denominator) + eps);
            }
        }
        return x;
    }

    [Theory]
    [InlineData(37)]
    [InlineData(64)]
    public void Amsgrad_and_AdamW_follow_keras(int length)
    {
        // Gradients that shrink, so AMSGrad's maximum differs from the current second moment.
        var (w, gs) = Problem(length, seed: 3);
        for (int s = 0; s < gs.Length; s++) for (int i = 0; i < length; i++) gs[s][i] *= MathF.Pow(0.3f, s);
        AssertClose(KerasAdam(w, gs, 0.01, amsgrad: true, weightDecay: 0), Run(new Adam(0.01f, amsgrad: true), w, gs));
        AssertClose(KerasAdam(w, gs, 0.01, amsgrad: false, weightDecay: 0.004), Run(new AdamW(0.01f), w, gs));
        AssertClose(KerasAdam(w, gs, 0.01, amsgrad: true, weightDecay: 0.1), Run(new AdamW(0.01f, weightDecay: 0.1f, amsgrad: true), w, gs));
        Assert.NotEqual(Run(new Adam(0.01f), w, gs), Run(new Adam(0.01f, amsgrad: true), w, gs));
    }

    [Fact]
    public void Amsgrad_gives_the_same_bits_on_one_thread_and_split_over_two()
    {
        var (w, gs) = Problem(300_001, seed: 5); // above the size Adam splits over the worker threads
        float[] one, two;
        using (new ThreadScope(1)) one = Run(new Adam(0.01f, amsgrad: true), w, gs);
        using (new ThreadScope(2)) two = Run(new Adam(0.01f, amsgrad: true), w, gs);
        Assert.Equal(one, two);
        AssertClose(KerasAdam(w, gs, 0.01, amsgrad: true, weightDecay: 0), one);
    }

    [Fact]
    public void Clip_value_clamps_every_gradient_element()
    {
        var (w, gs) = Problem(37, seed: 7, scale: 3f);
        var expected = w.Select(x => (double)x).ToArray();
        foreach (var g in gs) for (int i = 0; i < 37; i++) expected[i] -= 0.1 * Math.Clamp(g[i], -0.5, 0.5);
        AssertClose(expected, Run(new SGD(0.1f) { ClipValue = 0.5f }, w, gs));
    }

    [Fact]
    public void Global_clip_norm_scales_all_gradients_together_only_when_above_it()
    {
        var a = new Parameter("a", new Shape(3));
        var b = new Parameter("b", new Shape(2));
        new float[] { 3, 0, 4 }.CopyTo(a.Gradient.Span); // with b: norm √(9 + 16 + 144) = 13
        new float[] { 0, 12 }.CopyTo(b.Gradient.Span);
        var sgd = new SGD(1f) { GlobalClipNorm = 6.5f }; // half the norm: every gradient halved
        sgd.Step([a, b]);
        Assert.Equal(new float[] { -1.5f, 0, -2 }, a.Value.ToArray());
        Assert.Equal(new float[] { 0, -6 }, b.Value.ToArray());
        var c = new Parameter("c", new Shape(2));
        new float[] { 0.3f, 0.4f }.CopyTo(c.Gradient.Span); // norm 0.5, below the limit: unchanged
        new SGD(1f) { GlobalClipNorm = 1f }.Step([c]);
        Assert.Equal(new float[] { -0.3f, -0.4f }, c.Value.ToArray());
        Assert.Throws<InvalidOperationException>(() => new SGD { ClipValue = 1f, GlobalClipNorm = 1f });
        Assert.Equal("ClipValue", Assert.Throws<ArgumentOutOfRangeException>(() => new SGD { ClipValue = 0f }).ParamName);
        Assert.Equal("GlobalClipNorm", Assert.Throws<ArgumentOutOfRangeException>(() => new SGD { GlobalClipNorm = float.NaN }).ParamName);
        Assert.Equal("WeightDecay", Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(weightDecay: -1f)).ParamName);
    }

    [Fact]
    public void ClipNorm_clips_each_variable_on_its_own()
    {
        var a = new Parameter("a", new Shape(3));
        var b = new Parameter("b", new Shape(2));
        new float[] { 3, 0, 4 }.CopyTo(a.Gradient.Span); // norm 5: below 6, unchanged
        new float[] { 0, 12 }.CopyTo(b.Gradient.Span); // norm 12: scaled by 6/12
        new SGD(1f) { ClipNorm = 6f }.Step([a, b]);
        Assert.Equal(new float[] { -3, 0, -4 }, a.Value.ToArray());
        Assert.Equal(new float[] { 0, -6 }, b.Value.ToArray());
        Assert.Throws<InvalidOperationException>(() => new SGD { ClipNorm = 1f, GlobalClipNorm = 1f });
        Assert.Throws<InvalidOperationException>(() => new SGD { ClipValue = 1f, ClipNorm = 1f });
        Assert.Equal("ClipNorm", Assert.Throws<ArgumentOutOfRangeException>(() => new SGD { ClipNorm = -1f }).ParamName);
        Assert.Contains("clipNorm: 6", new SGD(0.1f) { ClipNorm = 6f }.ToString());
    }

    /// <summary>Records the gradient it is given (after its clipping) and changes nothing.</summary>
    private sealed class Recorder : Optimizer
    {
        public Recorder() : base(1f) { }

        public float[] Seen { get; private set; } = [];

        protected override void Update(Parameter parameter, float learningRate, long step) => Seen = parameter.Gradient.ToArray();

        public override System.Collections.Generic.IReadOnlyList<(string Name, float[] Values)> State(Parameter parameter) => [];

        protected override void ClearState() { }
    }

    [Fact]
    public void ClipNorm_in_a_model_clips_each_kernel_and_bias_as_Keras_does()
    {
        // The model hands its optimizer every weight as one parameter; ClipNorm still clips variable by variable.
        var images = new Tensor(new Shape(5, 4));
        var random = new Random(3);
        for (int i = 0; i < images.Length; i++) images.Span[i] = (float)(random.NextDouble() * 4 - 2);
        int[] labels = [0, 1, 2, 0, 1];
        Sequential Model() => new Sequential(new Dense(6, Activation.ReLU), new Dense(3)).Build(new Shape(4), seed: 7);
        var raw = new Recorder();
        var plain = Model();
        plain.Compile(raw, new SparseCategoricalCrossentropy(fromLogits: true));
        plain.TrainStep(images, labels);
        var clipped = new Recorder { ClipNorm = 0.05f };
        var model = Model();
        model.Compile(clipped, new SparseCategoricalCrossentropy(fromLogits: true));
        model.TrainStep(images, labels);

        int at = 0, scaled = 0;
        foreach (var parameter in model.Parameters)
        {
            int n = parameter.Value.Length;
            double norm = Math.Sqrt(raw.Seen.Skip(at).Take(n).Sum(g => (double)g * g));
            double scale = norm > 0.05 ? 0.05 / norm : 1;
            if (scale < 1) scaled++;
            for (int i = at; i < at + n; i++)
                Assert.True(Math.Abs(clipped.Seen[i] - raw.Seen[i] * scale) <= 1e-6 * (1 + Math.Abs(raw.Seen[i])), $"{parameter.Name}[{i - at}]: {clipped.Seen[i]}, expected {raw.Seen[i] * scale}");
            at += n;
        }
        Assert.Equal(raw.Seen.Length, at);
        Assert.Equal(4, model.Parameters.Count);
        Assert.True(scaled >= 2, $"only {scaled} of the 4 variables exceeded the norm: the test would not tell per-variable from global clipping");
    }

    [Fact]
    public void Schedules_follow_keras()
    {
        var exponential = new ExponentialDecay(0.1f, decaySteps: 10, decayRate: 0.5f);
        Assert.Equal(0.1f, exponential.At(0));
        Assert.Equal(0.1 * Math.Pow(0.5, 0.5), exponential.At(5), 6);
        Assert.Equal(0.025f, exponential.At(20), 6);
        var staircase = new ExponentialDecay(0.1f, 10, 0.5f, staircase: true);
        Assert.Equal(0.1f, staircase.At(9));
        Assert.Equal(0.05f, staircase.At(10));

        var piecewise = new PiecewiseConstantDecay([100, 200], [1f, 0.5f, 0.1f]);
        Assert.Equal([1f, 1f, 0.5f, 0.5f, 0.1f], new long[] { 0, 100, 101, 200, 201 }.Select(piecewise.At));

        var cosine = new CosineDecay(0.2f, decaySteps: 100, alpha: 0.1f);
        Assert.Equal(0.2f, cosine.At(0), 6);
        Assert.Equal(0.2 * (0.9 * 0.5 * (1 + Math.Cos(Math.PI * 0.25)) + 0.1), cosine.At(25), 6);
        Assert.Equal(0.02f, cosine.At(100), 6);
        Assert.Equal(0.02f, cosine.At(1000), 6);

        var warm = new CosineDecay(0f, decaySteps: 100, warmupTarget: 0.4f, warmupSteps: 10);
        Assert.Equal(0f, warm.At(0));
        Assert.Equal(0.2f, warm.At(5), 6);
        Assert.Equal(0.4f, warm.At(10), 6);
        Assert.Equal(0.2f, warm.At(60), 6);
        Assert.Equal(0f, warm.At(110), 6);

        Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([5, 5], [1f, 1f, 1f]));
        Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([5], [1f]));
        Assert.Equal("decaySteps", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(0.1f, 0)).ParamName);
        Assert.Equal("warmupSteps", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(0f, 10, warmupTarget: 1f)).ParamName);
    }

    [Fact]
    public void A_schedule_sets_each_steps_rate_in_TrainStep_and_Fit()
    {
        var schedule = new PiecewiseConstantDecay([1], [0.5f, 0.25f]); // steps 0 and 1 at 0.5, then 0.25
        var sgd = new SGD(1f) { Schedule = schedule };
        var p = new Parameter("w", new Shape(1));
        for (int step = 0; step < 4; step++)
        {
            Assert.Equal(schedule.At(step), sgd.LearningRate);
            p.Gradient.Span[0] = 1f;
            sgd.Step([p]);
        }
        Assert.Equal(-(0.5f + 0.5f + 0.25f + 0.25f), p.Value[0]);
        Assert.Throws<InvalidOperationException>(() => sgd.LearningRate = 0.1f);

        // Fit: 2 epochs of 3 batches; the rate falls after step index 2, so the second epoch trains at the lower rate.
        var model = new Sequential(new Dense(3)).Build(new Shape(4), seed: 1)
            .Compile(new SGD(1f) { Schedule = new PiecewiseConstantDecay([2], [0.1f, 0.001f]) }, new SparseCategoricalCrossentropy(fromLogits: true));
        var reference = new Sequential(new Dense(3)).Build(new Shape(4), seed: 1)
            .Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        var x = new Tensor(new Shape(6, 4));
        for (int i = 0; i < 24; i++) x.Span[i] = MathF.Sin(i);
        int[] y = [0, 1, 2, 0, 1, 2];
        model.Fit(x, y, epochs: 1, batchSize: 2, new FitOptions { Output = null });
        reference.Fit(x, y, epochs: 1, batchSize: 2, new FitOptions { Output = null });
        Assert.Equal(reference.ParameterBuffer.ToArray(), model.ParameterBuffer.ToArray());
        Assert.Equal(0.001f, model.Optimizer!.LearningRate);
    }
}
