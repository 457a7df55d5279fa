using System;
using ConvGen;
using ConvGen.Data;

/// <summary>
/// How the sample's work is shared: here, one process does it all. samples/MnistDistributed compiles the same Program.cs with
/// its own Job.cs, in which the same calls run the training over MPI ranks; nothing else differs.
/// </summary>
internal static class Job
{
    /// <summary>Sets the thread count, when one is given.</summary>
    public static void Start(int? threads)
    {
        if (threads is int t) Parallelism.Threads = t;
    }

    /// <summary>Whether this process prints and writes files (every rank trains; one reports).</summary>
    public static bool Reports => true;

    /// <summary>Who trains, for the first line.</summary>
    public static string Describe => $"{Parallelism.Threads} threads";

    /// <summary>The MNIST directory, fetched if missing.</summary>
    public static string EnsureData(string? directory) => Mnist.EnsureDownloaded(directory);

    /// <summary>Called once the model is compiled, before training.</summary>
    public static void Join(Model model) { }

    /// <summary>Called at the very end.</summary>
    public static void End() { }
}
