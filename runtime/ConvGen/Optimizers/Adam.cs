using System;
using System.Collections.Generic;
using System.Numerics;

namespace ConvGen;

/// <summary>
/// Keras' <c>Adam</c>: at step <c>t</c>, <c>m += (g − m)(1 − β₁)</c>, <c>v += (g² − v)(1 − β₂)</c>, and
/// <c>w −= lr_t · m / (√v + ε)</c> with the bias correction folded into <c>lr_t = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ)</c>.
/// With <c>amsgrad</c>, <c>v̂ = max(v̂, v)</c> takes <c>v</c>'s place in the denominator. The moments start at zero; <c>t</c>
/// counts <see cref="Optimizer.Step"/> calls, as Keras' <c>iterations</c>.
/// </summary>
public class Adam : Optimizer
{
    private readonly Dictionary<Parameter, (float[] M, float[] V, float[] VHat)> _moments = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates the optimizer with Keras' defaults.</summary>
    /// <param name="learningRate">The step size; finite and positive.</param>
    /// <param name="beta1">Decay of the first moment, in <c>[0, 1)</c>.</param>
    /// <param name="beta2">Decay of the second moment, in <c>[0, 1)</c>.</param>
    /// <param name="epsilon">Added to <c>√v</c> for stability; finite and positive.</param>
    /// <param name="amsgrad">Whether to divide by the largest second moment so far (AMSGrad) rather than the current one.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public Adam(float learningRate = 0.001f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f, bool amsgrad = false)
        : base(learningRate)
    {
        Beta1 = OptimizerChecks.UnitInterval(beta1, excludeOne: true, nameof(beta1));
        Beta2 = OptimizerChecks.UnitInterval(beta2, excludeOne: true, nameof(beta2));
        if (!float.IsFinite(epsilon) || epsilon <= 0f)
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be finite and greater than 0.");
        Epsilon = epsilon;
        Amsgrad = amsgrad;
    }

    /// <summary>Decay of the first moment (mean of the gradients).</summary>
    public float Beta1 { get; }

    /// <summary>Decay of the second moment (mean of the squared gradients).</summary>
    public float Beta2 { get; }

    /// <summary>Added to <c>√v</c> in the denominator.</summary>
    public float Epsilon { get; }

