using System;
using System.Collections.Generic;

namespace ConvGen;

/// <summary>
/// Updates parameters from their accumulated gradients, like a Keras optimizer. Per-parameter state (velocities, moments) is
/// keyed by the <see cref="Parameter"/> object and allocated on its first step.
/// </summary>
public interface IOptimizer
{
    /// <summary>The step size; finite and positive.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value that is not finite and positive.</exception>
    float LearningRate { get; set; }

    /// <summary>Number of <see cref="Step"/> calls so far (Keras' <c>iterations</c>); set when a checkpoint is restored.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative value.</exception>
    long Iterations { get; set; }

    /// <summary>
    /// The optimizer's state for <paramref name="parameter"/> as named live arrays of the parameter's length (Adam: <c>m</c>
    /// and <c>v</c>; SGD: <c>velocity</c> when momentum is on, else none), created as zeros if it has none yet. Checkpoints save
    /// and restore it (<see cref="Model.SaveCheckpoint"/>).
    /// </summary>
    IReadOnlyList<(string Name, float[] Values)> State(Parameter parameter);

    /// <summary>
    /// Applies one update to every parameter in <paramref name="parameters"/> from its <see cref="Parameter.Gradient"/>.
    /// The gradients are left as they are: zero them before accumulating the next batch.
    /// </summary>
    void Step(IReadOnlyList<Parameter> parameters);

    /// <summary>Forgets all per-parameter state and sets <see cref="Iterations"/> to zero.</summary>
    void Reset();
}

/// <summary>Argument checks shared by the optimizers.</summary>
internal static class OptimizerChecks
{
    public static float LearningRate(float value, string paramName)
    {
        if (!float.IsFinite(value) || value <= 0f)
            throw new ArgumentOutOfRangeException(paramName, value, "The learning rate must be finite and greater than 0.");
        return value;
    }

    public static long Iterations(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(IOptimizer.Iterations));
        return value;
    }

    /// <summary>Fails unless <paramref name="value"/> is in <c>[0, 1]</c>, or <c>[0, 1)</c> when <paramref name="excludeOne"/>.</summary>
    public static float UnitInterval(float value, bool excludeOne, string paramName)
    {
        bool ok = value >= 0f && (excludeOne ? value < 1f : value <= 1f);
        if (!ok)
            throw new ArgumentOutOfRangeException(paramName, value, $"{paramName} must be in [0, 1{(excludeOne ? ")" : "]")}.");
        return value;
    }

    public static void Parameters(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        for (int i = 0; i < parameters.Count; i++)
        {
            if (parameters[i] is null)
                throw new ArgumentException($"Parameter {i} is null.", nameof(parameters));
        }
    }
}
