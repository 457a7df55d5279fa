using System;
using System.IO;
using System.Linq;
using System.Reflection;
using ConvGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests.Models;

/// <summary>
/// Winograd's algorithm in compiled networks' inference: Predict equals the direct kernels' Predict to float rounding with the
/// folded normalizations, activations and residual Adds, the fused pool of the tutorial network, on one and two threads (which
/// split a single sample's rows at whole tiles), at batch sizes where some layers have too few tiles for it; it runs on exactly
/// the convolutions it is for; and its transformed kernels are made again when training or the folding changes the weights.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class WinogradNetworkTests(ITestOutputHelper output)
{
    /// <summary>Allowed difference from the direct kernels, relative to the largest output (measured: below 1e-6).</summary>
    private const double Tolerance = 1e-5;

    [Fact]
    public void Inference_matches_the_direct_kernels_and_runs_on_the_convolutions_it_is_for()
    {
        var model = new WinogradNet(maxBatchSize: 7, seed: 3);
        BatchNormFoldingTests.Perturb(model, seed: 11);
        AssertMatchesDirect(model, nameof(WinogradNet));
        // Every convolution but the stem (3 input channels) and the last (32 to 16 filters).
        Assert.Equal([false, true, true, true, true, false], Convolutions(model).Select(RanWinograd).ToArray());
    }

    [Fact]
    public void The_tutorial_network_pools_its_second_convolution_from_the_Winograd_tiles()
    {
        var model = new TutorialNet(maxBatchSize: 7, seed: 3);
        AssertMatchesDirect(model, "TutorialNet");
        Assert.Equal([false, true], Convolutions(model).Select(RanWinograd).ToArray());
    }

    [Fact]
    public void The_transformed_kernels_follow_training_and_the_folding()
    {
        // The perturbed weights come through a file: a model whose weights user code has held a view of transforms them again on
        // every call (its weights may have changed unseen), and would not show kernels kept across a change of folding.
        var perturbed = new WinogradNet(maxBatchSize: 7, seed: 5);
        BatchNormFoldingTests.Perturb(perturbed, seed: 13);
        var model = new WinogradNet(maxBatchSize: 7, seed: 6);
        string path = Path.GetTempFileName();
        try
        {
            perturbed.SaveWeights(path);
            model.LoadWeights(path);
        }
        finally
        {
            File.Delete(path);
        }
        model.Compile(new SGD(0.05f), new SparseCategoricalCrossentropy());
        var x = BatchNormFoldingTests.RandomBatch(model.InputShape, 7, seed: 21);
        var before = model.Predict(x).Span.ToArray();
        for (int step = 0; step < 3; step++) model.TrainStep(x, [0, 1, 2, 3, 0, 1, 2]);
        var after = AssertMatchesDirect(model, "after training");
        // Training moved the outputs far beyond the tolerance, so kernels left from before it would have shown.
        Assert.True(Difference(before, after) > 100 * Tolerance, "training changed the outputs too little for the test to see stale kernels");
        Assert.True(after.Distinct().Count() > 4, "the trained network's outputs no longer depend on its input");
        model.FoldsBatchNormalization = false;
        try
        {
            AssertMatchesDirect(model, "without folding");
        }
        finally
        {
            model.FoldsBatchNormalization = true;
        }
        AssertMatchesDirect(model, "folding again");
    }

    /// <summary>
    /// Whether a layer runs Winograd is decided from the pass's batch, not from a thread's share or a depth-first chunk: a
    /// sample's outputs keep their bits on 1 to 3 threads and with chunks of 1 and 2 samples (the 7x5 layer has 4 tiles a
    /// sample, fewer than Winograd takes, so a chunk of one sample alone would run the direct kernels).
    /// </summary>
    [Fact]
    public void The_threads_and_the_depth_first_chunks_do_not_change_a_bit()
    {
        var model = new WinogradNet(maxBatchSize: 7, seed: 7);
        BatchNormFoldingTests.Perturb(model, seed: 17);
        int saved = Parallelism.Threads;
        try
        {
            foreach (int batch in new[] { 1, 2, 5, 7 })
            {
                var x = BatchNormFoldingTests.RandomBatch(model.InputShape, batch, seed: 50 + batch);
                Parallelism.Threads = 1;
                model.RunsDepthFirst = false;
                var expected = ModelTestData.Bits(model.Predict(x));
                model.RunsDepthFirst = true;
                foreach (int threads in new[] { 1, 2, 3 })
                    foreach (int chunk in new[] { 0, 1, 2 })
                    {
                        Parallelism.Threads = threads;
                        model.DepthFirstChunk = chunk;
                        Assert.True(expected.SequenceEqual(ModelTestData.Bits(model.Predict(x))),
                            $"batch {batch}, {threads} threads, chunks of {(chunk == 0 ? "the planned size" : chunk)}");
                    }
            }
        }
        finally
        {
            Parallelism.Threads = saved;
            model.RunsDepthFirst = true;
            model.DepthFirstChunk = 0;
        }
        Assert.True(RanWinograd(Convolutions(model)[4]), "the 3x3 layer on 7x5 never ran Winograd");
    }

    /// <summary>Predict with Winograd against Predict with the direct kernels, batches of 1 to 7, on 1 and 2 threads; the last Winograd output.</summary>
    private float[] AssertMatchesDirect(Model model, string what)
    {
        int saved = Parallelism.Threads;
        float[] last = [];
        try
        {
            foreach (int batch in new[] { 1, 2, 7 })
            {
                var x = BatchNormFoldingTests.RandomBatch(model.InputShape, batch, seed: 30 + batch);
                Parallelism.Threads = 1;
                model.UsesWinograd = false;
                var expected = model.Predict(x).Span.ToArray();
                model.UsesWinograd = true;
                foreach (int threads in new[] { 1, 2 })
                {
                    Parallelism.Threads = threads;
                    last = model.Predict(x).Span.ToArray();
                    double difference = Difference(expected, last);
                    output.WriteLine($"{what}, batch {batch}, {threads} threads: largest difference {difference:E2} of the largest output");
                    Assert.True(difference <= Tolerance, $"{what}, batch {batch}, {threads} threads: Winograd differs from the direct kernels by {difference:E2} of the largest output");
                }
            }
        }
        finally
        {
            Parallelism.Threads = saved;
            model.UsesWinograd = true;
        }
        return last;
    }

    private static double Difference(float[] expected, float[] actual)
    {
        double scale = Math.Max(1e-30, expected.Max(v => Math.Abs((double)v)));
        return expected.Zip(actual, (e, a) => Math.Abs((double)e - a)).Max() / scale;
    }

    private static Layer[] Convolutions(Model model) => model.Layers.Where(l => l.GetType().Name.StartsWith("Conv2DLayer", StringComparison.Ordinal)).ToArray();

    private static bool RanWinograd(Layer layer)
        => (bool)layer.GetType().GetProperty("RanWinograd", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(layer)!;
}
