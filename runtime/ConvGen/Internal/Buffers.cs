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
        if (buffer is null || buffer.Length < length + Slack) buffer = GC.AllocateArray<float>(length + Slack, pinned: true);
        return buffer;
    }

    /// <summary>The floats an aligned buffer has beyond its length: at most 15 before its first 64-byte boundary.</summary>
    public const int Slack = 15;

    /// <summary>
    /// The first element of a pinned buffer (<see cref="EnsureAligned"/>) at a 64-byte boundary: vectors stored from there at
    /// multiples of 16 floats never straddle two cache lines (a 512-bit access that does costs two).
    /// </summary>
    public static ref float Aligned64(float[] pinned) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(pinned), Start64(pinned));

    /// <summary>
    /// A pinned, zeroed <c>float</c> array with <paramref name="length"/> elements from its 64-byte boundary on
    /// (<see cref="Start64"/>): for buffers that live as long as a model (activations, folded weights). A plain array starts
    /// wherever the heap puts it, 16 bytes past an 8-byte boundary, so where its 64-byte lines fall changes from process to
    /// process, and with it whether every 512-bit access straddles two lines.
    /// </summary>
    public static float[] NewAligned(int length) => length == 0 ? [] : GC.AllocateArray<float>(length + Slack, pinned: true);

    /// <summary>Elements <c>[start, start + length)</c> of a pinned array counted from its first 64-byte boundary (<see cref="Start64"/>).</summary>
    public static Span<float> AlignedSpan(float[] pinned, int start, int length) => pinned.AsSpan(Start64(pinned) + start, length);

    /// <summary>The index of the first element of a pinned array at a 64-byte boundary (0 for an empty one).</summary>
    public static unsafe int Start64(float[] pinned)
    {
        if (pinned.Length == 0) return 0;
        int misalignment = (int)((nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned)) & 63) / sizeof(float);
        return (16 - misalignment) & 15;
    }
}
