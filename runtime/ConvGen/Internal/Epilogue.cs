using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace ConvGen.Internal;

/// <summary>
/// What a generated forward kernel does to each sum as it stores it: nothing, or the ReLU or ReLU6 of an activation layer folded
/// into the layer with a BatchNormalization (inference), which then costs no pass of its own over the output. A struct type
/// argument, so the JIT compiles each kernel once per epilogue and the identity costs nothing.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IEpilogue
{
    /// <summary>The vector as stored.</summary>
    static abstract V Apply<V>(V value) where V : struct;

    /// <summary>The value as stored.</summary>
    static abstract float Apply(float value);
}

/// <summary>Stores each sum as it is.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct NoEpilogue : IEpilogue
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Apply<V>(V value) where V : struct => value;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float value) => value;
}

/// <summary><c>max(x, 0)</c>, as the <see cref="ReLU"/> layer computes it (a NaN stays NaN).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct ReluEpilogue : IEpilogue
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Apply<V>(V value) where V : struct => Simd.Relu(value);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float value) => MathF.Max(value, 0f);
}

/// <summary><c>min(max(x, 0), 6)</c>, as the <see cref="ReLU6"/> layer computes it (a NaN stays NaN).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct Relu6Epilogue : IEpilogue
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Apply<V>(V value) where V : struct => Simd.Min(Simd.Relu(value), Simd.Broadcast<V>(6f));

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float value) => MathF.Min(MathF.Max(value, 0f), 6f);
}
