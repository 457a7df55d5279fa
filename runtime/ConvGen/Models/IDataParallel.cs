using System;

namespace ConvGen;

/// <summary>
/// A group of processes that train one model data-parallel, as <see cref="Model.DataParallel"/> uses it: every process (rank)
/// holds the whole model, trains on its own shard of every global batch, and the gradients are summed across the group before
/// the optimizer step, so every rank keeps the same weights. ConvGen.Mpi's <c>MpiCommunicator</c> implements it on MPI.
/// </summary>
/// <remarks>
/// Every member is collective unless said otherwise: all ranks call it, in the same order, with the same sizes. The model calls
/// them only from the thread that runs <c>TrainStep</c>, <c>Fit</c> or <c>Evaluate</c>.
/// </remarks>
public interface IDataParallel
{
    /// <summary>This process's index in the group, in <c>[0, Size)</c> (not collective).</summary>
    int Rank { get; }

    /// <summary>The number of processes in the group, at least 1 (not collective).</summary>
    int Size { get; }

    /// <summary>
    /// Gradients are summed in buckets of at least this many floats, each started as soon as the backward pass has finished it, so
    /// communication overlaps the rest of the backward pass (not collective).
    /// </summary>
    int BucketSize { get; }

    /// <summary>Replaces <paramref name="values"/> with their sum over all ranks (blocking).</summary>
    void AllReduceSum(Span<double> values);

    /// <summary>Replaces <paramref name="values"/> with their sum over all ranks (blocking).</summary>
    void AllReduceSum(Span<float> values);

    /// <summary>
    /// Starts replacing <paramref name="values"/> with their sum over all ranks and may return before that is done.
    /// <paramref name="values"/> is always pinned memory (a slice of <see cref="Model.GradientBuffer"/> or of a pinned array the
    /// model owns), so its address stays valid until <see cref="WaitAll"/> returns; it is not read or written by the model until then.
    /// </summary>
    void StartAllReduceSum(Span<float> values);

    /// <summary>Lets started sums make progress without waiting for them (called between backward steps; not collective).</summary>
    void Progress();

    /// <summary>Waits until every sum started by <see cref="StartAllReduceSum"/> is complete.</summary>
    void WaitAll();
}
