using System;
using System.Collections.Generic;
using System.Numerics;

namespace ConvGen;

/// <summary>
/// Keras' <c>Adam</c>: at step <c>t</c>, <c>m += (g − m)(1 − β₁)</c>, <c>v += (g² − v)(1 − β₂)</c>, and
/// <c>w −= lr_t · m / (√v + ε)</c> with the bias correction folded into <c>lr_t = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ)</c>.
/// The moments start at zero; <c>t</c> counts <see cref="Step"/> calls, as Keras' <c>iterations</c>.
/// </summary>
public sealed class Adam : IOptimizer
{
    private readonly Dictionary<Parameter, (float[] M, float[] V)> _moments = new(ReferenceEqualityComparer.Instance);
    private float _learningRate;

    /// <summary>Creates the optimizer with Keras' defaults.</summary>
    /// <param name="learningRate">The step size; finite and positive.</param>
    /// <param name="beta1">Decay of the first moment, in <c>[0, 1)</c>.</param>
    /// <param name="beta2">Decay of the second moment, in <c>[0, 1)</c>.</param>
    /// <param name="epsilon">Added to <c>√v</c> for stability; finite and positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public Adam(float learningRate = 0.001f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f)
    {
        _learningRate = OptimizerChecks.LearningRate(learningRate, nameof(learningRate));
        Beta1 = OptimizerChecks.UnitInterval(beta1, excludeOne: true, nameof(beta1));
        Beta2 = OptimizerChecks.UnitInterval(beta2, excludeOne: true, nameof(beta2));
        if (!float.IsFinite(epsilon) || epsilon <= 0f)
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be finite and greater than 0.");
        Epsilon = epsilon;
    }

    /// <inheritdoc/>
    public float LearningRate
    {
        get => _learningRate;
        set => _learningRate = OptimizerChecks.LearningRate(value, nameof(LearningRate));
    }

    /// <summary>Decay of the first moment (mean of the gradients).</summary>
    public float Beta1 { get; }

    /// <summary>Decay of the second moment (mean of the squared gradients).</summary>
    public float Beta2 { get; }

    /// <summary>Added to <c>√v</c> in the denominator.</summary>
    public float Epsilon { get; }

    /// <inheritdoc/>
    public long Iterations
    {
        get => _iterations;
        set => _iterations = OptimizerChecks.Iterations(value);
    }

    private long _iterations;

    /// <inheritdoc/>
    public IReadOnlyList<(string Name, float[] Values)> State(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!_moments.TryGetValue(parameter, out var state))
            _moments.Add(parameter, state = (new float[parameter.Value.Shape.Size], new float[parameter.Value.Shape.Size]));
        return [("m", state.M), ("v", state.V)];
    }

    /// <inheritdoc/>
    public void Step(IReadOnlyList<Parameter> parameters)
    {
        OptimizerChecks.Parameters(parameters);
        long t = Iterations + 1;
        float beta1Power = MathF.Pow(Beta1, t), beta2Power = MathF.Pow(Beta2, t);
        float alpha = _learningRate * MathF.Sqrt(1f - beta2Power) / (1f - beta1Power);
        // An index loop: foreach over the interface would allocate an enumerator every step.
        for (int i = 0; i < parameters.Count; i++)
        {
            var parameter = parameters[i];
            Span<float> w = parameter.Value.Span;
            if (!_moments.TryGetValue(parameter, out var state))
                _moments.Add(parameter, state = (new float[w.Length], new float[w.Length]));
            if (w.Length >= ParallelThreshold && WorkerPool.Shared is { Threads: > 1 } pool)
            {
                // Large parameters (a compiled network's single buffer, a big Dense kernel) are split over the worker
                // threads: each element's update is independent, so the result is the same for any split.
                _parallel.Set(parameter, state.M, state.V, alpha, 1f - Beta1, 1f - Beta2, Epsilon);
                pool.Run(_parallel, 0, pool.Threads);
                _parallel.Clear();
            }
            else
            {
                Update(w, parameter.Gradient.Span, state.M, state.V, alpha, 1f - Beta1, 1f - Beta2, Epsilon);
            }
        }
        Iterations = t;
    }

    /// <inheritdoc/>
    public void Reset()
    {
        _moments.Clear();
        Iterations = 0;
    }

    /// <summary>Parameters with at least this many values are updated on every worker thread.</summary>
    private const int ParallelThreshold = 1 << 18;

    private readonly ParallelUpdate _parallel = new();

    /// <summary>One parameter's update as pool work: part <c>p</c> of <c>parts</c> updates its slice of the values.</summary>
    private sealed class ParallelUpdate : IPhaseRunner
    {
        private Parameter? _parameter;
        private float[] _m = [], _v = [];
        private float _alpha, _oneMinusBeta1, _oneMinusBeta2, _epsilon;

        public void Set(Parameter parameter, float[] m, float[] v, float alpha, float oneMinusBeta1, float oneMinusBeta2, float epsilon)
            => (_parameter, _m, _v, _alpha, _oneMinusBeta1, _oneMinusBeta2, _epsilon) = (parameter, m, v, alpha, oneMinusBeta1, oneMinusBeta2, epsilon);

        public void Clear() => (_parameter, _m, _v) = (null, [], []);

        public void RunPhase(int phase, int part, int parts)
        {
            var (s, e) = Parallelism.Split(_m.Length, parts, part, 64);
            Update(_parameter!.Value.Span[s..e], _parameter.Gradient.Span[s..e], _m.AsSpan(s, e - s), _v.AsSpan(s, e - s),
                _alpha, _oneMinusBeta1, _oneMinusBeta2, _epsilon);
        }
    }

    private static void Update(Span<float> w, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float alpha, float oneMinusBeta1, float oneMinusBeta2, float epsilon)
    {
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
            (new Vector<float>(w.Slice(i, vc)) - va * mi / (Vector.SquareRoot(vi) + veps)).CopyTo(w.Slice(i, vc));
        }
        for (; i < w.Length; i++)
        {
            m[i] += (g[i] - m[i]) * oneMinusBeta1;
            v[i] += (g[i] * g[i] - v[i]) * oneMinusBeta2;
            w[i] -= alpha * m[i] / (MathF.Sqrt(v[i]) + epsilon);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"Adam(learningRate: {LearningRate}, beta1: {Beta1}, beta2: {Beta2}, epsilon: {Epsilon})";
}
