using System;
using System.Threading.Tasks;

namespace ConvGen;

/// <summary>Buffer reuse and batch splitting shared by the built-in layers.</summary>
internal static class LayerBuffers
{
    /// <summary>Below this many elements of work a call runs on the calling thread: splitting would cost more than it saves.</summary>
    private const long MinParallelWork = 1 << 15;

    /// <summary>A tensor of <paramref name="shape"/> over <paramref name="buffer"/>, growing the buffer only when it is too small and reusing the cached view when the shape repeats.</summary>
    public static Tensor View(ref float[] buffer, ref Tensor? view, Shape shape)
    {
        if (view is not null && view.Shape == shape && ReferenceEquals(view.Storage.Buffer, buffer)) return view;
        if (buffer.Length < shape.Size) buffer = new float[shape.Size];
        return view = new Tensor(shape, buffer, 0);
    }

    /// <summary>An <c>int</c> buffer of at least <paramref name="length"/> elements, grown only when too small.</summary>
    public static int[] Ensure(ref int[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new int[length];
        return buffer;
    }

    /// <summary>A <c>float</c> buffer of at least <paramref name="length"/> elements, grown only when too small.</summary>
    public static float[] Ensure(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer;
    }

    /// <summary>
    /// Calls <paramref name="body"/> with row ranges <c>[start, end)</c> covering <c>[0, rows)</c>: one range when the work is small,
    /// otherwise up to <see cref="Parallelism.Threads"/> fixed chunks from <see cref="Parallelism.ChunkRange"/>, run in parallel.
    /// The body must write only the outputs of its own rows.
    /// </summary>
    public static void ForChunks(int rows, long workPerRow, Action<int, int> body)
    {
        if (rows <= 0) return;
        int chunks = Math.Min(Parallelism.Threads, rows);
        if (chunks <= 1 || (long)rows * Math.Max(workPerRow, 1) < MinParallelWork)
        {
            body(0, rows);
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, c =>
        {
            var (s, e) = Parallelism.ChunkRange(rows, chunks, c);
            if (e > s) body(s, e);
        });
    }

    /// <summary>Fails unless <paramref name="outputGradient"/> has the shape of the last forward output, as <c>Backward</c> requires.</summary>
    public static void CheckOutputGradient(Tensor outputGradient, Tensor? lastOutput, string layerName)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        if (lastOutput is null)
            throw new InvalidOperationException($"{layerName}.Backward was called before Forward.");
        if (outputGradient.Shape != lastOutput.Shape)
            throw new ShapeMismatchException(nameof(outputGradient), lastOutput.Shape.ToString(), outputGradient.Shape.ToString(),
                $"{layerName}.Backward needs the shape of the last forward output");
    }
}
