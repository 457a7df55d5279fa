using System;
using System.Collections.Generic;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>
/// What ConvGen's optimizers share, as Keras' base optimizer does: the learning rate or its schedule, the step count,
/// gradient clipping (<see cref="ClipValue"/> or <see cref="GlobalClipNorm"/>) and decoupled weight decay
/// (<see cref="WeightDecay"/>). A subclass writes only its update rule (<see cref="Update"/>) and its per-parameter state.
/// </summary>
public abstract class Optimizer : IOptimizer
{
    private float _learningRate;
    private long _iterations;
    private float? _clipValue, _clipNorm, _globalClipNorm, _weightDecay;

    /// <summary>Sets the constant learning rate.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is not finite and positive.</exception>
    protected Optimizer(float learningRate) => _learningRate = OptimizerChecks.LearningRate(learningRate, nameof(learningRate));

    /// <summary>
    /// The step size of the next step: the constant set, or <see cref="Schedule"/> at <see cref="Iterations"/> when there is one.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value that is not finite and positive.</exception>
    /// <exception cref="InvalidOperationException">Set while a <see cref="Schedule"/> gives the rate.</exception>
    public float LearningRate
    {
        get => Schedule is { } schedule ? schedule.At(_iterations) : _learningRate;
        set
        {
            if (Schedule is not null)
                throw new InvalidOperationException($"The learning rate follows {Schedule}; set Schedule to null to use a constant rate.");
            _learningRate = OptimizerChecks.LearningRate(value, nameof(LearningRate));
        }
    }

    /// <summary>
    /// The learning rate as a function of the step count (Keras' <c>LearningRateSchedule</c>): step <c>t</c> (counting from 0,
    /// as Keras' <c>iterations</c>) uses <c>Schedule.At(t)</c>, in <c>Fit</c> and in <c>TrainStep</c> alike. Null: the
    /// constant rate given to the constructor.
    /// </summary>
    public LearningRateSchedule? Schedule { get; set; }

    /// <inheritdoc/>
    public long Iterations
    {
        get => _iterations;
        set => _iterations = OptimizerChecks.Iterations(value);
    }

    /// <summary>Keras' <c>clipvalue</c>: every gradient element is clipped to <c>[-ClipValue, ClipValue]</c> before the update. Null: no clipping.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value that is not finite and positive.</exception>
    /// <exception cref="InvalidOperationException">Set while <see cref="ClipNorm"/> or <see cref="GlobalClipNorm"/> is set (one kind of clipping at a time, as in Keras).</exception>
    public float? ClipValue
    {
        get => _clipValue;
        init
        {
            if (value is not null && (_globalClipNorm is not null || _clipNorm is not null)) throw OneClipping();
            _clipValue = Positive(value, nameof(ClipValue));
        }
    }

    /// <summary>
    /// Keras' <c>clipnorm</c>: the gradient of each variable (a layer's kernel, its bias, ...) whose L2 norm exceeds it is scaled
    /// by <c>ClipNorm / norm</c>, each on its own. Null: no clipping. A model's optimizer sees its variables as one parameter and
    /// clips them one by one all the same.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value that is not finite and positive.</exception>
    /// <exception cref="InvalidOperationException">Set while <see cref="ClipValue"/> or <see cref="GlobalClipNorm"/> is set.</exception>
    public float? ClipNorm
    {
        get => _clipNorm;
        init
        {
            if (value is not null && (_globalClipNorm is not null || _clipValue is not null)) throw OneClipping();
            _clipNorm = Positive(value, nameof(ClipNorm));
        }
    }

    /// <summary>
    /// Keras' <c>global_clipnorm</c>: when the L2 norm of all the gradients of a step together exceeds it, they are all scaled by
    /// <c>GlobalClipNorm / norm</c>. Null: no clipping.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value that is not finite and positive.</exception>
    /// <exception cref="InvalidOperationException">Set while <see cref="ClipValue"/> or <see cref="ClipNorm"/> is set.</exception>
    public float? GlobalClipNorm
    {
        get => _globalClipNorm;
        init
        {
            if (value is not null && (_clipValue is not null || _clipNorm is not null)) throw OneClipping();
            _globalClipNorm = Positive(value, nameof(GlobalClipNorm));
        }
    }

    /// <summary>
    /// Decoupled weight decay (Keras' <c>weight_decay</c>, AdamW's): before the update, every weight is multiplied by
    /// <c>1 − learningRate · WeightDecay</c>. Null: none. It applies to every parameter passed to <see cref="Step"/>, biases
    /// included, as Keras does unless told to exclude some.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative or non-finite value.</exception>
    public float? WeightDecay
    {
        get => _weightDecay;
        init
        {
            if (value is float v && !(float.IsFinite(v) && v >= 0))
                throw new ArgumentOutOfRangeException(nameof(WeightDecay), v, "WeightDecay must be finite and at least 0.");
            _weightDecay = value;
        }
    }

