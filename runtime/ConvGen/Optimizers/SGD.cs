using System;
using System.Collections.Generic;
using System.Numerics;

namespace ConvGen;

/// <summary>
/// Keras' <c>SGD</c>: gradient descent with optional momentum and Nesterov momentum.
/// Without momentum <c>w −= lr·g</c>; with momentum <c>v = momentum·v − lr·g</c>, then <c>w += v</c>, or with Nesterov
/// <c>w += momentum·v − lr·g</c>. The velocity <c>v</c> starts at zero.
/// </summary>
public sealed class SGD : Optimizer
{
    private readonly Dictionary<Parameter, float[]> _velocity = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates the optimizer with Keras' defaults.</summary>
    /// <param name="learningRate">The step size; finite and positive.</param>
    /// <param name="momentum">The velocity decay, in <c>[0, 1]</c>; 0 disables momentum.</param>
    /// <param name="nesterov">Whether to use Nesterov momentum.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public SGD(float learningRate = 0.01f, float momentum = 0f, bool nesterov = false) : base(learningRate)
    {
        Momentum = OptimizerChecks.UnitInterval(momentum, excludeOne: false, nameof(momentum));
        Nesterov = nesterov;
    }

    /// <summary>The velocity decay; 0 means plain gradient descent.</summary>
    public float Momentum { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<(string Name, float[] Values)> State(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return Momentum == 0f ? [] : [("velocity", Velocity(parameter))];
    }

    /// <inheritdoc/>
    protected override void ClearState() => _velocity.Clear();

    /// <inheritdoc/>
    protected override void Update(Parameter parameter, float learningRate, long step)
    {
        Span<float> w = parameter.Value.Written;
        ReadOnlySpan<float> g = parameter.Gradient.Span;
        if (Momentum == 0f) Descend(w, g, learningRate);
        else if (Nesterov) NesterovStep(w, g, Velocity(parameter), learningRate, Momentum);
        else MomentumStep(w, g, Velocity(parameter), learningRate, Momentum);
    }

    private float[] Velocity(Parameter parameter)
    {
        if (!_velocity.TryGetValue(parameter, out var velocity))
            _velocity.Add(parameter, velocity = new float[parameter.Value.Shape.Size]);
        return velocity;
    }

    private static void Descend(Span<float> w, ReadOnlySpan<float> g, float lr)
    {
        int vc = Vector<float>.Count, i = 0;
        var vlr = new Vector<float>(lr);
        for (; i + vc <= w.Length; i += vc)
            (new Vector<float>(w.Slice(i, vc)) - vlr * new Vector<float>(g.Slice(i, vc))).CopyTo(w.Slice(i, vc));
        for (; i < w.Length; i++) w[i] -= lr * g[i];
    }

    private static void MomentumStep(Span<float> w, ReadOnlySpan<float> g, Span<float> v, float lr, float momentum)
    {
        int vc = Vector<float>.Count, i = 0;
        Vector<float> vlr = new(lr), vm = new(momentum);
        for (; i + vc <= w.Length; i += vc)
        {
            var vel = vm * new Vector<float>(v.Slice(i, vc)) - vlr * new Vector<float>(g.Slice(i, vc));
            vel.CopyTo(v.Slice(i, vc));
            (new Vector<float>(w.Slice(i, vc)) + vel).CopyTo(w.Slice(i, vc));
        }
        for (; i < w.Length; i++)
        {
            v[i] = momentum * v[i] - lr * g[i];
            w[i] += v[i];
        }
    }

    private static void NesterovStep(Span<float> w, ReadOnlySpan<float> g, Span<float> v, float lr, float momentum)
    {
        int vc = Vector<float>.Count, i = 0;
        Vector<float> vlr = new(lr), vm = new(momentum);
        for (; i + vc <= w.Length; i += vc)
        {
            var step = vlr * new Vector<float>(g.Slice(i, vc));
            var vel = vm * new Vector<float>(v.Slice(i, vc)) - step;
            vel.CopyTo(v.Slice(i, vc));
            (new Vector<float>(w.Slice(i, vc)) + (vm * vel - step)).CopyTo(w.Slice(i, vc));
        }
        for (; i < w.Length; i++)
        {
            float step = lr * g[i];
            v[i] = momentum * v[i] - step;
            w[i] += momentum * v[i] - step;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"SGD(momentum: {Momentum}, nesterov: {Nesterov}, {CommonArguments()})";
}
