using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using ConvGen.Mpi.Ranks;
using ConvGen.Serialization;
using Xunit;

namespace ConvGen.Mpi.Tests;

/// <summary>
/// Ranks started by mpirun against the same training in this one process. The sums run in another order across ranks than
/// within one process (and the ranks use 1 thread each), so the weights agree to rounding, not bit for bit: every tensor's
/// largest difference must be within 1e-5 of its largest value.
/// </summary>
public sealed class DataParallelTests
{
    private const float Tolerance = 1e-5f;

    [Theory]
    [InlineData("compiled", 2, 50)]
    [InlineData("sequential", 2, 50)]
    [InlineData("compiled", 3, 7)]    // shards of 2, 2 and 3
    [InlineData("sequential", 3, 2)]  // rank 0's shard of every batch is empty
    public void Ranks_train_the_weights_one_process_trains(string kind, int ranks, int batch)
    {
        string weights = TempFile();
        // Rank 1 starts from other weights: rank 0's are broadcast, so it must not matter.
        var run = MpiRun.Ranks(ranks, $"--model {kind} --steps 20 --batch {batch} --seed 5 --seed-on-rank 1:99 --out {weights}");
        Assert.True(run.ExitCode == 0, run.Output);

        var reference = Scenario.Build(kind, seed: 5, maxBatch: batch);
        var losses = new List<float>();
        for (int step = 1; step <= 20; step++)
        {
            var (x, y) = Scenario.Batch(5, step, batch);
            losses.Add(reference.TrainStep(x, y));
        }
        var reported = Regex.Matches(run.Output, @"^step (\d+): loss (\S+),", RegexOptions.Multiline)
            .Select(m => float.Parse(m.Groups[2].Value.TrimEnd(','), CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(20, reported.Length);
        for (int i = 0; i < 20; i++) Assert.True(Math.Abs(reported[i] - losses[i]) <= Tolerance * Math.Abs(losses[i]), $"step {i + 1}: ranks' loss {reported[i]}, one process {losses[i]}");

        AssertSameWeights(reference, weights, run.Output);

        var test = Scenario.Data(6, 2, batch);
        var (loss, accuracy) = reference.Evaluate(test.Images, test.Labels, batchSize: 7);
        var evaluated = Regex.Match(run.Output, @"^evaluate: (\S+) (\S+)", RegexOptions.Multiline);
        Assert.True(evaluated.Success, run.Output);
        Assert.True(Math.Abs(float.Parse(evaluated.Groups[1].Value, CultureInfo.InvariantCulture) - loss) <= Tolerance * loss, run.Output);
        Assert.Equal(accuracy, float.Parse(evaluated.Groups[2].Value, CultureInfo.InvariantCulture));
        if (batch >= 7) Assert.True(losses[^1] < losses[0] * 0.9f, $"the loss did not fall: {losses[0]} to {losses[^1]}");
    }

    [Fact]
    public void Fit_over_two_ranks_trains_the_weights_Fit_trains_in_one_process()
    {
        string weights = TempFile();
        var run = MpiRun.Ranks(2, $"--mode fit --model sequential --steps 8 --epochs 2 --batch 20 --seed 3 --out {weights}");
        Assert.True(run.ExitCode == 0, run.Output);
        var reference = Scenario.Build("sequential", seed: 3, maxBatch: 20);
        var (images, labels) = Scenario.Data(3, 8, 20);
        var history = reference.Fit(images, labels, 2, 20, new FitOptions { Seed = 3, ValidationData = Scenario.Data(4, 2, 20), Output = null });
        AssertSameWeights(reference, weights, run.Output);
        // Rank 0 alone reports (one epoch summary, not one per rank), with the global figures: the training loss of all the
        // shards and the validation accuracy of all the validation data.
        var summaries = Regex.Matches(run.Output, @"^Epoch 2/2: loss (\S+), accuracy (\S+), val_loss \S+, val_accuracy (\S+),", RegexOptions.Multiline);
        Assert.Single(summaries);
        Assert.Equal(history[1].Loss.ToString("F4", CultureInfo.InvariantCulture), summaries[0].Groups[1].Value);
        Assert.Equal(history[1].Accuracy.ToString("F4", CultureInfo.InvariantCulture), summaries[0].Groups[2].Value);
        Assert.Equal(history[1].ValidationAccuracy.ToString("F4", CultureInfo.InvariantCulture), summaries[0].Groups[3].Value);
    }

    [Theory]
    [InlineData("train")]
    [InlineData("fit")]
    public void The_ranks_state_is_averaged_so_every_rank_ends_with_the_same(string mode)
    {
        string prefix = TempFile();
        var run = MpiRun.Ranks(2, $"--mode {mode} --model stateful --steps 6 --batch 20 --seed 4 --state-files {prefix}");
        Assert.True(run.ExitCode == 0, run.Output);
        float[] State(string label, int rank) => File.ReadAllText($"{prefix}.{rank}.{label}").Split(' ')
            .Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        float[] first = State("after", 0), second = State("after", 1);
        Assert.Equal(216, first.Length);
        Assert.Equal(first, second);
        if (mode == "train")
        {
            // Each rank's moving mean came from its own shards; the group's is their mean.
            float[] before0 = State("before", 0), before1 = State("before", 1);
            Assert.NotEqual(before0, before1);
            for (int i = 0; i < first.Length; i++) Assert.Equal((before0[i] + before1[i]) / 2, first[i], 6);
        }
        Assert.Contains(first, v => v != 0);
    }

    [Fact]
    public void A_killed_rank_stops_the_job_naming_it_and_the_last_checkpoint_resumes_the_run()
    {
        string checkpoint = TempFile(), weights = TempFile();
        var run = MpiRun.Ranks(2, $"--steps 20 --batch 30 --seed 8 --checkpoint {checkpoint} --checkpoint-every 5 --die-rank 1 --die-at 12 --die-how kill", timeoutSeconds: 90);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("rank 1: dying at step 12", run.Output);
        Assert.Matches(@"process rank 1 .*(signal 9|Killed)", run.Output.Replace('\n', ' '));
        Assert.DoesNotContain("step 13:", run.Output);

        // The checkpoint of step 10 holds exactly what one process has after 10 steps, optimizer state included.
        var reference = Scenario.Build("compiled", seed: 8, maxBatch: 30);
        for (int step = 1; step <= 10; step++) { var (x, y) = Scenario.Batch(8, step, 30); reference.TrainStep(x, y); }
        var loaded = Scenario.Build("compiled", seed: 1234, maxBatch: 30);
        loaded.LoadCheckpoint(checkpoint);
        Assert.Equal(10, loaded.Optimizer!.Iterations);
        AssertClose(reference.ParameterBuffer.ToArray(), loaded.ParameterBuffer.ToArray(), "parameters at the checkpoint");

        // Every rank resumes from it (checksums compared), and steps 11..20 end where an uninterrupted run does.
        var resumed = MpiRun.Ranks(2, $"--steps 20 --batch 30 --seed 8 --checkpoint {checkpoint} --resume --verify --out {weights}");
        Assert.True(resumed.ExitCode == 0, resumed.Output);
        Assert.Contains("resumed at step 11", resumed.Output);
        for (int step = 11; step <= 20; step++) { var (x, y) = Scenario.Batch(8, step, 30); reference.TrainStep(x, y); }
        AssertSameWeights(reference, weights, resumed.Output);
    }

    [Fact]
    public void A_rank_that_throws_stops_every_rank_with_its_error()
    {
        var run = MpiRun.Ranks(2, "--steps 20 --batch 10 --die-rank 1 --die-at 4 --die-how throw", timeoutSeconds: 90);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("ConvGen.Mpi: rank 1 of 2 failed", run.Output);
        Assert.Contains("the test's failure at step 4", run.Output);
        Assert.DoesNotContain("step 5:", run.Output);
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(60), $"took {run.Elapsed}");
    }

    [Fact]
    public void A_rank_that_hangs_makes_the_others_stop_after_the_timeout_instead_of_waiting_forever()
    {
        var run = MpiRun.Ranks(2, "--steps 20 --batch 10 --die-rank 1 --die-at 3 --die-how hang --timeout 3", timeoutSeconds: 90);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("ConvGen.Mpi: rank 0 of 2 waited 3 s for the other ranks in a collective", run.Output);
        Assert.Contains("step 2:", run.Output);
        Assert.DoesNotContain("step 3:", run.Output);
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(60), $"took {run.Elapsed}");
    }

