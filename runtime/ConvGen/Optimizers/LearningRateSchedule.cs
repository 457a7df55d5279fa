using System;

namespace ConvGen;

/// <summary>
/// A learning rate that depends on the step (Keras' <c>LearningRateSchedule</c>): set as an optimizer's
/// <see cref="Optimizer.Schedule"/>, step <c>t</c> (counting from 0, Keras' <c>iterations</c>) trains at <see cref="At"/>(t).
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The learning rate of step <paramref name="step"/> (0 for the first).</summary>
    public abstract float At(long step);

    private protected static float Rate(float value, string name) =>
        float.IsFinite(value) && value > 0 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and greater than 0.");

    private protected static long Steps(long value, string name) =>
        value >= 1 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
}

/// <summary>
/// Keras' <c>ExponentialDecay</c>: <c>initialLearningRate · decayRate^(step / decaySteps)</c>, the exponent rounded down
/// with <c>staircase</c> (the rate falls in steps every <c>decaySteps</c>).
/// </summary>
public sealed class ExponentialDecay : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A rate is not finite and positive, or <paramref name="decaySteps"/> is less than 1.</exception>
    public ExponentialDecay(float initialLearningRate, long decaySteps, float decayRate, bool staircase = false)
    {
        InitialLearningRate = Rate(initialLearningRate, nameof(initialLearningRate));
        DecaySteps = Steps(decaySteps, nameof(decaySteps));
        DecayRate = Rate(decayRate, nameof(decayRate));
        Staircase = staircase;
    }

    /// <summary>The rate at step 0.</summary>
    public float InitialLearningRate { get; }

    /// <summary>Steps over which the rate is multiplied by <see cref="DecayRate"/>.</summary>
    public long DecaySteps { get; }

    /// <summary>The factor per <see cref="DecaySteps"/> steps.</summary>
    public float DecayRate { get; }

    /// <summary>Whether the exponent is rounded down (a step function).</summary>
    public bool Staircase { get; }

    /// <inheritdoc/>
    public override float At(long step)
    {
        double p = (double)Math.Max(step, 0) / DecaySteps;
        if (Staircase) p = Math.Floor(p);
        return (float)(InitialLearningRate * Math.Pow(DecayRate, p));
    }

    /// <inheritdoc/>
    public override string ToString() => $"ExponentialDecay({InitialLearningRate}, decaySteps: {DecaySteps}, decayRate: {DecayRate}{(Staircase ? ", staircase: true" : "")})";
}

/// <summary>
/// Keras' <c>PiecewiseConstantDecay</c>, the step schedule: <c>values[0]</c> while <c>step ≤ boundaries[0]</c>,
/// <c>values[1]</c> while <c>step ≤ boundaries[1]</c>, ..., and the last value after the last boundary.
/// </summary>
public sealed class PiecewiseConstantDecay : LearningRateSchedule
{
    private readonly long[] _boundaries;
    private readonly float[] _values;

    /// <summary>Creates the schedule.</summary>
    /// <exception cref="ArgumentException">The boundaries are not increasing, or there is not exactly one value more than boundaries.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A value is not finite and positive.</exception>
    public PiecewiseConstantDecay(long[] boundaries, float[] values)
    {
        ArgumentNullException.ThrowIfNull(boundaries);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != boundaries.Length + 1)
            throw new ArgumentException($"{boundaries.Length} boundaries need {boundaries.Length + 1} values (one per interval); got {values.Length}.", nameof(values));
        for (int i = 1; i < boundaries.Length; i++)
        {
            if (boundaries[i] <= boundaries[i - 1])
                throw new ArgumentException($"Boundaries must increase; boundary {i} is {boundaries[i]} after {boundaries[i - 1]}.", nameof(boundaries));
        }
        foreach (float v in values) Rate(v, nameof(values));
        (_boundaries, _values) = ((long[])boundaries.Clone(), (float[])values.Clone());
    }

    /// <inheritdoc/>
    public override float At(long step)
    {
        int i = 0;
        while (i < _boundaries.Length && step > _boundaries[i]) i++;
        return _values[i];
    }

    /// <inheritdoc/>
    public override string ToString() => $"PiecewiseConstantDecay([{string.Join(", ", _boundaries)}], [{string.Join(", ", _values)}])";
}

/// <summary>
/// Keras' <c>CosineDecay</c>, with its linear warm-up: without <c>warmupTarget</c>, the rate goes from
/// <c>initialLearningRate</c> along half a cosine to <c>alpha · initialLearningRate</c> over <c>decaySteps</c> and stays
/// there. With <c>warmupTarget</c>, it first rises linearly from <c>initialLearningRate</c> to <c>warmupTarget</c> over
/// <c>warmupSteps</c>, then decays from <c>warmupTarget</c> the same way.
/// </summary>
public sealed class CosineDecay : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A rate is not finite and positive (<paramref name="initialLearningRate"/> may be 0 with a warm-up), <paramref name="decaySteps"/> is less than 1, <paramref name="alpha"/> is outside <c>[0, 1]</c>, or <paramref name="warmupSteps"/> is negative (or 0 with a target).</exception>
    public CosineDecay(float initialLearningRate, long decaySteps, float alpha = 0f, float? warmupTarget = null, long warmupSteps = 0)
    {
        if (warmupTarget is float target)
        {
            Rate(target, nameof(warmupTarget));
            if (!(float.IsFinite(initialLearningRate) && initialLearningRate >= 0))
                throw new ArgumentOutOfRangeException(nameof(initialLearningRate), initialLearningRate, "initialLearningRate must be finite and at least 0 with a warm-up.");
            Steps(warmupSteps, nameof(warmupSteps));
        }
        else
        {
            Rate(initialLearningRate, nameof(initialLearningRate));
            ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        }
        InitialLearningRate = initialLearningRate;
        DecaySteps = Steps(decaySteps, nameof(decaySteps));
        Alpha = OptimizerChecks.UnitInterval(alpha, excludeOne: false, nameof(alpha));
        (WarmupTarget, WarmupSteps) = (warmupTarget, warmupTarget is null ? 0 : warmupSteps);
    }

    /// <summary>The rate at step 0.</summary>
    public float InitialLearningRate { get; }

    /// <summary>Steps of the cosine, after the warm-up.</summary>
    public long DecaySteps { get; }

    /// <summary>The final rate as a fraction of the rate the cosine starts from.</summary>
    public float Alpha { get; }

    /// <summary>The rate the warm-up rises to; null for no warm-up.</summary>
    public float? WarmupTarget { get; }

    /// <summary>Steps of the warm-up.</summary>
    public long WarmupSteps { get; }

    /// <inheritdoc/>
    public override float At(long step)
    {
        double t = Math.Max(step, 0);
        if (WarmupTarget is not float target) return Decay(Math.Min(t, DecaySteps), InitialLearningRate);
        t = Math.Min(t, DecaySteps + WarmupSteps);
        return t < WarmupSteps
            ? (float)((target - InitialLearningRate) * (t / WarmupSteps) + InitialLearningRate)
            : Decay(t - WarmupSteps, target);
    }

    private float Decay(double t, float from)
    {
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * t / DecaySteps));
        return (float)(from * ((1 - Alpha) * cosine + Alpha));
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"CosineDecay({InitialLearningRate}, decaySteps: {DecaySteps}, alpha: {Alpha}{(WarmupTarget is float w ? $", warmupTarget: {w}, warmupSteps: {WarmupSteps}" : "")})";
}
