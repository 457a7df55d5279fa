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

    /// <summary>Number of <see cref="Step"/> calls so far (Keras' <c>iterations</c>).</summary>
    long Iterations { get; }

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