    [Fact]
    public void A_rank_with_another_model_is_refused_at_start()
    {
        var run = MpiRun.Ranks(2, "--model sequential --hidden-on-rank 1:24");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("Rank 1 built a different model from rank 0's", run.Output);
        Assert.DoesNotContain("step 1:", run.Output);
    }

    [Fact]
    public void A_rank_with_other_weights_is_refused_when_weights_must_agree()
    {
        var run = MpiRun.Ranks(2, "--model compiled --seed-on-rank 1:9 --verify");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("Rank 1's weights differ from rank 0's", run.Output);
        Assert.DoesNotContain("step 1:", run.Output);
    }

    private static void AssertSameWeights(Model reference, string path, string output)
    {
        Assert.True(File.Exists(path), $"rank 0 wrote no weights to {path}:\n{output}");
        var saved = WeightsFile.Load(path);
        var expected = reference.NamedWeights();
        Assert.Equal(expected.Count, saved.Count);
        for (int i = 0; i < saved.Count; i++)
        {
            Assert.Equal(expected[i].Name, saved[i].Name);
            AssertClose(expected[i].Tensor.Span.ToArray(), saved[i].Tensor.Span.ToArray(), saved[i].Name);
        }
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = expected.Max(MathF.Abs), worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = MathF.Max(worst, MathF.Abs(expected[i] - actual[i]));
        Assert.True(worst <= Tolerance * scale, $"{what}: largest difference {worst}, largest value {scale}");
    }

    private static string TempFile() => Path.Combine(Path.GetTempPath(), $"convgen-mpi-{Guid.NewGuid():N}.cgw");
}
