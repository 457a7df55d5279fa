using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading;

namespace ConvGen.Internal;

/// <summary>
/// Vector operations generic over the vector type, so a generated kernel is written once and the JIT compiles it for the width
/// <see cref="Lanes"/> picks: <c>V</c> is <see cref="Vector128{T}"/>, <see cref="Vector256{T}"/> or <see cref="Vector512{T}"/> of
/// <see cref="float"/>. Every method is inlined and its <c>typeof(V)</c> tests are constants to the JIT, so
/// <c>Fma(a, b, c)</c> becomes one instruction at each width (measured equal to the direct <c>Vector512</c> code).
/// </summary>
/// <remarks>
/// The conversions are <c>(V)(object)value</c>: a box and unbox of one type, which the JIT removes while importing, so each method
/// stays a few IL instructions and an unrolled kernel with hundreds of calls stays within the JIT's inlining budget (a call that
/// exceeds it is not inlined, and costs more than the instruction it wraps). The generated kernels are compiled fully optimized
/// from the first call (<c>AggressiveOptimization</c>), so no unoptimized code ever boxes.
/// </remarks>
/// <remarks>
/// Generated code calls <c>Load&lt;V&gt;(ref p, offset)</c>, <c>Broadcast&lt;V&gt;(x)</c>, <c>Fma(a, b, acc)</c>,
/// <c>Store(v, ref p, offset)</c> (with <c>using static ConvGen.Internal.Simd;</c>) inside methods generic over <c>V</c>, and
/// picks the instantiation with <c>switch (Simd.Lanes)</c> once per call.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Simd
{
    private static readonly int s_hardwareLanes =
        Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 4;

    private static int s_forcedLanes;

    /// <summary>
    /// Floats per vector in the generated kernels: 16 where 512-bit vectors are hardware-accelerated (AVX-512; <c>DOTNET_PreferredVectorBitWidth=256</c>
    /// turns them off, as .NET does itself on CPUs that slow down at 512 bits), else 8 with 256-bit vectors (AVX2), else 4. Setting it
    /// (4, 8 or 16; 0 restores the hardware's choice) forces a width for every kernel in the process, for tests and benchmarks:
    /// 16 works everywhere, in software where the hardware lacks it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value other than 0, 4, 8 or 16.</exception>
    public static int Lanes
    {
        get
        {
            int forced = Volatile.Read(ref s_forcedLanes);
            return forced != 0 ? forced : s_hardwareLanes;
        }
        set
        {
            if (value is not (0 or 4 or 8 or 16))
                throw new ArgumentOutOfRangeException(nameof(value), value, "Simd.Lanes must be 4, 8 or 16 (or 0 for the hardware's choice).");
            Volatile.Write(ref s_forcedLanes, value);
        }
    }

    /// <summary>The width the hardware and runtime settings pick when <see cref="Lanes"/> is not forced.</summary>
    public static int HardwareLanes => s_hardwareLanes;

    /// <summary>
    /// Whether a kernel at <typeparamref name="V"/>'s width picks the register tiles for 32 vector registers: at 16 floats a
    /// vector always (AVX-512; <c>Vector512</c> in software takes the same tiles), at 4 or 8 floats where the CPU has 32 at every
    /// width (AVX-512's EVEX encoding, or Arm64), so those hold as many accumulators as at 16; with 16 registers (AVX2) the
    /// narrow tiles. A constant to the JIT. The kernels ask this one question, so the rule is stated once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Registers32<V>() where V : struct
        => Count<V>() >= 16 || System.Runtime.Intrinsics.X86.Avx512F.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported;

    /// <summary>Floats in a <typeparamref name="V"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count<V>() where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return 16;
        if (typeof(V) == typeof(Vector256<float>)) return 8;
        if (typeof(V) == typeof(Vector128<float>)) return 4;
        throw Unsupported<V>();
    }

    /// <summary>All lanes zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Zero<V>() where V : struct => default;

    /// <summary>Every lane <paramref name="value"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Broadcast<V>(float value) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return (V)(object)(Vector512.Create(value));
        if (typeof(V) == typeof(Vector256<float>)) return (V)(object)(Vector256.Create(value));
        if (typeof(V) == typeof(Vector128<float>)) return (V)(object)(Vector128.Create(value));
        throw Unsupported<V>();
    }

    /// <summary>The vector at <c>source + offset</c> (unchecked; <paramref name="offset"/> is not negative).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Load<V>(ref float source, int offset) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return (V)(object)(Vector512.LoadUnsafe(ref source, (nuint)(uint)offset));
        if (typeof(V) == typeof(Vector256<float>)) return (V)(object)(Vector256.LoadUnsafe(ref source, (nuint)(uint)offset));
        if (typeof(V) == typeof(Vector128<float>)) return (V)(object)(Vector128.LoadUnsafe(ref source, (nuint)(uint)offset));
        throw Unsupported<V>();
    }

    /// <summary>The vector at <paramref name="source"/> (unchecked).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Load<V>(ref float source) where V : struct => Load<V>(ref source, 0);

    /// <summary>Stores <paramref name="value"/> at <c>destination + offset</c> (unchecked; <paramref name="offset"/> is not negative).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<V>(V value, ref float destination, int offset) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) ((Vector512<float>)(object)value).StoreUnsafe(ref destination, (nuint)(uint)offset);
        else if (typeof(V) == typeof(Vector256<float>)) ((Vector256<float>)(object)value).StoreUnsafe(ref destination, (nuint)(uint)offset);
        else if (typeof(V) == typeof(Vector128<float>)) ((Vector128<float>)(object)value).StoreUnsafe(ref destination, (nuint)(uint)offset);
        else throw Unsupported<V>();
    }

    /// <summary>Stores <paramref name="value"/> at <paramref name="destination"/> (unchecked).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<V>(V value, ref float destination) where V : struct => Store(value, ref destination, 0);

    /// <summary><c>a * b + c</c> with one rounding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Fma<V>(V a, V b, V c) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>))
            return (V)(object)(Vector512.FusedMultiplyAdd((Vector512<float>)(object)(a), (Vector512<float>)(object)(b), (Vector512<float>)(object)(c)));
        if (typeof(V) == typeof(Vector256<float>))
            return (V)(object)(Vector256.FusedMultiplyAdd((Vector256<float>)(object)(a), (Vector256<float>)(object)(b), (Vector256<float>)(object)(c)));
        if (typeof(V) == typeof(Vector128<float>))
            return (V)(object)(Vector128.FusedMultiplyAdd((Vector128<float>)(object)(a), (Vector128<float>)(object)(b), (Vector128<float>)(object)(c)));
        throw Unsupported<V>();
    }

    /// <summary><c>a + b</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Add<V>(V a, V b) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return (V)(object)((Vector512<float>)(object)(a) + (Vector512<float>)(object)(b));
        if (typeof(V) == typeof(Vector256<float>)) return (V)(object)((Vector256<float>)(object)(a) + (Vector256<float>)(object)(b));
        if (typeof(V) == typeof(Vector128<float>)) return (V)(object)((Vector128<float>)(object)(a) + (Vector128<float>)(object)(b));
        throw Unsupported<V>();
    }

    /// <summary><c>a - b</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Subtract<V>(V a, V b) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return (V)(object)((Vector512<float>)(object)(a) - (Vector512<float>)(object)(b));
        if (typeof(V) == typeof(Vector256<float>)) return (V)(object)((Vector256<float>)(object)(a) - (Vector256<float>)(object)(b));
        if (typeof(V) == typeof(Vector128<float>)) return (V)(object)((Vector128<float>)(object)(a) - (Vector128<float>)(object)(b));
        throw Unsupported<V>();
    }

    /// <summary>The lane-wise maximum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Max<V>(V a, V b) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return (V)(object)(Vector512.Max((Vector512<float>)(object)(a), (Vector512<float>)(object)(b)));
        if (typeof(V) == typeof(Vector256<float>)) return (V)(object)(Vector256.Max((Vector256<float>)(object)(a), (Vector256<float>)(object)(b)));
        if (typeof(V) == typeof(Vector128<float>)) return (V)(object)(Vector128.Max((Vector128<float>)(object)(a), (Vector128<float>)(object)(b)));
        throw Unsupported<V>();
    }

    /// <summary>The lane-wise minimum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Min<V>(V a, V b) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return (V)(object)(Vector512.Min((Vector512<float>)(object)(a), (Vector512<float>)(object)(b)));
        if (typeof(V) == typeof(Vector256<float>)) return (V)(object)(Vector256.Min((Vector256<float>)(object)(a), (Vector256<float>)(object)(b)));
        if (typeof(V) == typeof(Vector128<float>)) return (V)(object)(Vector128.Min((Vector128<float>)(object)(a), (Vector128<float>)(object)(b)));
        throw Unsupported<V>();
    }

    /// <summary><c>max(a, 0)</c> lane-wise: the ReLU.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Relu<V>(V a) where V : struct => Max(a, default(V));

    /// <summary>All bits set in the lanes where <c>a &gt; b</c>, clear elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V GreaterThan<V>(V a, V b) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return (V)(object)(Vector512.GreaterThan((Vector512<float>)(object)(a), (Vector512<float>)(object)(b)));
        if (typeof(V) == typeof(Vector256<float>)) return (V)(object)(Vector256.GreaterThan((Vector256<float>)(object)(a), (Vector256<float>)(object)(b)));
        if (typeof(V) == typeof(Vector128<float>)) return (V)(object)(Vector128.GreaterThan((Vector128<float>)(object)(a), (Vector128<float>)(object)(b)));
        throw Unsupported<V>();
    }

    /// <summary>All bits set in the lanes where <c>a == b</c>, clear elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V EqualTo<V>(V a, V b) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return (V)(object)(Vector512.Equals((Vector512<float>)(object)(a), (Vector512<float>)(object)(b)));
        if (typeof(V) == typeof(Vector256<float>)) return (V)(object)(Vector256.Equals((Vector256<float>)(object)(a), (Vector256<float>)(object)(b)));
        if (typeof(V) == typeof(Vector128<float>)) return (V)(object)(Vector128.Equals((Vector128<float>)(object)(a), (Vector128<float>)(object)(b)));
        throw Unsupported<V>();
    }

    /// <summary>A mask with every bit set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V AllBitsSet<V>() where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return (V)(object)(Vector512<float>.AllBitsSet);
        if (typeof(V) == typeof(Vector256<float>)) return (V)(object)(Vector256<float>.AllBitsSet);
        if (typeof(V) == typeof(Vector128<float>)) return (V)(object)(Vector128<float>.AllBitsSet);
        throw Unsupported<V>();
    }

    /// <summary>The bits of <paramref name="a"/> and <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V And<V>(V a, V b) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return (V)(object)((Vector512<float>)(object)(a) & (Vector512<float>)(object)(b));
        if (typeof(V) == typeof(Vector256<float>)) return (V)(object)((Vector256<float>)(object)(a) & (Vector256<float>)(object)(b));
        if (typeof(V) == typeof(Vector128<float>)) return (V)(object)((Vector128<float>)(object)(a) & (Vector128<float>)(object)(b));
        throw Unsupported<V>();
    }

    /// <summary>The bits of <paramref name="a"/> that are clear in <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V AndNot<V>(V a, V b) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return (V)(object)(Vector512.AndNot((Vector512<float>)(object)(a), (Vector512<float>)(object)(b)));
        if (typeof(V) == typeof(Vector256<float>)) return (V)(object)(Vector256.AndNot((Vector256<float>)(object)(a), (Vector256<float>)(object)(b)));
        if (typeof(V) == typeof(Vector128<float>)) return (V)(object)(Vector128.AndNot((Vector128<float>)(object)(a), (Vector128<float>)(object)(b)));
        throw Unsupported<V>();
    }

    /// <summary>Lanes of <paramref name="a"/> where <paramref name="mask"/> is set, of <paramref name="b"/> elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Select<V>(V mask, V a, V b) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return (V)(object)(Vector512.ConditionalSelect((Vector512<float>)(object)(mask), (Vector512<float>)(object)(a), (Vector512<float>)(object)(b)));
        if (typeof(V) == typeof(Vector256<float>)) return (V)(object)(Vector256.ConditionalSelect((Vector256<float>)(object)(mask), (Vector256<float>)(object)(a), (Vector256<float>)(object)(b)));
        if (typeof(V) == typeof(Vector128<float>)) return (V)(object)(Vector128.ConditionalSelect((Vector128<float>)(object)(mask), (Vector128<float>)(object)(a), (Vector128<float>)(object)(b)));
        throw Unsupported<V>();
    }

    /// <summary>The sum of the lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum<V>(V a) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>)) return Vector512.Sum((Vector512<float>)(object)(a));
        if (typeof(V) == typeof(Vector256<float>)) return Vector256.Sum((Vector256<float>)(object)(a));
        if (typeof(V) == typeof(Vector128<float>)) return Vector128.Sum((Vector128<float>)(object)(a));
        throw Unsupported<V>();
    }

    /// <summary>A mask selecting the last <paramref name="remaining"/> lanes (0 &lt; remaining &lt;= lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V TailMask<V>(int remaining) where V : struct
    {
        if (typeof(V) == typeof(Vector512<float>))
            return (V)(object)Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(16 - remaining)).AsSingle();
        if (typeof(V) == typeof(Vector256<float>))
            return (V)(object)Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create(8 - remaining)).AsSingle();
        if (typeof(V) == typeof(Vector128<float>))
            return (V)(object)Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create(4 - remaining)).AsSingle();
        throw Unsupported<V>();
    }

    private static NotSupportedException Unsupported<V>() =>
        new($"{typeof(V)} is not a vector type of ConvGen's kernels; use Vector128<float>, Vector256<float> or Vector512<float>.");
}