    /// <summary>Whether the largest second moment so far is used (AMSGrad).</summary>
    public bool Amsgrad { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<(string Name, float[] Values)> State(Parameter parameter) =>
        Amsgrad ? [("m", Moments(parameter).M), ("v", Moments(parameter).V), ("v_hat", Moments(parameter).VHat)]
                : [("m", Moments(parameter).M), ("v", Moments(parameter).V)];

    /// <inheritdoc/>
    protected override void ClearState() => _moments.Clear();

    private (float[] M, float[] V, float[] VHat) Moments(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        int n = parameter.Value.Shape.Size;
        if (!_moments.TryGetValue(parameter, out var state))
            _moments.Add(parameter, state = (new float[n], new float[n], Amsgrad ? new float[n] : []));
        return state;
    }

    /// <inheritdoc/>
    protected override void Update(Parameter parameter, float learningRate, long step)
    {
        float beta1Power = MathF.Pow(Beta1, step), beta2Power = MathF.Pow(Beta2, step);
        float alpha = learningRate * MathF.Sqrt(1f - beta2Power) / (1f - beta1Power);
        var state = Moments(parameter);
        Span<float> w = parameter.Value.Written;
        if (w.Length >= ParallelThreshold && WorkerPool.Shared is { Threads: > 1 } pool)
        {
            // Large parameters (a compiled network's single buffer, a big Dense kernel) are split over the worker
            // threads: each element's update is independent, so the result is the same for any split.
            _parallel.Set(parameter, state, alpha, 1f - Beta1, 1f - Beta2, Epsilon);
            pool.Run(_parallel, 0, pool.Threads);
            _parallel.Clear();
        }
        else
        {
            Update(w, parameter.Gradient.Span, state.M, state.V, state.VHat, alpha, 1f - Beta1, 1f - Beta2, Epsilon);
        }
    }

    /// <summary>Parameters with at least this many values are updated on every worker thread.</summary>
    private const int ParallelThreshold = 1 << 18;

    private readonly ParallelUpdate _parallel = new();

    /// <summary>One parameter's update as pool work: part <c>p</c> of <c>parts</c> updates its slice of the values.</summary>
    private sealed class ParallelUpdate : IPhaseRunner
    {
        private Parameter? _parameter;
        private float[] _m = [], _v = [], _vHat = [];
        private float _alpha, _oneMinusBeta1, _oneMinusBeta2, _epsilon;

        public void Set(Parameter parameter, (float[] M, float[] V, float[] VHat) state, float alpha, float oneMinusBeta1, float oneMinusBeta2, float epsilon)
            => (_parameter, _m, _v, _vHat, _alpha, _oneMinusBeta1, _oneMinusBeta2, _epsilon) = (parameter, state.M, state.V, state.VHat, alpha, oneMinusBeta1, oneMinusBeta2, epsilon);

        public void Clear() => (_parameter, _m, _v, _vHat) = (null, [], [], []);

        public void RunPhase(int phase, int part, int parts)
        {
            var (s, e) = Parallelism.Split(_m.Length, parts, part, 64);
            Update(_parameter!.Value.Written[s..e], _parameter.Gradient.Span[s..e], _m.AsSpan(s, e - s), _v.AsSpan(s, e - s),
                _vHat.Length == 0 ? [] : _vHat.AsSpan(s, e - s), _alpha, _oneMinusBeta1, _oneMinusBeta2, _epsilon);
        }
    }

    /// <summary>The update of a slice; <paramref name="vHat"/> is empty without AMSGrad.</summary>
    private static void Update(Span<float> w, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> vHat,
        float alpha, float oneMinusBeta1, float oneMinusBeta2, float epsilon)
    {
        bool ams = vHat.Length > 0;
        int vc = Vector<float>.Count, i = 0;
        Vector<float> va = new(alpha), vb1 = new(oneMinusBeta1), vb2 = new(oneMinusBeta2), veps = new(epsilon);
        for (; i + vc <= w.Length; i += vc)
        {
            var grad = new Vector<float>(g.Slice(i, vc));
            var mi = new Vector<float>(m.Slice(i, vc));
            var vi = new Vector<float>(v.Slice(i, vc));
            mi += (grad - mi) * vb1;
            vi += (grad * grad - vi) * vb2;
            mi.CopyTo(m.Slice(i, vc));
            vi.CopyTo(v.Slice(i, vc));
            if (ams)
            {
                vi = Vector.Max(new Vector<float>(vHat.Slice(i, vc)), vi);
                vi.CopyTo(vHat.Slice(i, vc));
            }
            (new Vector<float>(w.Slice(i, vc)) - va * mi / (Vector.SquareRoot(vi) + veps)).CopyTo(w.Slice(i, vc));
        }
        for (; i < w.Length; i++)
        {
            m[i] += (g[i] - m[i]) * oneMinusBeta1;
            v[i] += (g[i] * g[i] - v[i]) * oneMinusBeta2;
            float denominator = v[i];
            if (ams) denominator = vHat[i] = MathF.Max(vHat[i], v[i]);
            w[i] -= alpha * m[i] / (MathF.Sqrt(denominator) + epsilon);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{GetType().Name}(beta1: {Beta1}, beta2: {Beta2}, epsilon: {Epsilon}{(Amsgrad ? ", amsgrad: true" : "")}, {CommonArguments()})";
}

/// <summary>
/// Keras' <c>AdamW</c>: <see cref="Adam"/> with decoupled weight decay (every weight multiplied by <c>1 − lr · weightDecay</c>
/// before Adam's update; Keras' default 0.004).
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer with Keras' defaults.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public AdamW(float learningRate = 0.001f, float weightDecay = 0.004f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f, bool amsgrad = false)
        : base(learningRate, beta1, beta2, epsilon, amsgrad) => WeightDecay = weightDecay;
}
