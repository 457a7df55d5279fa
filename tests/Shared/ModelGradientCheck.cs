using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace ConvGen.Testing;

/// <summary>
/// Central differences of a whole model: for <c>L = Σ r·model(x)</c> with a fixed random <c>r</c>, summed in double, the
/// numeric derivative <c>(L(v + ε) − L(v − ε)) / (2ε)</c> at random positions of the input and of every parameter is compared
/// with what the backward pass computes. A ReLU network is piecewise linear in each value, so away from a kink (a ReLU or a max
/// pool switching) L at <c>v</c>, <c>v ± ε/2</c> and <c>v ± ε</c> lies on one line; where it does not, a kink lies within ε and no
/// derivative exists there: the position is skipped and counted, and skips must stay rare.
/// </summary>
public static class ModelGradientCheck
{
    public sealed record Result(int Checked, int Skipped, IReadOnlyList<string> Failures);

    public static Result Check(Model model, Tensor input, int seed, int positionsPerTensor = 40, float epsilon = 1e-3f,
        double relativeTolerance = 1e-2, double absoluteTolerance = 1e-3)
    {
        var rng = new Random(seed);
        var output = model.Forward(input);
        var r = new float[output.Length];
        for (int i = 0; i < r.Length; i++) r[i] = (float)(rng.NextDouble() * 2 - 1);
        model.ZeroGradients();
        var dx = new Tensor(input.Shape);
        model.Backward(new Tensor(output.Shape, (float[])r.Clone()), dx);
        var analyticInput = dx.ToArray();
        var analyticParameters = model.Parameters.Select(p => p.Gradient.ToArray()).ToArray();

        double Loss()
        {
            var y = model.Forward(input).Span;
            double sum = 0;
            for (int i = 0; i < y.Length; i++) sum += (double)r[i] * y[i];
            return sum;
        }

        int checkedCount = 0, skipped = 0;
        var failures = new List<string>();
        void Probe(string what, int length, Func<int, float> get, Action<int, float> set, float[] analytic)
        {
            foreach (int i in Enumerable.Range(0, positionsPerTensor).Select(_ => rng.Next(length)).Distinct())
            {
                float v = get(i);
                double LossAt(float value)
                {
                    set(i, value);
                    double loss = Loss();
                    set(i, v);
                    return loss;
                }
                double at = Loss();
                float up = v + epsilon, down = v - epsilon, upHalf = v + epsilon / 2, downHalf = v - epsilon / 2;
                double plus = LossAt(up), minus = LossAt(down), plusHalf = LossAt(upHalf), minusHalf = LossAt(downHalf);
                double numeric = (plus - minus) / ((double)up - down);
                double allowed = relativeTolerance * Math.Max(Math.Abs(numeric), Math.Abs(analytic[i])) + absoluteTolerance;
                // A kink bends the line through the five points: the slopes of its four segments differ.
                double[] slopes =
                [
                    (minusHalf - minus) / ((double)downHalf - down), (at - minusHalf) / ((double)v - downHalf),
                    (plusHalf - at) / ((double)upHalf - v), (plus - plusHalf) / ((double)up - upHalf),
                ];
                bool kink = slopes.Max() - slopes.Min() > allowed;
                if (kink)
                {
                    skipped++;
                    continue;
                }
                checkedCount++;
                if (!(Math.Abs(numeric - analytic[i]) <= allowed))
                    failures.Add($"d/d{what}[{i}]: central difference {numeric:G6}, backward pass {analytic[i]:G6}");
            }
        }

        var x = input.Span.ToArray();
        Probe("input", x.Length, i => input.Span[i], (i, v) => input.Span[i] = v, analyticInput);
        var names = model.NamedParameters();
        for (int p = 0; p < model.Parameters.Count; p++)
        {
            var values = model.Parameters[p].Value;
            Probe(names[p].Name, values.Length, i => values.Span[i], (i, v) => values.Span[i] = v, analyticParameters[p]);
        }
        return new Result(checkedCount, skipped, failures);
    }

    /// <summary>Runs <see cref="Check"/> and fails with every mismatch, or when kinks made it skip more than one position in four.</summary>
    public static int AssertPasses(Model model, Tensor input, int seed, int positionsPerTensor = 40, Action<string>? log = null)
    {
        var result = Check(model, input, seed, positionsPerTensor);
        log?.Invoke($"{result.Checked} derivatives checked, {result.Skipped} positions skipped near a kink");
        Assert.True(result.Failures.Count == 0, $"{result.Failures.Count} of {result.Checked} derivatives differ:\n" + string.Join("\n", result.Failures.Take(20)));
        Assert.True(result.Skipped * 4 <= result.Checked, $"{result.Skipped} positions skipped near a kink against {result.Checked} checked");
        return result.Checked;
    }
}
