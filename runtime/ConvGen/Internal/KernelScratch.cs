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
}
