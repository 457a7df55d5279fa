using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ConvGen.Serialization;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Training;

/// <summary>
/// The model core's side of data-parallel training, without MPI (ConvGen.Mpi.Tests runs real ranks): what a group of one
/// changes (nothing), how the gradient buffer is cut into buckets, sharded evaluation, and checkpoints that resume exactly.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public sealed class DataParallelCoreTests
{
    /// <summary>A group whose sums are this process's values alone (a group of one, or one rank's view of a larger group).</summary>
    private sealed class LocalGroup(int rank, int size, int bucketSize) : IDataParallel
    {
        public int Rank => rank;
        public int Size => size;
        public int BucketSize => bucketSize;
        public List<(int Offset, int Length)> Started { get; } = [];
        public float[]? Gradients { get; set; }
        public int Waits { get; private set; }

        public void AllReduceSum(Span<double> values) { }
        public void AllReduceSum(Span<float> values) { }

        public void StartAllReduceSum(Span<float> values)
        {
            // Record where in the gradient buffer the bucket lies (the model's 2-float loss and accuracy sums are elsewhere).
            if (Gradients is null) return;
            ref float start = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values);
            long offset = System.Runtime.CompilerServices.Unsafe.ByteOffset(ref Gradients[0], ref start) / sizeof(float);
            if (offset >= 0 && offset < Gradients.Length) Started.Add(((int)offset, values.Length));
        }

        public void Progress() { }
        public void WaitAll() => Waits++;
    }

    private static Sequential Net(int seed, IOptimizer? optimizer = null) =>
        (Sequential)new Sequential(new Dense(16, Activation.ReLU), new Dense(12, Activation.ReLU), new Dense(4)).Build(new Shape(6), seed)
            .Compile(optimizer ?? new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));

    private static (Tensor X, int[] Y) Batch(int seed, int n = 10)
    {
        var random = new Random(seed);
        var x = new Tensor(new Shape(n, 6));
        for (int i = 0; i < x.Span.Length; i++) x.Span[i] = (float)(random.NextDouble() * 2 - 1);
        return (x, Enumerable.Range(0, n).Select(_ => random.Next(4)).ToArray());
    }

    [Fact]
    public void A_group_of_one_trains_bit_for_bit_as_no_group_and_sums_every_gradient_once_per_step_in_buckets()
    {
        var alone = Net(3);
        var grouped = Net(3);
        var group = new LocalGroup(0, 1, bucketSize: 40);
        grouped.DataParallel = group;
        group.Gradients = GradientArray(grouped);
        for (int step = 0; step < 4; step++)
        {
            var (x, y) = Batch(step);
            float a = alone.TrainStep(x, y, out int ca), b = grouped.TrainStep(x, y, out int cb);
            Assert.Equal(a, b);
            Assert.Equal(ca, cb);
        }
        Assert.Equal(alone.ParameterBuffer.ToArray(), grouped.ParameterBuffer.ToArray());
        Assert.Equal(4, group.Waits);

        // Each step's buckets cover the gradient buffer exactly once, from its end (the last layer's gradient is finished first),
        // and every bucket but the last of a step holds at least BucketSize floats.
        int length = grouped.GradientBuffer.Length;
        var perStep = group.Started.Chunk(group.Started.Count / 4).ToArray();
        Assert.Equal(4, perStep.Length);
        foreach (var buckets in perStep)
        {
            int end = length;
            foreach (var (offset, count) in buckets)
            {
                Assert.Equal(end, offset + count);
                end = offset;
            }
            Assert.Equal(0, end);
            Assert.All(buckets[..^1], b => Assert.True(b.Length >= 40, $"bucket of {b.Length}"));
            Assert.True(buckets.Length > 1, "the buckets overlap the backward pass: more than one per step");
        }
    }

    [Fact]
    public void Each_rank_evaluates_its_shard_and_the_shards_add_up_to_the_whole()
    {
        var model = Net(5);
        var (x, y) = Batch(9, n: 23);
        var (loss, accuracy) = model.Evaluate(x, y, batchSize: 4);
        double lossSum = 0, accuracySum = 0;
        for (int rank = 0; rank < 3; rank++)
        {
            model.DataParallel = new LocalGroup(rank, 3, 100);
            var (l, a) = model.Evaluate(x, y, batchSize: 4); // this rank's share of the totals (the sums add nothing here)
            lossSum += l;
            accuracySum += a;
        }
        Assert.Equal(loss, lossSum, 5);
        Assert.Equal(accuracy, accuracySum, 5);
    }

    [Fact]
    public void A_rank_with_an_empty_shard_takes_the_same_sums_and_the_step_the_others_take()
    {
        var model = Net(2);
        var group = new LocalGroup(0, 3, bucketSize: 40);
        model.DataParallel = group;
        group.Gradients = GradientArray(model);
        var before = model.ParameterBuffer.ToArray();
        var (x, y) = Batch(1, n: 2); // shards of 0, 1 and 1 samples: rank 0's is empty
        model.TrainStep(x, y);
        var reference = Net(2);
        reference.DataParallel = new LocalGroup(1, 3, bucketSize: 40) { Gradients = GradientArray(reference) };
        reference.TrainStep(x, y);
        var referenceGroup = (LocalGroup)reference.DataParallel!;
        Assert.Equal(referenceGroup.Started, group.Started);
        Assert.Equal(1, model.Optimizer!.Iterations);
        // Its own contribution is a zero gradient (the sums here add no other rank's), so Adam's step moves nothing.
        Assert.Equal(before, model.ParameterBuffer.ToArray());
    }

    [Fact]
    public void The_group_is_checked_when_set()
    {
        var model = Net(1);
        Assert.Contains("rank 2 of size 2", Assert.Throws<ArgumentException>(() => model.DataParallel = new LocalGroup(2, 2, 10)).Message);
        Assert.Contains("size 0", Assert.Throws<ArgumentException>(() => model.DataParallel = new LocalGroup(0, 0, 10)).Message);
        Assert.Contains("BucketSize is 0", Assert.Throws<ArgumentException>(() => model.DataParallel = new LocalGroup(0, 1, 0)).Message);
        Assert.Null(model.DataParallel);
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd-momentum")]
    [InlineData("sgd")]
    [InlineData("rmsprop")]
    [InlineData("adamw-amsgrad")]
    public void A_checkpoint_resumes_training_exactly(string kind)
    {
        IOptimizer Optimizer() => kind switch
        {
            "adam" => new Adam(1e-2f),
            "sgd-momentum" => new SGD(0.05f, momentum: 0.9f),
            "rmsprop" => new RMSprop(1e-2f, momentum: 0.5f, centered: true),
            "adamw-amsgrad" => new AdamW(1e-2f, amsgrad: true) { Schedule = new CosineDecay(0f, 10, warmupTarget: 1e-2f, warmupSteps: 2) },
            _ => new SGD(0.05f),
        };
        string path = Path.Combine(Path.GetTempPath(), $"convgen-checkpoint-{Guid.NewGuid():N}.cgw");
        try
        {
            var straight = Net(4, Optimizer());
            for (int step = 0; step < 3; step++) { var (x, y) = Batch(step); straight.TrainStep(x, y); }
            straight.SaveCheckpoint(path);
            for (int step = 3; step < 6; step++) { var (x, y) = Batch(step); straight.TrainStep(x, y); }

            var resumed = Net(77, Optimizer());
            resumed.LoadCheckpoint(path);
            Assert.Equal(3, resumed.Optimizer!.Iterations);
            for (int step = 3; step < 6; step++) { var (x, y) = Batch(step); resumed.TrainStep(x, y); }
            Assert.Equal(straight.ParameterBuffer.ToArray(), resumed.ParameterBuffer.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_checkpoint_of_another_optimizer_is_refused_and_changes_nothing()
    {
        string path = Path.Combine(Path.GetTempPath(), $"convgen-checkpoint-{Guid.NewGuid():N}.cgw");
        try
        {
            var adam = Net(4);
            adam.TrainStep(Batch(0).X, Batch(0).Y);
            adam.SaveCheckpoint(path);
            var sgd = Net(5, new SGD(0.1f, momentum: 0.5f));
            var before = sgd.ParameterBuffer.ToArray();
            var e = Assert.Throws<WeightsMismatchException>(() => sgd.LoadCheckpoint(path));
            Assert.Contains("optimizer/parameters/", e.Message);
            Assert.Equal(before, sgd.ParameterBuffer.ToArray());
            Assert.Equal(0, sgd.Optimizer!.Iterations);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Fit_from_an_initial_epoch_sees_the_batches_an_uninterrupted_run_sees()
    {
        string path = Path.Combine(Path.GetTempPath(), $"convgen-checkpoint-{Guid.NewGuid():N}.cgw");
        try
        {
            var (x, y) = Batch(3, n: 40);
            var straight = Net(6);
            straight.Fit(x, y, epochs: 3, batchSize: 8, new FitOptions
            {
                Seed = 2, Output = null,
                OnEpochEnd = r => { if (r.Epoch == 1) straight.SaveCheckpoint(path); },
            });
            var resumed = Net(60);
            resumed.LoadCheckpoint(path);
            var history = resumed.Fit(x, y, epochs: 3, batchSize: 8, new FitOptions { Seed = 2, Output = null, InitialEpoch = 1 });
            Assert.Equal([2, 3], history.Select(h => h.Epoch));
            Assert.Equal(straight.ParameterBuffer.ToArray(), resumed.ParameterBuffer.ToArray());
            Assert.Throws<ArgumentOutOfRangeException>(() => resumed.Fit(x, y, epochs: 3, batchSize: 8, new FitOptions { InitialEpoch = 4, Output = null }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_data_parallel_step_allocates_nothing_after_warm_up(int threads)
    {
        using var scope = new ThreadScope(threads);
        var model = Net(8);
        model.DataParallel = new LocalGroup(0, 2, bucketSize: 40);
        var (x, y) = Batch(1, n: 20);
        for (int i = 0; i < 20; i++) model.TrainStep(x, y);
        long thread = GC.GetAllocatedBytesForCurrentThread(), workers = Model.WorkerAllocatedBytes;
        for (int i = 0; i < 5; i++) model.TrainStep(x, y);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - thread);
        Assert.Equal(0, Model.WorkerAllocatedBytes - workers);
    }

    [Fact]
    public void The_step_count_cannot_be_set_negative()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam().Iterations = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD().Iterations = -1);
    }

    /// <summary>The array behind the model's gradient buffer (a span's first element, as the pinned array it is).</summary>
    private static float[] GradientArray(Model model) => model.Parameters[0].Gradient.Storage.Buffer;
}
