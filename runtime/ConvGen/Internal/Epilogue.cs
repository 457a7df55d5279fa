using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace ConvGen.Internal;

/// <summary>
/// What a generated forward kernel does to each sum as it stores it: nothing, the ReLU or ReLU6 of an activation layer folded
/// into the layer with a BatchNormalization, or the residual <see cref="ConvGen.Add"/> (and its activation) folded in with it (inference),
/// which then cost no pass of their own over the output. A struct type argument, so the JIT compiles each kernel once per
/// epilogue and the identity costs nothing.
/// </summary>
/// <remarks>
/// The kernel passes the residual (the other input of a folded <see cref="ConvGen.Add"/>, laid out as the output) at the same place as its
/// output, <c>residual + offset</c> where it stores at <c>output + offset</c>; the epilogues without
/// a residual do not read it (the kernel then passes its output).
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IEpilogue
{
    /// <summary>The vector as stored at <c>output + offset</c>.</summary>
    static abstract V Apply<V>(V value, ref float residual, int offset) where V : struct;

    /// <summary>The value as stored at <c>output + offset</c>.</summary>
    static abstract float Apply(float value, ref float residual, int offset);
}

/// <summary>Stores each sum as it is.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct NoEpilogue : IEpilogue
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Apply<V>(V value, ref float residual, int offset) where V : struct => value;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float value, ref float residual, int offset) => value;
}

/// <summary><c>max(x, 0)</c>, as the <see cref="ReLU"/> layer computes it (a NaN stays NaN).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct ReluEpilogue : IEpilogue
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Apply<V>(V value, ref float residual, int offset) where V : struct => Simd.Relu(value);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float value, ref float residual, int offset) => MathF.Max(value, 0f);
}

/// <summary><c>min(max(x, 0), 6)</c>, as the <see cref="ReLU6"/> layer computes it (a NaN stays NaN).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct Relu6Epilogue : IEpilogue
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Apply<V>(V value, ref float residual, int offset) where V : struct => Simd.Min(Simd.Relu(value), Simd.Broadcast<V>(6f));

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float value, ref float residual, int offset) => MathF.Min(MathF.Max(value, 0f), 6f);
}

/// <summary>
/// The residual <see cref="ConvGen.Add"/> folded into the convolution before it (inference): the other input's value at the same place
/// added to the sum, then <typeparamref name="TActivation"/>, the Add's activation. The same two roundings as the Add's own pass.
/// </summary>
/// <typeparam name="TActivation">The Add's activation: <see cref="NoEpilogue"/>, <see cref="ReluEpilogue"/> or <see cref="Relu6Epilogue"/>.</typeparam>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct ResidualEpilogue<TActivation> : IEpilogue where TActivation : struct, IEpilogue
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Apply<V>(V value, ref float residual, int offset) where V : struct
        => TActivation.Apply(Simd.Add(value, Simd.Load<V>(ref residual, offset)), ref residual, offset);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float value, ref float residual, int offset)
        => TActivation.Apply(value + Unsafe.Add(ref residual, offset), ref residual, offset);
}
