using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ConvGen;
using ConvGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Runtime.Tests.Layers;

/// <summary>
/// SiLU and GELU (exact and tanh form) against their definitions in double precision, by central differences, inside a trained
/// <see cref="Sequential"/>, and the float erf under the exact GELU against a double erf computed here.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public sealed class SiluGeluTests(ITestOutputHelper output)
{
    /// <summary>2⁻²³: one float ulp relative to the value (the spacing of floats in [1, 2)).</summary>
    private const double Ulp = 1.0 / (1 << 23);

    /// <summary>The smallest positive (subnormal) float: the absolute floor of any float rounding.</summary>
    private const double Tiny = 1.401298464324817e-45;

    public static TheoryData<string> Kinds => ["silu", "gelu", "gelu_tanh"];

    private static Layer Create(string kind) => kind switch
    {
        "silu" => new SiLU(),
        "gelu" => new GELU(),
        _ => new GELU(approximate: true),
    };

    // ------------------------------------------------------------------ double references

    /// <summary>
    /// erf in double: <c>2/√π · exp(−x²) · Σ 2ⁿ x²ⁿ⁺¹ / (1·3·…·(2n+1))</c>, a series of positive terms (no cancellation) that
    /// converges for every x; for |x| ≥ 2 as <c>1 − erfc</c>.
    /// </summary>
    private static double Erf(double x)
    {
        double a = Math.Abs(x);
        if (a >= 2) return Math.CopySign(1 - Erfc(a), x);
        double term = a, sum = a;
        for (int n = 1; n < 500 && term > 1e-18 * sum; n++)
        {
            term *= 2 * a * a / (2 * n + 1);
            sum += term;
        }
        return Math.CopySign(2 / Math.Sqrt(Math.PI) * Math.Exp(-a * a) * sum, x);
    }

    /// <summary>
    /// erfc in double: for x ≥ 2 Laplace's continued fraction <c>erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))</c>,
    /// evaluated from 400 levels down (converged to double precision from x = 2 on); below 2, <c>1 − erf</c> (erfc(2) ≈ 0.0047, so
    /// the subtraction keeps about 14 digits); for negative x, <c>2 − erfc(−x)</c>.
    /// </summary>
    private static double Erfc(double x)
    {
        if (x < 0) return 2 - Erfc(-x);
        if (x < 2) return 1 - Erf(x);
        double f = x;
        for (int k = 400; k >= 1; k--) f = x + k / 2.0 / f;
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }

    /// <summary>The standard normal CDF, from erfc on the side where it is small.</summary>
    private static double Phi(double x) => x < 0 ? Erfc(-x / Math.Sqrt(2)) / 2 : 1 - Erfc(x / Math.Sqrt(2)) / 2;

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    /// <summary>
    /// The definition and its derivative. The tanh form <c>0.5·x·(1 + tanh z)</c> is written <c>x · sigmoid(2z)</c>, the same
    /// number in exact arithmetic (0.5·(1 + tanh z) = 1/(1 + e⁻²ᶻ)), because in double <c>1 + tanh z</c> is 0 from z ≈ −19 on.
    /// </summary>
    private static (double Y, double Slope) Reference(string kind, double x)
    {
        switch (kind)
        {
            case "silu":
                double s = Sigmoid(x);
                return (x * s, s * (1 + x * (1 - s)));
            case "gelu":
                double cdf = Phi(x);
                return (x * cdf, cdf + x * Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI));
            default:
                const double c = 0.7978845608028654; // √(2/π)
                double z = c * (x + 0.044715 * x * x * x), g = Sigmoid(2 * z);
                return (x * g, g + x * 2 * g * (1 - g) * c * (1 + 3 * 0.044715 * x * x));
        }
    }

    /// <summary>
    /// What the float layer may differ from the double reference by at <paramref name="x"/>, in ulps of the value (2⁻²³·|y|) plus
    /// an absolute floor. The exact GELU is computed in double and rounded once: half an ulp, allowed one, floor the smallest
    /// subnormal. SiLU is <c>x · sigmoid(x)</c> in float, where x enters exactly: the exp (≤ 1 ulp), 1 + e, the division and the
    /// product each round: allowed 4 ulps. The tanh form first rounds <c>t = x·(a + b·x²)</c> in float (about 3 roundings), and the
    /// sigmoid turns a relative error ε of t into <c>(1 − σ)·|t|·ε</c> (|t| reaches 103 before σ(t) underflows): allowed
    /// <c>4 + 3|t|</c> ulps; and σ(t) = 1/(1 + e⁻ᵗ) becomes 0 once e⁻ᵗ overflows (t &lt; −88.7, where σ &lt; 3e-39 and |x| &lt; 10),
    /// so y = x·σ and the slope ≈ x·t'·σ (|x·t'| ≤ 250 there) lose values below 1e-36: that is its floor.
    /// </summary>
    private static double Tolerance(string kind, double x, double y) => kind switch
    {
        "gelu" => Ulp * Math.Abs(y) + Tiny,
        "silu" => 4 * Ulp * Math.Abs(y) + Tiny,
        _ => (4 + 3 * Math.Abs(1.5957691216057308 * x * (1 + 0.044715 * x * x))) * Ulp * Math.Abs(y) + 1e-36,
    };

    /// <summary>
    /// Samples of shape (3, 5, 7), 105 floats (no multiple of 8 or 16, so every vector loop has a tail), over [−30, 30]: 0, −0,
    /// the ends, tiny and subnormal values, then a third of them dense in [−6, 6] where the functions bend, the rest over the range.
    /// </summary>
    private static Tensor Inputs(int seed, int batch)
    {
        var x = new Tensor(new Shape(batch, 3, 5, 7));
        var s = x.Span;
        var random = new Random(seed);
        float[] special = [0f, -0f, 30f, -30f, 1e-30f, -1e-30f, 1e-40f, -1e-40f, 1f, -1f, 0.5f, -0.5f, 5.5f, -5.5f, 14f, -14f, 20f, -20f];
        special.CopyTo(s);
        for (int i = special.Length; i < s.Length; i++)
            s[i] = i % 3 == 0 ? (float)(random.NextDouble() * 12 - 6) : (float)(random.NextDouble() * 60 - 30);
        return x;
    }

    // ------------------------------------------------------------------ (1) forward and backward against the definition

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Forward_and_backward_follow_the_double_definition_over_minus_30_to_30(string kind)
    {
        foreach (int threads in new[] { 1, 2 })
        {
            using var scope = new ThreadScope(threads);
            var x = Inputs(7, 61); // 6405 values: the sigmoid chunks of 256 and their tails too
            var harness = new LayerHarness(Create(kind), x.Shape.WithoutBatch());
            var dy = new Tensor(x.Shape, TestData.Uniform(x.Length, 8, -2f, 2f));
            var y = harness.Forward(x).ToArray();
            var dx = harness.Backward(dy).ToArray();
            double worstY = 0, worstDx = 0;
            for (int i = 0; i < x.Length; i++)
            {
                float xi = x.Span[i];
                var (ey, slope) = Reference(kind, xi);
                double yError = Math.Abs(y[i] - ey), allowed = Tolerance(kind, xi, ey);
                Assert.True(yError <= allowed, $"{kind} y at x = {xi:R}: {y[i]:R}, expected {ey:R} (error {yError:G3} > {allowed:G3})");
                if (Math.Abs(ey) > 1e-30) worstY = Math.Max(worstY, yError / (Ulp * Math.Abs(ey)));

                // The slope is computed like the value, plus one product with dy: one more ulp, and an absolute 1e-7·|dy| for the
                // slope's own sum (Φ + x·φ, s + y·(1 − s)) where its terms cancel, as they do where it crosses 0 (x ≈ −0.75, −1.28).
                // In float, the sigmoid gates take 1 − s from s = sigmoid(·), whose absolute error (up to 2 ulps of [0.5, 1), 2⁻²³)
                // the slope's second term multiplies by x (SiLU: y·(1 − s)) or by x·t'(x) (tanh form: x·s·(1 − s)·t'), as
                // TensorFlow's own gradients of both do; the exact GELU's slope comes from double.
                double edx = slope * dy.Span[i], dxError = Math.Abs(dx[i] - edx);
                double gateFactor = kind switch { "silu" => Math.Abs(xi), "gelu" => 0, _ => Math.Abs(xi * 1.5957691216057308 * (1 + 3 * 0.044715 * xi * xi)) };
                double dxAllowed = Tolerance(kind, xi, edx) + (Ulp * Math.Abs(slope) + 1e-7 + gateFactor * Ulp) * Math.Abs(dy.Span[i]);
                Assert.True(dxError <= dxAllowed, $"{kind} dx at x = {xi:R}: {dx[i]:R}, expected {edx:R} (error {dxError:G3} > {dxAllowed:G3})");
                worstDx = Math.Max(worstDx, dxError / Math.Abs(dy.Span[i]));
            }
            output.WriteLine($"{kind}, {threads} thread(s), Vector<float>.Count {System.Numerics.Vector<float>.Count}: max y error {worstY:F2} ulp (|y| > 1e-30); max |dx error| / |dy| {worstDx:G3}");
            Assert.Equal(0f, y[0]); // x = 0
            Assert.Equal(0f, y[1]); // x = -0
            Assert.Equal(30f, y[2]); // x = 30: the gate is 1 in float
            Assert.Equal(0f, dx[0] - 0.5f * dy.Span[0], 7); // the slope at 0 is 1/2 for all three
        }
    }

    [Fact]
    public void Values_match_Keras_documentation()
    {
        // tf.keras.activations.gelu's documented float32 outputs at -3, -1, 0, 1, 3. TensorFlow's float erf (Eigen's rational
        // interpolant) is itself off by up to ~3e-7 (its gelu(3) is 2.9959507; exactly, 3·Φ(3) = 2.99595031), hence 1e-6.
        var x = new Tensor(new Shape(5, 1), [-3f, -1f, 0f, 1f, 3f]);
        float[] exact = [-0.00404951f, -0.15865529f, 0f, 0.8413447f, 2.9959507f];
        float[] tanh = [-0.00363752f, -0.15880796f, 0f, 0.841192f, 2.9963627f];
        var gelu = new LayerHarness(new GELU(), new Shape(1)).Forward(x).ToArray();
        var approximate = new LayerHarness(new GELU(approximate: true), new Shape(1)).Forward(x).ToArray();
        var silu = new LayerHarness(new SiLU(), new Shape(1)).Forward(x).ToArray();
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(exact[i], gelu[i], 1e-6);
            Assert.Equal(tanh[i], approximate[i], 1e-6);
            Assert.Equal(x.Span[i] / (1 + Math.Exp(-x.Span[i])), silu[i], 1e-7);
        }
        Assert.Equal(2.99595031, gelu[4], 1e-7);
    }

    // ------------------------------------------------------------------ (2) central differences (the shared GradientCheck)

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Gradients_pass_central_differences(string kind)
    {
        // 3·2·2·4 = 48 distinct values 0.26 apart, spread over [-6.2, 6.0] (the functions are smooth: no kink to avoid), and a
        // second input over [-24, 23] where the slopes are 0 or 1 and the tanh form's sigmoid saturates.
        var x = TestData.Distinct(3, 0.26f, 3, 2, 2, 4);
        Assert.True(GradientCheck.Check(Create(kind), x, seed: 4) >= 48);
        var wide = TestData.Distinct(5, 1f, 3, 2, 2, 4);
        Assert.True(GradientCheck.Check(Create(kind), wide, seed: 6) >= 48);
    }

    // ------------------------------------------------------------------ (3) in a Sequential

    private static Sequential Net(int seed) =>
        new Sequential(new Dense(16), new GELU(), new Dense(16), new SiLU(), new Dense(12), new GELU(approximate: true), new Dense(4))
            .Build(new Shape(6), seed)
            .Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));

    private static (Tensor X, int[] Labels) Batch(int seed, int n)
    {
        var random = new Random(seed);
        var x = new Tensor(new Shape(n, 6), TestData.Uniform(n * 6, seed, -2f, 2f));
        return (x, Enumerable.Range(0, n).Select(_ => random.Next(4)).ToArray());
    }

    [Fact]
    public void A_Sequential_with_them_builds_predicts_trains_and_saves()
    {
        var model = Net(1);
        Assert.Equal(["dense", "gelu", "dense_1", "silu", "dense_2", "gelu_1", "dense_3"], model.Layers.Select(l => l.Name));
        Assert.Contains("gelu (GELU)", model.Summary());
        Assert.Contains("silu (SiLU)", model.Summary());
        Assert.True(model.Layers.OfType<GELU>().Single(l => l.Name == "gelu_1").Approximate);
        Assert.False(new GELU().Approximate);

        var (x, labels) = Batch(2, 40);
        var predicted = model.Predict(x, batchSize: 16).ToArray();
        Assert.Equal(model.Forward(x).ToArray(), predicted);

        float first = model.TrainStep(x, labels), last = first;
        for (int i = 0; i < 60; i++) last = model.TrainStep(x, labels);
        Assert.True(float.IsFinite(last) && last < 0.7f * first, $"loss {first} -> {last}");

        string path = Path.Combine(Path.GetTempPath(), $"convgen-silu-gelu-{Guid.NewGuid():N}.cgw");
        try
        {
            model.SaveWeights(path);
            var loaded = Net(99);
            loaded.LoadWeights(path);
            Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_training_step_allocates_nothing_after_warm_up(int threads)
    {
        using var scope = new ThreadScope(threads);
        var model = Net(3);
        var (x, labels) = Batch(4, 37);
        for (int i = 0; i < 20; i++) model.TrainStep(x, labels);
        long thread = GC.GetAllocatedBytesForCurrentThread(), workers = Model.WorkerAllocatedBytes;
        for (int i = 0; i < 5; i++) model.TrainStep(x, labels);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - thread);
        Assert.Equal(0, Model.WorkerAllocatedBytes - workers);
    }

    // ------------------------------------------------------------------ (4) erf

    [Fact]
    public void The_double_reference_matches_tabulated_values()
    {
        // erf and erfc to 16+ digits (Abramowitz & Stegun table 7.1; erfc(10) from its asymptotic series).
        (double X, double Value)[] erf = [(0.1, 0.1124629160182848922), (0.5, 0.5204998778130465377), (1, 0.8427007929497148693),
            (1.5, 0.9661051464753107271), (2, 0.9953222650189527342), (3, 0.9999779095030014146)];
        foreach (var (x, value) in erf)
        {
            Assert.True(Math.Abs(Erf(x) / value - 1) < 1e-15, $"erf({x}) = {Erf(x):R}, expected {value:R}");
            Assert.Equal(-Erf(x), Erf(-x));
        }
        (double X, double Value)[] erfc = [(2, 4.677734981047265838e-3), (3, 2.209049699858544137e-5), (5, 1.537459794428034850e-12),
            (10, 2.088487583762544757e-45)];
        foreach (var (x, value) in erfc) Assert.True(Math.Abs(Erfc(x) / value - 1) < 1e-14, $"erfc({x}) = {Erfc(x):R}, expected {value:R}");
    }

    [Fact]
    public void Erf_is_within_half_a_float_ulp_over_minus_6_to_6()
    {
        // Every 2⁻¹⁴ (≈ 6.1e-5) over [-6, 6], and 100 000 random floats there. Computed in double and rounded once, each result
        // must be the exact value rounded to float: within half the float spacing at the result (plus 1e-12 for the double work).
        var points = new List<float>();
        for (int i = -6 * 16384; i <= 6 * 16384; i++) points.Add(i / 16384f);
        var random = new Random(11);
        for (int i = 0; i < 100_000; i++) points.Add((float)(random.NextDouble() * 12 - 6));
        double worst = 0, worstUlps = 0;
        float worstAt = 0;
        foreach (float x in points)
        {
            float got = Activations.Erf(x);
            double exact = Erf(x), error = Math.Abs(got - exact);
            float magnitude = MathF.Abs(got);
            double spacing = (double)MathF.BitIncrement(magnitude) - magnitude;
            Assert.True(error <= spacing / 2 + 1e-12, $"erf({x:R}) = {got:R}, exact {exact:R}: error {error:G3} > half the float spacing {spacing / 2:G3}");
            if (error > worst) (worst, worstAt) = (error, x);
            if (exact != 0) worstUlps = Math.Max(worstUlps, error / spacing);
        }
        output.WriteLine($"erf over {points.Count} floats in [-6, 6]: max |error| {worst:G3} at {worstAt:R}, max {worstUlps:F4} ulp");
        Assert.True(worst <= 3.0e-8, $"max |error| {worst:G3} at {worstAt:R}");
        Assert.True(worstUlps <= 0.5 + 1e-6, $"max error {worstUlps} ulp");
    }

    [Fact]
    public void Erf_handles_the_special_values()
    {
        Assert.Equal(0f, Activations.Erf(0f));
        Assert.True(float.IsNegative(Activations.Erf(-0f)));
        Assert.Equal(1f, Activations.Erf(4f));
        Assert.Equal(-1f, Activations.Erf(-30f));
        Assert.Equal(1f, Activations.Erf(float.PositiveInfinity));
        Assert.Equal(-1f, Activations.Erf(float.NegativeInfinity));
        Assert.True(float.IsNaN(Activations.Erf(float.NaN)));
        Assert.Equal(1e-20f * 1.1283791670955126f, Activations.Erf(1e-20f), 1e-27f);
    }
}
