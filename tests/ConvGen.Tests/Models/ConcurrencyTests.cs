using ConvGen.Testing;
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace ConvGen.Tests.Models;

/// <summary>
/// The thread contract of <see cref="Sequential"/>: <c>Predict</c> and <c>Evaluate</c> from many threads at once give exactly
/// the serial answers (they take turns on the model's lock); a training call overlapping any other call on another thread
/// throws <see cref="InvalidOperationException"/> instead of corrupting the layers' shared buffers.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class ConcurrencyTests
{
    private static Sequential Trained(Tensor x, int[] y, params Layer[] extra)
    {
        var model = new Sequential([new SmallConv(), new MaxPool2D(2), .. extra, new Flatten(), new Dense(16, Activation.ReLU), new Dense(4)])
            .Build(new Shape(28, 28, 1), seed: 3)
            .Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
        for (int s = 0; s < 3; s++) model.TrainStep(x.SliceBatch(8 * s, 8), y.AsSpan(8 * s, 8));
        return model;
    }

    [Fact]
    public async Task Predict_and_Evaluate_from_8_threads_at_once_equal_the_serial_answers_bit_for_bit()
    {
        var (x, y) = ModelTestData.RandomImages(48, seed: 1);
        var model = Trained(x, y);

        // Each call predicts its own slice with its own batch size, so the layers' buffers are resized between calls:
        // any interleaving of two calls inside the layers would show up as wrong bits.
        var slices = Enumerable.Range(0, 12).Select(i => (Start: i * 3, Count: 3 + i % 4 * 2, BatchSize: 1 + i % 5)).ToArray();
        var serial = slices.Select(s => ModelTestData.Bits(model.Predict(x.SliceBatch(s.Start, s.Count), s.BatchSize))).ToArray();
        var serialEvaluation = model.Evaluate(x, y, batchSize: 7);

        const int threads = 8, callsPerThread = 30;
        var mismatches = new List<string>();
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (int call = 0; call < callsPerThread; call++)
            {
                int i = (t * 7 + call) % slices.Length;
                if (call % 10 == 9)
                {
                    if (model.Evaluate(x, y, batchSize: 7) != serialEvaluation)
                        lock (mismatches) mismatches.Add($"thread {t} call {call}: Evaluate differs");
                    continue;
                }
                var s = slices[i];
                if (!ModelTestData.Bits(model.Predict(x.SliceBatch(s.Start, s.Count), s.BatchSize)).SequenceEqual(serial[i]))
                    lock (mismatches) mismatches.Add($"thread {t} call {call}: Predict of slice {i} differs");
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers);
        Assert.Empty(mismatches);
    }

    [Fact]
    public async Task A_TrainStep_while_another_TrainStep_runs_throws_and_changes_nothing()
    {
        var (x, y) = ModelTestData.RandomImages(24, seed: 2);
        var gate = new BlockingLayer();
        var model = Trained(x, y, gate);
        var reference = Trained(x, y, new BlockingLayer());

        gate.BlockTraining = true;
        var first = Task.Run(() => model.TrainStep(x.SliceBatch(0, 8), y.AsSpan(0, 8)));
        Assert.True(gate.Entered.Wait(TimeSpan.FromSeconds(30)), "the first TrainStep never reached the layers");
        string dir = Directory.CreateTempSubdirectory("convgen-concurrency-").FullName;
        try
        {
            // While it is inside the layers, every other call from this thread is refused at once, naming both calls.
            var refused = new (string Call, Action Act)[]
            {
                ("TrainStep", () => model.TrainStep(x.SliceBatch(8, 8), y.AsSpan(8, 8))),
                ("Fit", () => model.Fit(x, y, epochs: 1, batchSize: 8, new FitOptions { Output = null })),
                ("Predict", () => model.Predict(x.SliceBatch(0, 2))),
                ("Evaluate", () => model.Evaluate(x, y)),
                ("Forward", () => model.Forward(x.SliceBatch(0, 2))),
                ("Backward", () => model.Backward(new Tensor(new Shape(8, 4)))),
                ("ZeroGradients", () => model.ZeroGradients()),
                ("SaveWeights", () => model.SaveWeights(Path.Combine(dir, "w.cgw"))),
                ("LoadWeights", () => model.LoadWeights(Path.Combine(dir, "w.cgw"))),
                ("Compile", () => model.Compile(new SGD(), new SparseCategoricalCrossentropy())),
                ("Build", () => model.Build(new Shape(28, 28, 1))),
            };
            foreach (var (call, act) in refused)
            {
                var e = Assert.Throws<InvalidOperationException>(act);
                Assert.Contains($"Sequential.{call} was called while TrainStep is running on another thread", e.Message);
            }
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            gate.Release();
            Directory.Delete(dir, recursive: true);
        }
        await first;

        // The refused calls changed nothing: after the same second step, both models hold the same bits.
        model.TrainStep(x.SliceBatch(8, 8), y.AsSpan(8, 8));
        reference.TrainStep(x.SliceBatch(0, 8), y.AsSpan(0, 8));
        reference.TrainStep(x.SliceBatch(8, 8), y.AsSpan(8, 8));
        Assert.Equal(reference.Parameters.SelectMany(p => ModelTestData.Bits(p.Value)), model.Parameters.SelectMany(p => ModelTestData.Bits(p.Value)));
        Assert.Equal(reference.Optimizer!.Iterations, model.Optimizer!.Iterations);
    }

    [Fact]
    public async Task Training_while_a_Predict_runs_throws_and_a_second_Predict_waits_its_turn()
    {
        var (x, y) = ModelTestData.RandomImages(24, seed: 3);
        var gate = new BlockingLayer();
        var model = Trained(x, y, gate);
        var expected = ModelTestData.Bits(model.Predict(x.SliceBatch(4, 4)));

        gate.BlockInference = true;
        var first = Task.Run(() => model.Predict(x.SliceBatch(0, 4)));
        Assert.True(gate.Entered.Wait(TimeSpan.FromSeconds(30)), "the first Predict never reached the layers");
        gate.BlockInference = false;
        var second = Task.Run(() => model.Predict(x.SliceBatch(4, 4)));
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => model.TrainStep(x.SliceBatch(0, 8), y.AsSpan(0, 8)));
            Assert.Contains("Sequential.TrainStep was called while Predict is running on another thread", e.Message);
            Assert.False(await Task.WhenAny(second, Task.Delay(100)) == second, "the second Predict should wait for the first");
        }
        finally
        {
            gate.Release();
        }
        await first;
        Assert.Equal(expected, ModelTestData.Bits(await second));
    }

    /// <summary>
    /// <see cref="Parallelism.Threads"/> changed while two models train on two threads: the first model to start a pass after a
    /// change replaces the shared worker pool while the other may be dispatching to the old one. That dispatch must still
    /// finish, never wait for stopped workers.
    /// </summary>
    [Fact]
    public async Task Changing_Parallelism_Threads_while_two_models_train_never_hangs_them()
    {
        using var scope = new ThreadScope(2);
        var (x, y) = ModelTestData.RandomImages(24, seed: 4);
        var models = new[] { Trained(x, y), Trained(x, y) };
        using var stop = new CancellationTokenSource();
        var training = models.Select(model => Task.Factory.StartNew(() =>
        {
            for (int step = 0; step < 300; step++) model.TrainStep(x, y);
        }, TaskCreationOptions.LongRunning)).ToArray();
        var toggling = Task.Factory.StartNew(() =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i = (i + 1) % 3) Parallelism.Threads = 1 + i;
        }, TaskCreationOptions.LongRunning);
        var all = Task.WhenAll(training);
        bool finished = await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(60))) == all;
        stop.Cancel();
        await toggling;
        Assert.True(finished, "300 training steps of two models did not finish in 60 s while Parallelism.Threads changed: a pass waits on a stopped pool");
        await all; // a step's exception, if any
        Assert.All(models.SelectMany(m => m.Parameters), p => Assert.All(p.Value.ToArray(), v => Assert.True(float.IsFinite(v))));
    }

    /// <summary>The identity, which can hold a call inside the layers until released, so calls can be made to overlap.</summary>
    private sealed class BlockingLayer : Layer
    {
        private readonly ManualResetEventSlim _release = new(false);

        public ManualResetEventSlim Entered { get; } = new(false);

        public volatile bool BlockTraining;

        public volatile bool BlockInference;

        protected override string BaseName => "blocking";

        protected internal override Shape Build(LayerBuild build) => build.InputShape;

        protected internal override void RunForward(in NodeContext c)
        {
            if (c.Part == 0 && (c.Training ? BlockTraining : BlockInference))
            {
                BlockTraining = false;
                Entered.Set();
                _release.Wait();
            }
            var (s, e) = c.Rows;
            int row = c.OutputShape.Size;
            c.Input().Slice(s * row, (e - s) * row).CopyTo(c.Output.Slice(s * row, (e - s) * row));
        }

        protected internal override void RunBackward(in NodeContext c)
        {
            if (!c.ComputesInputGradient()) return;
            var (s, e) = c.Rows;
            int row = c.OutputShape.Size;
            var dx = c.InputGradient().Slice(s * row, (e - s) * row);
            if (c.AccumulatesInputGradient()) System.Numerics.Tensors.TensorPrimitives.Add(dx, c.OutputGradient.Slice(s * row, (e - s) * row), dx);
            else c.OutputGradient.Slice(s * row, (e - s) * row).CopyTo(dx);
        }

        public void Release() => _release.Set();
    }
}
