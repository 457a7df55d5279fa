using System;
using System.Collections.Generic;
using System.Linq;
using ConvGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests;

/// <summary>
/// The Winograd kernels (<c>F(4×4, 3×3)</c>, <c>F(4×4, 5×5)</c>) against the double-precision plain-loop
/// reference over random configurations at each vector width: sizes, Same and Valid padding, row ranges, bias, residual,
/// activations and the fused max pool; each output within a bound relative to the sum of its products' magnitudes, and nothing
/// outside the rows asked for written.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class WinogradTests(ITestOutputHelper output)
{
    /// <summary>
    /// Error allowed per output, relative to <c>Σ |x·w| + |b| + |residual|</c>: float rounding (6e-8) grown by the transforms'
    /// constants (up to 8 in <c>Aᵀ</c>, 5 and 5.25 in <c>Bᵀ</c>). Measured (2026-12-07, these seeds): 1.5e-6 (<c>F(4×4, 3×3)</c>), 1.6e-6 (<c>F(4×4, 5×5)</c>).
    /// </summary>
    private const double RelativeBound = 6e-6;

    public static IEnumerable<object[]> Variants() => [["F4x3"], ["F4x5"]];

    private static Winograd Variant(string name) => name == "F4x3" ? Winograd.F4x3 : Winograd.F4x5;

    [Theory]
    [MemberData(nameof(Variants))]
    public void Forward_matches_the_reference(string variant)
    {
        var winograd = Variant(variant);
        var rng = new Random(20261207 + winograd.Alpha * 10 + winograd.Outputs);
        double worst = 0;
        for (int config = 0; config < 40; config++)
        {
            int r = winograd.Kernel, c = 16 * rng.Next(1, 5), f = 16 * rng.Next(1, 5), n = rng.Next(1, 4);
            bool same = rng.Next(2) == 0, useBias = rng.Next(3) != 0, withResidual = rng.Next(3) == 0;
            int h = same ? rng.Next(1, 17) : r + rng.Next(0, 13), w = same ? rng.Next(1, 17) : r + rng.Next(0, 13);
            var activation = (Activation)new[] { (int)Activation.None, (int)Activation.ReLU, (int)Activation.ReLU6 }[rng.Next(3)];
            var k = new ConvConfig(r, r, c, f, 1, 1, 1, 1, same, useBias);
            var (oh, ow, padTop, padLeft) = k.Geometry(h, w);
            var x = RandomConfigurationTests.RandomArray(rng, n * h * w * c);
            var weights = RandomConfigurationTests.RandomArray(rng, r * r * c * f);
            var bias = useBias ? RandomConfigurationTests.RandomArray(rng, f) : [];
            var residual = withResidual ? RandomConfigurationTests.RandomArray(rng, n * oh * ow * f) : [];
            var (sums, scale) = Reference(k, x, n, h, w, weights, bias, residual);
            // A row range that may start and end inside a tile.
            int r0 = rng.Next(0, oh), r1 = rng.Next(r0 + 1, oh + 1);
            var transformed = new float[winograd.TransformedLength(c, f)];
            winograd.TransformWeights(weights, c, f, transformed);
            foreach (int lanes in new[] { 16, 8, 4 })
            {
                using var width = new LanesScope(lanes);
                string where = $"{variant} config {config} (n={n} {h}x{w}x{c} -> {f}, {(same ? "Same" : "Valid")}, bias {useBias}, residual {withResidual}, {activation}, rows [{r0}, {r1})) at {lanes} floats";
                var y = new float[n * oh * ow * f];
                y.AsSpan().Fill(float.NaN);
                winograd.Forward(x, n, h, w, c, f, padTop, padLeft, oh, ow, transformed, bias, residual, y, r0, r1, activation, pool: false);
                for (int i = 0; i < y.Length; i++)
                {
                    int row = i / f / ow % oh;
                    if (row < r0 || row >= r1)
                    {
                        Assert.True(float.IsNaN(y[i]), $"{where}: output {i} (row {row}) written outside the rows");
                        continue;
                    }
                    double expected = RandomConfigurationTests.Activated(activation, (float)sums[i]);
                    double error = Math.Abs(y[i] - expected) / scale[i];
                    worst = Math.Max(worst, error);
                    Assert.True(error <= RelativeBound, $"{where}: output {i} is {y[i]}, reference {expected} (error {error:E2} of the magnitude {scale[i]:G4})");
                }
            }
        }
        output.WriteLine($"{variant}: largest error {worst:E2} of the products' magnitude");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Pooled_forward_matches_the_reference_pool(string variant)
    {
        var winograd = Variant(variant);
        if (winograd.Outputs % 2 != 0) return;
        var rng = new Random(20261208 + winograd.Alpha * 10 + winograd.Outputs);
        for (int config = 0; config < 20; config++)
        {
            int r = winograd.Kernel, c = 16 * rng.Next(1, 4), f = 16 * rng.Next(1, 4), n = rng.Next(1, 3);
            int h = 2 * rng.Next(1, 9), w = 2 * rng.Next(1, 9);
            var activation = rng.Next(2) == 0 ? Activation.None : Activation.ReLU;
            var k = new ConvConfig(r, r, c, f, 1, 1, 1, 1, Same: true, UseBias: true);
            var (oh, ow, padTop, padLeft) = k.Geometry(h, w);
            var x = RandomConfigurationTests.RandomArray(rng, n * h * w * c);
            var weights = RandomConfigurationTests.RandomArray(rng, r * r * c * f);
            var bias = RandomConfigurationTests.RandomArray(rng, f);
            var (sums, scale) = Reference(k, x, n, h, w, weights, bias, []);
            int ph = oh / 2, pw = ow / 2, p0 = rng.Next(0, ph), p1 = rng.Next(p0 + 1, ph + 1);
            var transformed = new float[winograd.TransformedLength(c, f)];
            winograd.TransformWeights(weights, c, f, transformed);
            foreach (int lanes in new[] { 16, 8, 4 })
            {
                using var width = new LanesScope(lanes);
                string where = $"{variant} pooled config {config} (n={n} {h}x{w}x{c} -> {f}, {activation}, pooled rows [{p0}, {p1})) at {lanes} floats";
                var pooled = new float[n * ph * pw * f];
                pooled.AsSpan().Fill(float.NaN);
                winograd.Forward(x, n, h, w, c, f, padTop, padLeft, oh, ow, transformed, bias, [], pooled, 2 * p0, 2 * p1, activation, pool: true);
                for (int i = 0; i < pooled.Length; i++)
                {
                    int ch = i % f, px = i / f % pw, py = i / f / pw % ph, s = i / f / pw / ph;
                    if (py < p0 || py >= p1)
                    {
                        Assert.True(float.IsNaN(pooled[i]), $"{where}: pooled output {i} written outside the rows");
                        continue;
                    }
                    double expected = double.NegativeInfinity, bound = 0;
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++)
                        {
                            int at = ((s * oh + 2 * py + dy) * ow + 2 * px + dx) * f + ch;
                            expected = Math.Max(expected, RandomConfigurationTests.Activated(activation, (float)sums[at]));
                            bound = Math.Max(bound, scale[at]);
                        }
                    Assert.True(Math.Abs(pooled[i] - expected) <= RelativeBound * bound, $"{where}: pooled output {i} is {pooled[i]}, reference {expected}");
                }
            }
        }
    }

    /// <summary>The sums <c>b + Σ x·w + residual</c> in double precision, and <c>|b| + Σ |x·w| + |residual|</c>, per output.</summary>
    private static (double[] Sums, double[] Scale) Reference(ConvConfig k, float[] x, int n, int h, int w, float[] weights, float[] bias, float[] residual)
    {
        double[] D(float[] a) => a.Select(v => (double)v).ToArray();
        var sums = ReferenceConv.Forward(k, D(x), n, h, w, D(weights), D(bias));
        var scale = ReferenceConv.Forward(k, x.Select(v => (double)Math.Abs(v)).ToArray(), n, h, w, weights.Select(v => (double)Math.Abs(v)).ToArray(),
            bias.Select(v => (double)Math.Abs(v)).ToArray());
        for (int i = 0; i < residual.Length; i++)
        {
            sums[i] += residual[i];
            scale[i] += Math.Abs(residual[i]);
        }
        for (int i = 0; i < scale.Length; i++) scale[i] = Math.Max(scale[i], 1e-30);
        return (sums, scale);
    }
}
