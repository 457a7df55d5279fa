using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ConvGen;

/// <summary>Scratch arrays that grow only when too small, so a call allocates nothing once it has seen its largest size.</summary>
internal static class Buffers
{
    /// <summary>An <c>int</c> buffer of at least <paramref name="length"/> elements.</summary>
    public static int[] Ensure(ref int[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new int[length];
        return buffer;
    }

    /// <summary>A <c>float</c> buffer of at least <paramref name="length"/> elements.</summary>
    public static float[] Ensure(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer;
    }

    /// <summary>
    /// A pinned <c>float</c> buffer with at least <paramref name="length"/> elements from its 64-byte boundary on
    /// (<see cref="Aligned64"/>), allocated (zeroed) when missing or too small.
    /// </summary>
    public static float[] EnsureAligned(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length + 16) buffer = GC.AllocateArray<float>(length + 16, pinned: true);
        return buffer;
    }

    /// <summary>
    /// The first element of a pinned buffer (<see cref="EnsureAligned"/>) at a 64-byte boundary: vectors stored from there at
    /// multiples of 16 floats never straddle two cache lines (a 512-bit access that does costs two).
    /// </summary>
    public static unsafe ref float Aligned64(float[] pinned)
    {
        ref float start = ref MemoryMarshal.GetArrayDataReference(pinned);
        int misalignment = (int)((nuint)Unsafe.AsPointer(ref start) & 63) / sizeof(float);
        return ref Unsafe.Add(ref start, (16 - misalignment) & 15);
    }
}
