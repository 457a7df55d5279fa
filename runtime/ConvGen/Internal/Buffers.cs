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
}
