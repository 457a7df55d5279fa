using System;
using System.Threading;

namespace ConvGen;

/// <summary>How many threads layers and training use. Results are bit-identical run to run for a given thread count.</summary>
public static class Parallelism
{
    private static int s_threads = Environment.ProcessorCount;

    /// <summary>Threads a batch is split over (default: <see cref="Environment.ProcessorCount"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int Threads
    {
        get => Volatile.Read(ref s_threads);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Threads));
            Volatile.Write(ref s_threads, value);
        }
    }

    /// <summary>Rows <c>[start, end)</c> of chunk <paramref name="chunk"/> when <paramref name="count"/> rows are split into <paramref name="chunks"/> nearly equal chunks.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative, <paramref name="chunks"/> is less than 1, or <paramref name="chunk"/> is not in <c>[0, chunks)</c>.</exception>
    public static (int Start, int End) ChunkRange(int count, int chunks, int chunk)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunks, 1);
        if ((uint)chunk >= (uint)chunks)
            throw new ArgumentOutOfRangeException(nameof(chunk), chunk, $"chunk must be in [0, {chunks - 1}].");
        return ((int)((long)count * chunk / chunks), (int)((long)count * (chunk + 1) / chunks));
    }

    /// <summary>
    /// Piece <paramref name="part"/> of <paramref name="parts"/> of <c>[0, count)</c>, with every boundary a multiple of
    /// <paramref name="grain"/> (except the end), so pieces of a row stay whole vectors.
    /// </summary>
    internal static (int Start, int End) Split(int count, int parts, int part, int grain)
    {
        int units = (count + grain - 1) / grain;
        var (s, e) = ChunkRange(units, parts, part);
        return (Math.Min(count, s * grain), Math.Min(count, e * grain));
    }
}
