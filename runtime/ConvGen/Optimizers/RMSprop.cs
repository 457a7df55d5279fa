using System;
using System.Collections.Generic;
using System.Numerics;

namespace ConvGen;

/// <summary>
/// Keras' <c>RMSprop</c>: <c>v = ρ·v + (1 − ρ)·g²</c> and <c>w −= lr · g / √(v + ε)</c>. <c>centered</c> divides by
/// <c>√(v − ḡ² + ε)</c> instead, with <c>ḡ = ρ·ḡ + (1 − ρ)·g</c>; with <c>momentum</c>, <c>u = momentum·u + lr · g / √(...)</c>
/// and <c>w −= u</c>. The accumulators start at zero.
/// </summary>
public sealed class RMSprop : Optimizer
{
    private readonly Dictionary<Parameter, (float[] Velocity, float[] Average, float[] Momentum)> _state = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates the optimizer with Keras' defaults.</summary>
    /// <param name="learningRate">The step size; finite and positive.</param>
    /// <param name="rho">Decay of the mean square, in <c>[0, 1)</c>.</param>
    /// <param name="momentum">Momentum of the increments, in <c>[0, 1)</c>; 0 for none.</param>
    /// <param name="epsilon">Added under the square root; finite and positive.</param>
    /// <param name="centered">Whether to divide by the variance estimate rather than the mean square.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public RMSprop(float learningRate = 0.001f, float rho = 0.9f, float momentum = 0f, float epsilon = 1e-7f, bool centered = false) : base(learningRate)
    {
        Rho = OptimizerChecks.UnitInterval(rho, excludeOne: true, nameof(rho));
        Momentum = OptimizerChecks.UnitInterval(momentum, excludeOne: true, nameof(momentum));
        if (!float.IsFinite(epsilon) || epsilon <= 0f)
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be finite and greater than 0.");
        Epsilon = epsilon;
        Centered = centered;
    }

    /// <summary>Decay of the mean square.</summary>
    public float Rho { get; }

    /// <summary>Momentum of the increments; 0 for none.</summary>
    public float Momentum { get; }

    /// <summary>Added under the square root.</summary>
    public float Epsilon { get; }

    /// <summary>Whether the variance estimate (mean square minus squared mean) is the denominator.</summary>
    public bool Centered { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<(string Name, float[] Values)> State(Parameter parameter)
    {
        var s = Accumulators(parameter);
        var list = new List<(string, float[])> { ("velocity", s.Velocity) };
        if (Centered) list.Add(("average_gradient", s.Average));
        if (Momentum > 0) list.Add(("momentum", s.Momentum));
        return list;
    }

    /// <inheritdoc/>
    protected override void ClearState() => _state.Clear();

    /// <inheritdoc/>
    protected override void Update(Parameter parameter, float learningRate, long step)
    {
        var (velocity, average, momentum) = Accumulators(parameter);
        Span<float> w = parameter.Value.Written;
        ReadOnlySpan<float> g = parameter.Gradient.Span;
        float rho = Rho, epsilon = Epsilon, beta = Momentum;
        bool centered = Centered, withMomentum = beta > 0;
        int vc = Vector<float>.Count, i = 0;
        Vector<float> vRho = new(rho), vKeep = new(1 - rho), vEps = new(epsilon), vLr = new(learningRate), vBeta = new(beta);
        for (; i + vc <= w.Length; i += vc)
        {
            var grad = new Vector<float>(g.Slice(i, vc));
            var v = vRho * new Vector<float>(velocity.AsSpan(i, vc)) + vKeep * grad * grad;
            v.CopyTo(velocity.AsSpan(i, vc));
            var denominator = v + vEps;
            if (centered)
            {
                var a = vRho * new Vector<float>(average.AsSpan(i, vc)) + vKeep * grad;
                a.CopyTo(average.AsSpan(i, vc));
                denominator -= a * a;
            }
            var increment = vLr * grad / Vector.SquareRoot(denominator);
            if (withMomentum)
            {
                increment = vBeta * new Vector<float>(momentum.AsSpan(i, vc)) + increment;
                increment.CopyTo(momentum.AsSpan(i, vc));
            }
            (new Vector<float>(w.Slice(i, vc)) - increment).CopyTo(w.Slice(i, vc));
        }
        for (; i < w.Length; i++)
        {
            float v = velocity[i] = rho * velocity[i] + (1 - rho) * g[i] * g[i];
            float denominator = v + epsilon;
            if (centered)
            {
                float a = average[i] = rho * average[i] + (1 - rho) * g[i];
                denominator -= a * a;
            }
            float increment = learningRate * g[i] / MathF.Sqrt(denominator);
            if (withMomentum) increment = momentum[i] = beta * momentum[i] + increment;
            w[i] -= increment;
        }
    }

    private (float[] Velocity, float[] Average, float[] Momentum) Accumulators(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        int n = parameter.Value.Shape.Size;
        if (!_state.TryGetValue(parameter, out var state))
            _state.Add(parameter, state = (new float[n], Centered ? new float[n] : [], Momentum > 0 ? new float[n] : []));
        return state;
    }

    /// <inheritdoc/>
    public override string ToString() => $"RMSprop(rho: {Rho}, momentum: {Momentum}, epsilon: {Epsilon}, centered: {Centered}, {CommonArguments()})";
}
