using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ConvGen.Mpi;

// All-reduce (sum, in place) of float buffers from 1 Ki to 16 Mi floats through MpiCommunicator, as the training step uses it:
// for each size, 5 warm-up calls, then the median and minimum of --reps timed calls, each started on every rank after a
// barrier. Prints the algorithm bandwidth (bytes / time) and the bus bandwidth (algorithm bandwidth x 2(P-1)/P, what each
// rank's link carries in a ring all-reduce), in a Markdown table, on rank 0.
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
int reps = args.Length > 1 && args[0] == "--reps" ? int.Parse(args[1]) : 30;
using var mpi = MpiCommunicator.Initialize();
int p = mpi.Size;
if (mpi.Rank == 0)
{
    Console.WriteLine($"{p} ranks ({mpi.LocalSize} on this machine), {mpi.Library}, {reps} repetitions per size, {DateTime.UtcNow:yyyy-MM-dd}");
    Console.WriteLine();
    Console.WriteLine("| floats | bytes | median µs | min µs | algorithm GB/s | bus GB/s |");
    Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
}
for (int size = 1 << 10; size <= 1 << 24; size <<= 2)
{
    var values = GC.AllocateArray<float>(size, pinned: true);
    values.AsSpan().Fill(1f);
    var times = new double[reps];
    for (int r = -5; r < reps; r++)
    {
        mpi.Barrier();
        long start = Stopwatch.GetTimestamp();
        mpi.AllReduceSum(values.AsSpan());
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (r >= 0) times[r] = seconds;
    }
    // Every rank reports its time; the slowest rank's is the all-reduce's.
    var slowest = new long[p];
    mpi.AllGather([BitConverter.DoubleToInt64Bits(times.Order().ElementAt(reps / 2))], slowest);
    double median = slowest.Select(BitConverter.Int64BitsToDouble).Max();
    double min = times.Min();
    double bytes = size * 4.0, algorithm = bytes / median / 1e9;
    if (mpi.Rank == 0)
        Console.WriteLine($"| {size:N0} | {bytes / (1 << 20):F3} MiB | {median * 1e6:F1} | {min * 1e6:F1} | {algorithm:F2} | {algorithm * 2 * (p - 1) / p:F2} |");
}

// Every rank applies the whole optimizer step itself (the weights stay identical without sending them), so its time is part of
// every rank's step however many ranks there are: Adam over the tutorial network's and the residual network's parameter counts.
if (mpi.Rank == 0)
{
    Console.WriteLine();
    Console.WriteLine($"Adam step on {ConvGen.Parallelism.Threads} thread(s):");
    Console.WriteLine();
    Console.WriteLine("| parameters | median ms |");
    Console.WriteLine("|---:|---:|");
    foreach (int count in new[] { 513_994, 3_274_634 })
    {
        var parameter = new ConvGen.Parameter("w", new ConvGen.Shape(count));
        parameter.Gradient.Span.Fill(1e-3f);
        var adam = new ConvGen.Adam();
        var times = new double[Math.Max(reps, 10)];
        for (int r = -5; r < times.Length; r++)
        {
            long start = Stopwatch.GetTimestamp();
            adam.Step([parameter]);
            if (r >= 0) times[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Console.WriteLine($"| {count:N0} | {times.Order().ElementAt(times.Length / 2):F2} |");
    }
}
return 0;
