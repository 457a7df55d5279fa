using System;

namespace ConvGen;

/// <summary>Fills a parameter tensor with starting values, like a Keras initializer. All are deterministic for a given <see cref="Random"/>.</summary>
public interface IInitializer
{
    /// <summary>Fills <paramref name="values"/>, a tensor with <paramref name="fanIn"/> inputs and <paramref name="fanOut"/> outputs per unit.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="random"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fanIn"/> or <paramref name="fanOut"/> is less than 1.</exception>
    void Initialize(Span<float> values, int fanIn, int fanOut, Random random);
}

/// <summary>Argument checks shared by the initializers.</summary>
internal static class InitializerChecks
{
    public static void Arguments(int fanIn, int fanOut, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(fanIn, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(fanOut, 1);
    }

    public static float Finite(float value, string paramName)
    {
        if (!float.IsFinite(value))
            throw new ArgumentOutOfRangeException(paramName, value, $"{paramName} must be a finite number.");
        return value;
    }
}

/// <summary>Keras' <c>glorot_uniform</c>: uniform in <c>[-limit, limit]</c>, <c>limit = sqrt(6 / (fanIn + fanOut))</c>. The default for kernels.</summary>
public sealed class GlorotUniform : IInitializer
{
    /// <inheritdoc/>
    public void Initialize(Span<float> values, int fanIn, int fanOut, Random random)
    {
        InitializerChecks.Arguments(fanIn, fanOut, random);
        float limit = MathF.Sqrt(6f / (fanIn + fanOut));
        for (int i = 0; i < values.Length; i++) values[i] = (2f * random.NextSingle() - 1f) * limit;
    }
}

/// <summary>Keras' <c>he_normal</c>: a normal distribution truncated at two standard deviations, <c>stddev = sqrt(2 / fanIn)</c>.</summary>
public sealed class HeNormal : IInitializer
{
    /// <inheritdoc/>
    public void Initialize(Span<float> values, int fanIn, int fanOut, Random random)
    {
        InitializerChecks.Arguments(fanIn, fanOut, random);
        // Keras scales by 1/0.87962566 so the truncated distribution keeps the requested variance.
        float stddev = MathF.Sqrt(2f / fanIn) / 0.87962566103423978f;
        for (int i = 0; i < values.Length; i++) values[i] = stddev * Gaussian.Truncated(random);
    }
}

/// <summary>Keras' <c>RandomNormal</c>: normal with the given mean and standard deviation (default 0 and 0.05).</summary>
public sealed class RandomNormal : IInitializer
{
    private readonly float _mean, _stddev;

    /// <summary>Creates the initializer.</summary>
    /// <param name="mean">The mean; finite.</param>
    /// <param name="stddev">The standard deviation; finite and not negative.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is not finite, or <paramref name="stddev"/> is negative.</exception>
    public RandomNormal(float mean = 0f, float stddev = 0.05f)
    {
        _mean = InitializerChecks.Finite(mean, nameof(mean));
        _stddev = InitializerChecks.Finite(stddev, nameof(stddev));
        ArgumentOutOfRangeException.ThrowIfNegative(stddev);
    }

    /// <inheritdoc/>
    public void Initialize(Span<float> values, int fanIn, int fanOut, Random random)
    {
        InitializerChecks.Arguments(fanIn, fanOut, random);
        for (int i = 0; i < values.Length; i++) values[i] = _mean + _stddev * Gaussian.Next(random);
    }
}

/// <summary>Every value set to one constant.</summary>
public sealed class Constant : IInitializer
{
    private readonly float _value;

    /// <summary>Creates the initializer.</summary>
    /// <param name="value">The value; finite.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is NaN or infinite.</exception>
    public Constant(float value) => _value = InitializerChecks.Finite(value, nameof(value));

    /// <inheritdoc/>
    public void Initialize(Span<float> values, int fanIn, int fanOut, Random random)
    {
        InitializerChecks.Arguments(fanIn, fanOut, random);
        values.Fill(_value);
    }
}

/// <summary>Every value zero. The default for biases.</summary>
public sealed class Zeros : IInitializer
{
    /// <inheritdoc/>
    public void Initialize(Span<float> values, int fanIn, int fanOut, Random random)
    {
        InitializerChecks.Arguments(fanIn, fanOut, random);
        values.Clear();
    }
}

/// <summary>Every value one.</summary>
public sealed class Ones : IInitializer
{
    /// <inheritdoc/>
    public void Initialize(Span<float> values, int fanIn, int fanOut, Random random)
    {
        InitializerChecks.Arguments(fanIn, fanOut, random);
        values.Fill(1f);
    }
}

internal static class Gaussian
{
    /// <summary>A standard normal sample (Box-Muller).</summary>
    public static float Next(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    /// <summary>A standard normal sample redrawn until it lies within two standard deviations.</summary>
    public static float Truncated(Random random)
    {
        float x;
        do x = Next(random); while (MathF.Abs(x) > 2f);
        return x;
    }
}
