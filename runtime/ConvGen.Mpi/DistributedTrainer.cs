using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using ConvGen.Serialization;

namespace ConvGen.Mpi;

/// <summary>Where the ranks' starting weights come from.</summary>
public enum InitialWeights
{
    /// <summary>Rank 0's weights and state are sent to every rank (the default: each rank may have initialized its own).</summary>
    Broadcast,

    /// <summary>Every rank already holds the same weights (e.g. all loaded one checkpoint); their checksums are compared and a rank that differs is refused.</summary>
    Verify,
}

/// <summary>
/// Data-parallel training of one model over an MPI job: every rank holds the whole model and trains on its shard of every global
/// batch; the gradients are summed across the ranks in buckets that start while the backward pass goes on, and every rank takes
/// the same optimizer step, so the weights stay identical (see <see cref="Model.DataParallel"/>, which this sets).
/// </summary>
/// <remarks>
/// <para>
/// Construction is collective and checks that every rank built the same model (parameter and state layout) and, with
/// <see cref="InitialWeights.Verify"/>, holds the same weights; a rank that differs is refused on every rank with an
/// <see cref="MpiException"/> naming it. With <see cref="InitialWeights.Broadcast"/> rank 0's weights are sent to all.
/// </para>
/// <para>
/// Every method is collective: all ranks call it with the same arguments (the whole data and the global batch size; the
/// sharding is done here). A failure on one rank other than a non-finite loss (which every rank sees at the same step) stops
/// every rank with a message naming the rank, because the others could only wait for it.
/// </para>
/// </remarks>
public sealed class DistributedTrainer
{
    /// <summary>Sets up data-parallel training of <paramref name="model"/> (built and compiled) over <paramref name="communicator"/>.</summary>
    /// <exception cref="MpiException">A rank built a different model, or (with <see cref="InitialWeights.Verify"/>) holds different weights.</exception>
    /// <exception cref="InvalidOperationException">The model is not built or not compiled.</exception>
    public DistributedTrainer(Model model, MpiCommunicator communicator, InitialWeights initialWeights = InitialWeights.Broadcast)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(communicator);
        if (!model.IsBuilt) throw new InvalidOperationException($"The {model.GetType().Name} is not built: build it on every rank before creating a DistributedTrainer.");
        if (model.Optimizer is null) throw new InvalidOperationException($"The {model.GetType().Name} is not compiled: call Compile(optimizer, loss) on every rank first.");
        (Model, Communicator) = (model, communicator);
        Agree(initialWeights);
        if (initialWeights == InitialWeights.Broadcast)
        {
            communicator.Broadcast(model.ParameterBuffer, root: 0);
            if (model.StateCount > 0) communicator.Broadcast(model.StateBuffer, root: 0);
        }
        model.DataParallel = communicator;
    }

    /// <summary>The model trained.</summary>
    public Model Model { get; }

    /// <summary>The group it is trained in.</summary>
    public MpiCommunicator Communicator { get; }

    /// <summary>Whether this is rank 0, which reports and writes checkpoints.</summary>
    public bool IsRoot => Communicator.Rank == 0;

    /// <summary>
    /// <see cref="Model.Fit"/> over the group: every rank passes all the data and the global <paramref name="batchSize"/>; the
    /// epochs' shuffles are the same on every rank (the seed in <paramref name="options"/> must be too), each rank trains on its
    /// shard of every batch, rank 0 prints the global figures, and the non-trainable state is averaged after every epoch.
    /// </summary>
    public IReadOnlyList<EpochResult> Fit(Tensor images, int[] labels, int epochs, int batchSize, FitOptions? options = null)
    {
        try { return Model.Fit(images, labels, epochs, batchSize, options); }
        catch (Exception e) when (StopsJob(nameof(Fit), e)) { throw; }
    }

    /// <summary>One step on the global batch <paramref name="images"/> (the same on every rank; each trains on its shard). Returns the global batch's loss.</summary>
    public float TrainStep(Tensor images, ReadOnlySpan<int> labels, out int correct)
    {
        try { return Model.TrainStep(images, labels, out correct); }
        catch (Exception e) when (StopsJob(nameof(TrainStep), e)) { throw; }
    }

    /// <summary>Loss and accuracy over all the samples, each rank evaluating its shard.</summary>
    public (float Loss, float Accuracy) Evaluate(Tensor images, int[] labels, int batchSize = 500)
    {
        try { return Model.Evaluate(images, labels, batchSize); }
        catch (Exception e) when (StopsJob(nameof(Evaluate), e)) { throw; }
    }

    /// <summary>
    /// Rank 0 writes a checkpoint (<see cref="Model.SaveCheckpoint"/>: weights, state, optimizer state, step count), atomically;
    /// every rank returns once it is on disk.
    /// </summary>
    public void SaveCheckpoint(string path)
    {
        try
        {
            if (IsRoot) Model.SaveCheckpoint(path);
            Communicator.Barrier();
        }
        catch (Exception e) when (StopsJob(nameof(SaveCheckpoint), e)) { throw; }
    }

    /// <summary>
    /// Every rank loads the checkpoint at <paramref name="path"/> (a file all of them can read), then the ranks compare weight
    /// checksums, so a rank that read another file is refused.
    /// </summary>
    /// <exception cref="MpiException">A rank's weights differ from rank 0's after loading.</exception>
    public void LoadCheckpoint(string path)
    {
        try { Model.LoadCheckpoint(path); }
        catch (Exception e) when (StopsJob(nameof(LoadCheckpoint), e)) { throw; }
        Agree(InitialWeights.Verify);
    }

    /// <summary>CRC-32 of this rank's parameters and state, as the ranks compare them.</summary>
    public uint WeightsChecksum()
    {
        var crc = new System.IO.Hashing.Crc32();
        crc.Append(MemoryMarshal.AsBytes(Model.ParameterBuffer));
        crc.Append(MemoryMarshal.AsBytes(Model.StateBuffer));
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>Compares every rank's model layout (and weights, for <see cref="InitialWeights.Verify"/>) with rank 0's.</summary>
    private void Agree(InitialWeights initialWeights)
    {
        var layout = new StringBuilder();
        foreach (var (name, tensor) in Model.NamedWeights()) layout.Append(name).Append(tensor.Shape).Append(';');
        Span<long> mine = [Model.ParameterCount, Model.StateCount, System.IO.Hashing.Crc32.HashToUInt32(Encoding.UTF8.GetBytes(layout.ToString())), WeightsChecksum()];
        var all = new long[mine.Length * Communicator.Size];
        Communicator.AllGather(mine, all);
        var problems = new StringBuilder();
        for (int r = 1; r < Communicator.Size; r++)
        {
            var theirs = all.AsSpan(r * mine.Length, mine.Length);
            var root = all.AsSpan(0, mine.Length);
            if (theirs[0] != root[0] || theirs[1] != root[1] || theirs[2] != root[2])
                problems.Append($" Rank {r} built a different model from rank 0's: {theirs[0]:N0} parameters and {theirs[1]:N0} state values, layout checksum 0x{theirs[2]:X8}, against rank 0's {root[0]:N0}, {root[1]:N0} and 0x{root[2]:X8}.");
            else if (initialWeights == InitialWeights.Verify && theirs[3] != root[3])
                problems.Append($" Rank {r}'s weights differ from rank 0's (CRC-32 0x{theirs[3]:X8} against 0x{root[3]:X8}).");
        }
        if (problems.Length > 0)
            throw new MpiException($"The ranks cannot train together:{problems} Every rank must build the same model (same layers and shapes), and with InitialWeights.Verify load the same weights; InitialWeights.Broadcast sends rank 0's weights to all.");
    }

    /// <summary>
    /// The exception filter of every collective method: a non-finite loss passes (every rank throws it at the same step, after
    /// the gradient sums); any other failure may be this rank's alone, so it stops the job, naming the rank, and never returns.
    /// </summary>
    private bool StopsJob(string operation, Exception e)
    {
        if (e is NonFiniteLossException) return false;
        Communicator.Abort($"rank {Communicator.Rank} of {Communicator.Size} failed in {operation}: {e}", 1);
        return true;
    }
}
