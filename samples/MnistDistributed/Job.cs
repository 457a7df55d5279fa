using System;
using System.IO;
using ConvGen;
using ConvGen.Data;
using ConvGen.Mpi;

/// <summary>
/// samples/Mnist's work shared over the MPI job's ranks: every rank builds the model and draws the same global batches (same
/// seed); the DistributedTrainer sends rank 0's weights to all, each rank trains on its shard of every batch, and the gradients
/// are summed before each step. Rank 0 prints and writes the weights and report; the others stay quiet.
/// </summary>
internal static class Job
{
    private static MpiCommunicator? s_mpi;

    /// <summary>Initializes MPI; by default each rank gets this machine's processors divided by the ranks on it.</summary>
    public static void Start(int? threads)
    {
        s_mpi = MpiCommunicator.Initialize(threads);
        if (s_mpi.Rank != 0) Console.SetOut(TextWriter.Null);
    }

    public static bool Reports => Mpi.Rank == 0;

    public static string Describe => $"{Mpi.Size} MPI ranks of {Parallelism.Threads} thread{(Parallelism.Threads == 1 ? "" : "s")} (global batch split over the ranks)";

    /// <summary>Rank 0 fetches MNIST if needed while the others wait, so no two processes download it at once.</summary>
    public static string EnsureData(string? directory)
    {
        if (Mpi.Rank == 0) Mnist.EnsureDownloaded(directory);
        Mpi.Barrier();
        return Mnist.EnsureDownloaded(directory);
    }

    public static void Join(Model model)
    {
        _ = new DistributedTrainer(model, Mpi);
        Mpi.WaitSeconds = 0;
    }

    /// <summary>Reports the time rank 0 spent waiting for the other ranks' sums (not hidden behind its own computation), then finalizes MPI.</summary>
    public static void End()
    {
        Console.WriteLine($"communication: rank 0 waited {Mpi.WaitSeconds:F2} s for sums across the ranks (gradients and evaluation), buckets of {Mpi.BucketSize:N0} floats");
        Mpi.Dispose();
    }

    private static MpiCommunicator Mpi => s_mpi ?? throw new InvalidOperationException("Job.Start was not called.");
}
