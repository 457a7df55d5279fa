using System;
using System.ComponentModel;

namespace ConvGen.Internal;

/// <summary>
/// Per-thread scratch arrays for the generated kernels (a padded copy of a sample, transposed weights): each thread keeps one array
/// per slot, grown when a call needs more and never given back, so after the first calls a kernel allocates nothing, whatever the
/// garbage collector does (an <see cref="System.Buffers.ArrayPool{T}"/> may drop its arrays at a collection and allocate again).
/// A kernel uses distinct slots for arrays it holds at once; the contents are whatever the thread's last use left.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class KernelScratch
{
    /// <summary>Slots a kernel may use at once.</summary>
    public const int Slots = 2;

    [ThreadStatic] private static float[]?[]? t_arrays;

    /// <summary>This thread's array for <paramref name="slot"/>, at least <paramref name="length"/> floats long.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="slot"/> is not 0 to <see cref="Slots"/> - 1, or <paramref name="length"/> is negative.</exception>
    public static float[] Get(int slot, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if ((uint)slot >= Slots) throw new ArgumentOutOfRangeException(nameof(slot), slot, $"KernelScratch has slots 0 to {Slots - 1}.");
        var arrays = t_arrays ??= new float[]?[Slots];
        var array = arrays[slot];
        if (array is null || array.Length < length) arrays[slot] = array = new float[length];
        return array;
    }

    private static float[] s_zeros = [];

    /// <summary>
    /// <paramref name="bias"/>, or <paramref name="count"/> zeros when it is empty: a forward kernel without a bias of its own starts
    /// its sums at zeros, or at a bias its caller gives it (a BatchNormalization folded into the layer).
    /// </summary>
    public static ReadOnlySpan<float> BiasOrZeros(ReadOnlySpan<float> bias, int count)
    {
        if (!bias.IsEmpty) return bias;
        var zeros = s_zeros; // only ever replaced by a longer array of zeros, so any thread's copy is right if long enough
        if (zeros.Length < count) s_zeros = zeros = new float[count];
        return zeros;
    }
}