    /// <summary>
    /// One step for every parameter: clipping (which changes the gradients in place), weight decay, then <see cref="Update"/>
    /// with the step's learning rate; then <see cref="Iterations"/> goes up by one.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> is null.</exception>
    /// <exception cref="ArgumentException">A parameter is null.</exception>
    public void Step(IReadOnlyList<Parameter> parameters)
    {
        OptimizerChecks.Parameters(parameters);
        float rate = LearningRate;
        if (!(float.IsFinite(rate) && rate >= 0))
            throw new InvalidOperationException($"{Schedule} gives the learning rate {rate} at step {_iterations}; it must be finite and at least 0.");
        Clip(parameters);
        // An index loop: foreach over the interface would allocate an enumerator every step.
        for (int i = 0; i < parameters.Count; i++)
        {
            var parameter = parameters[i];
            if (_weightDecay is float decay && decay > 0)
            {
                var w = parameter.Value.Written;
                TensorPrimitives.Multiply(w, 1f - rate * decay, w);
            }
            Update(parameter, rate, _iterations + 1);
        }
        _iterations++;
    }

    /// <summary>Applies this optimizer's rule to one parameter, from its (already clipped) gradient.</summary>
    /// <param name="parameter">The parameter; its gradient is read, its value updated.</param>
    /// <param name="learningRate">This step's learning rate.</param>
    /// <param name="step">This step's number, counting from 1 (Adam's <c>t</c>).</param>
    protected abstract void Update(Parameter parameter, float learningRate, long step);

    /// <inheritdoc/>
    public abstract IReadOnlyList<(string Name, float[] Values)> State(Parameter parameter);

    /// <summary>Forgets the per-parameter state; called by <see cref="Reset"/>.</summary>
    protected abstract void ClearState();

    /// <inheritdoc/>
    public void Reset()
    {
        ClearState();
        _iterations = 0;
    }

    /// <summary>What <c>ToString()</c> adds after the optimizer's own arguments: the rate or schedule, clipping, decay.</summary>
    protected string CommonArguments() =>
        (Schedule is { } s ? $"schedule: {s}" : $"learningRate: {_learningRate}") +
        (_clipValue is float c ? $", clipValue: {c}" : "") +
        (_clipNorm is float m ? $", clipNorm: {m}" : "") +
        (_globalClipNorm is float n ? $", globalClipNorm: {n}" : "") +
        (_weightDecay is float d ? $", weightDecay: {d}" : "");

    private void Clip(IReadOnlyList<Parameter> parameters)
    {
        if (_clipValue is float limit)
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                var g = parameters[i].Gradient.Span;
                TensorPrimitives.Clamp(g, -limit, limit, g);
            }
        }
        else if (_clipNorm is float each)
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                var g = parameters[i].Gradient.Span;
                if (parameters[i].Variables is not { } variables)
                {
                    ClipToNorm(g, each);
                    continue;
                }
                for (int v = 0; v + 1 < variables.Length; v++) ClipToNorm(g[variables[v]..variables[v + 1]], each);
            }
        }
        else if (_globalClipNorm is float clip)
        {
            double squares = 0;
            for (int i = 0; i < parameters.Count; i++)
            {
                float norm = TensorPrimitives.Norm(parameters[i].Gradient.Span);
                squares += (double)norm * norm;
            }
            double global = Math.Sqrt(squares);
            if (global > clip)
            {
                float scale = (float)(clip / global);
                for (int i = 0; i < parameters.Count; i++)
                {
                    var g = parameters[i].Gradient.Span;
                    TensorPrimitives.Multiply(g, scale, g);
                }
            }
        }
    }

    /// <summary>Scales <paramref name="g"/> by <c>limit / norm</c> when its L2 norm exceeds <paramref name="limit"/>.</summary>
    private static void ClipToNorm(Span<float> g, float limit)
    {
        float norm = TensorPrimitives.Norm(g);
        if (norm > limit) TensorPrimitives.Multiply(g, limit / norm, g);
    }

    private static float? Positive(float? value, string name)
    {
        if (value is float v && !(float.IsFinite(v) && v > 0))
            throw new ArgumentOutOfRangeException(name, v, $"{name} must be finite and greater than 0 (or null for no clipping).");
        return value;
    }

    private static InvalidOperationException OneClipping() =>
        new("Set one of ClipValue, ClipNorm and GlobalClipNorm: ConvGen applies one kind of clipping per optimizer.");
}
