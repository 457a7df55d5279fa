using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using ConvGen;
using ConvGen.Mpi;
using ConvGen.Mpi.Ranks;

// Each rank of `mpirun -np N dotnet ConvGen.Mpi.Ranks.dll --mode M ...` runs this. Modes:
//   train   steps 1..--steps on Scenario.Batch(seed, k); rank 0 saves the weights (--out) and prints the global evaluation
//   fit     DistributedTrainer.Fit over Scenario.Data for --epochs, then rank 0 saves the weights (--out)
// Options: --model compiled|sequential, --batch, --seed, --checkpoint PATH --checkpoint-every K (train), --resume (load
// --checkpoint on every rank and go on from its step), --die-rank R --die-at K --die-how kill|throw|hang, --hidden-on-rank R:H (that
// rank builds a different model), --seed-on-rank R:S with --verify (that rank holds other weights), --bucket FLOATS (default 100),
// --state-files PREFIX (each rank writes its non-trainable state to PREFIX.RANK.before/after), --timeout SECONDS (the
// communicator's limit on waiting for the other ranks).
var o = Options.Parse(args);
using var mpi = MpiCommunicator.Initialize(threads: 1);
mpi.BucketSize = o.Bucket;
if (o.TimeoutSeconds is int timeout) mpi.Timeout = TimeSpan.FromSeconds(timeout); // small, so these small models' gradients go in several buckets that overlap the backward pass
int rank = mpi.Rank;
int hidden = o.HiddenOnRank is (int hr, int h) && hr == rank ? h : 16;
int seed = o.SeedOnRank is (int sr, int s) && sr == rank ? s : o.Seed;
var model = Scenario.Build(o.Model, seed, o.Batch, hidden);

DistributedTrainer trainer;
try
{
    trainer = new DistributedTrainer(model, mpi, o.Verify ? InitialWeights.Verify : InitialWeights.Broadcast);
}
catch (MpiException e)
{
    Console.WriteLine($"rank {rank}: refused: {e.Message}");
    return 3;
}
if (rank == 0) Console.WriteLine($"ranks: {mpi.Size}, library {mpi.Library}, model {o.Model}, {model.ParameterCount} parameters");

if (o.Mode == "fit")
{
    var (images, labels) = Scenario.Data(o.Seed, o.Steps, o.Batch);
    var validation = Scenario.Data(o.Seed + 1, 2, o.Batch);
    trainer.Fit(images, labels, o.Epochs, o.Batch, new FitOptions { Seed = o.Seed, ValidationData = validation });
}
else
{
    int first = 1;
    if (o.Resume)
    {
        trainer.LoadCheckpoint(o.Checkpoint!);
        first = (int)model.Optimizer!.Iterations + 1;
        if (rank == 0) Console.WriteLine($"resumed at step {first}");
    }
    for (int step = first; step <= o.Steps; step++)
    {
        if (step == o.DieAt && rank == o.DieRank)
        {
            Console.WriteLine($"rank {rank}: dying at step {step} ({o.DieHow})");
            Console.Out.Flush();
            if (o.DieHow == "kill") System.Diagnostics.Process.GetCurrentProcess().Kill();
            else if (o.DieHow == "hang") System.Threading.Thread.Sleep(System.Threading.Timeout.Infinite);
            else throw new InvalidOperationException($"the test's failure at step {step}");
        }
        var (x, y) = Scenario.Batch(o.Seed, step, o.Batch);
        float loss = trainer.TrainStep(x, y, out int correct);
        if (rank == 0) Console.WriteLine(FormattableString.Invariant($"step {step}: loss {loss:R}, correct {correct}"));
        if (o.Checkpoint is { } path && o.CheckpointEvery > 0 && step % o.CheckpointEvery == 0 && !o.Resume)
            trainer.SaveCheckpoint(path);
    }
}
if (o.StateFiles is { } prefix)
{
    // Each rank writes its state to its own files (long lines of several ranks interleave in mpirun's output), so the test can
    // see the group agree. Fit averages it after every epoch; the step loop above does not, so it is averaged here, and
    // written before and after.
    void Write(string name) => File.WriteAllText($"{prefix}.{rank}.{name}", string.Join(" ", model.StateBuffer.ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
    if (o.Mode != "fit")
    {
        Write("before");
        model.AverageStateAcrossGroup();
    }
    Write("after");
}
var test = Scenario.Data(o.Seed + 1, 2, o.Batch);
var (testLoss, testAccuracy) = trainer.Evaluate(test.Images, test.Labels, batchSize: 7);
if (rank == 0)
{
    Console.WriteLine(FormattableString.Invariant($"evaluate: {testLoss:R} {testAccuracy:R}"));
    if (o.Out is { } output) model.SaveWeights(output);
    Console.WriteLine($"weights CRC-32: 0x{trainer.WeightsChecksum():X8}");
}
return 0;

internal sealed record Options(string Mode, string Model, int Steps, int Epochs, int Batch, int Seed, string? Out, string? Checkpoint,
    int CheckpointEvery, bool Resume, int DieRank, int DieAt, string DieHow, (int, int)? HiddenOnRank, (int, int)? SeedOnRank, bool Verify, int Bucket, string? StateFiles, int? TimeoutSeconds)
{
    public static Options Parse(string[] args)
    {
        var o = new Options("train", "compiled", 20, 1, 50, 1, null, null, 0, false, -1, -1, "kill", null, null, false, 100, null, null);
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value.");
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
            (int, int) Pair() { var p = Next().Split(':'); return (int.Parse(p[0], CultureInfo.InvariantCulture), int.Parse(p[1], CultureInfo.InvariantCulture)); }
            o = args[i] switch
            {
                "--mode" => o with { Mode = Next() },
                "--model" => o with { Model = Next() },
                "--steps" => o with { Steps = Int() },
                "--epochs" => o with { Epochs = Int() },
                "--batch" => o with { Batch = Int() },
                "--seed" => o with { Seed = Int() },
                "--out" => o with { Out = Next() },
                "--checkpoint" => o with { Checkpoint = Next() },
                "--checkpoint-every" => o with { CheckpointEvery = Int() },
                "--resume" => o with { Resume = true },
                "--die-rank" => o with { DieRank = Int() },
                "--die-at" => o with { DieAt = Int() },
                "--die-how" => o with { DieHow = Next() },
                "--hidden-on-rank" => o with { HiddenOnRank = Pair() },
                "--seed-on-rank" => o with { SeedOnRank = Pair() },
                "--verify" => o with { Verify = true },
                "--bucket" => o with { Bucket = Int() },
                "--state-files" => o with { StateFiles = Next() },
                "--timeout" => o with { TimeoutSeconds = Int() },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'."),
            };
        }
        return o;
    }
}
