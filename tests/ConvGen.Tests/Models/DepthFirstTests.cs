using System;
using System.Linq;
using ConvGen.Testing;
using ConvGen.Tests.Tutorial;
using Xunit;

namespace ConvGen.Tests.Models;

/// <summary>
/// Depth-first inference (each thread runs the leading layers on a few of its samples at a time): Predict gives the bits of the
/// layer-by-layer pass for compiled and Sequential networks of every layer kind the graph tests cover (folded normalizations,
/// activations and residual Adds, fused pools, concatenations, depthwise, grouped, 1-D and transposed convolutions, Dense), on
/// 1 to 3 threads, with chunks of every size from one sample up, batches that do not divide into them, and buffers holding
/// another batch's values (so a sample left unwritten shows); the activations only the leading layers read kept meanwhile in
/// each thread's chunk buffers, shared between activations not live at the same time.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class DepthFirstTests
{
    public static TheoryData<string> Networks() => new()
    {
        nameof(NormNet), nameof(ResNetish), nameof(InvertedNet), nameof(SequenceNet), nameof(ResNeXtish), nameof(ReshapeNet),
        nameof(UpsamplingNet), nameof(BranchNet), nameof(ActivationNet), nameof(ResidualNet),
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void Depth_first_inference_gives_the_bits_of_the_layer_by_layer_pass(string name)
    {
        var (net, sequential) = GraphNetworkTests.Pair(name, seed: 3);
        foreach (var model in new Model[] { net, sequential })
        {
            BatchNormFoldingTests.Perturb(model, seed: 11);
            Assert.NotEmpty(model.DepthFirstLayers);
            // The activations only the leading layers read live in chunk buffers, fewer than them (shared where not live at
            // once) but in ReshapeNet, whose two are.
            var (slots, buffers) = model.DepthFirstChunkBuffers;
            Assert.True(buffers > 0 && (slots > buffers || name == nameof(ReshapeNet) && slots == buffers), $"{name}: {slots} slots in {buffers} chunk buffers");
            AssertLayerByLayerBits(model, $"{name} ({(model is CompiledNetwork ? "compiled" : "Sequential")})");
        }
    }

    [Fact]
    public void The_tutorial_network_runs_its_convolutions_depth_first_and_its_large_Dense_layer_over_the_batch()
    {
        var model = new TutorialNet(maxBatchSize: 13, seed: 3);
        var layers = model.DepthFirstLayers;
        // The two convolutions (each with its pool fused), then the 3136 x 1024 Dense layer (12.8 MB of weights) ends the lead.
        Assert.Equal(2, layers.Length);
        Assert.All(layers, l => Assert.StartsWith("Conv2DLayer", l.GetType().Name));
        AssertLayerByLayerBits(model, nameof(TutorialNet));
    }

    /// <summary>
    /// A layer of the user's that does not say it <see cref="Layer.RunsOnSampleChunks"/> ends the depth-first lead: this one
    /// subtracts the batch's mean, which on a chunk of samples would be another number.
    /// </summary>
    [Fact]
    public void A_layer_that_does_not_run_on_sample_chunks_ends_the_depth_first_lead()
    {
        var first = new FoldConv();
        var model = new Sequential(first, new BatchMeanShift(), new Flatten(), new Dense(3)).Build(new Shape(20, 20, 3), seed: 5);
        Assert.Equal([first], model.DepthFirstLayers);
        AssertLayerByLayerBits(model, "Sequential with a batch-wide layer");
    }

    /// <summary>
    /// The activations a layer reads and writes start at a 64-byte boundary, wherever the heap put their buffers, so a
    /// sample of a multiple of 16 floats is whole 512-bit lines (a plain array's lines fall differently in every process,
    /// and a 512-bit access across two lines costs two: MobileNetV2 at batch 1 ran 10,424-13,220 images/s from process to
    /// process before): the batch-long buffers (layer by layer, and batch 1) and the depth-first chunk buffers, on 1 and 2
    /// threads.
    /// </summary>
    [Fact]
    public void A_layers_activations_start_at_64_byte_boundaries_in_batch_and_chunk_buffers()
    {
        var first = new AlignmentProbe();
        var second = new AlignmentProbe();
        var model = new Sequential(new FoldConv(), first, second, new Flatten(), new Dense(3)).Build(new Shape(20, 20, 3), seed: 5);
        Assert.Contains(second, model.DepthFirstLayers); // the probes run on chunks, in the chunk buffers
        using var scope = new ThreadScope(1);
        foreach (int threads in new[] { 1, 2 })
        {
            Parallelism.Threads = threads;
            foreach (int batch in new[] { 1, 6 })
                model.Predict(BatchNormFoldingTests.RandomBatch(model.InputShape, batch, seed: batch));
        }
        Assert.True(first.Calls > 0 && second.Calls > 0);
        Assert.Empty(first.Misaligned.Concat(second.Misaligned));
    }

    /// <summary>Copies its input to its output, noting every span it was handed that did not start at a 64-byte boundary.</summary>
    private sealed class AlignmentProbe : Layer
    {
        public int Calls;
        public readonly System.Collections.Concurrent.ConcurrentBag<string> Misaligned = [];

        protected override string BaseName => "alignment_probe";

        protected internal override bool RunsOnSampleChunks => true;

        protected internal override Shape Build(LayerBuild build) => build.InputShape;

        protected internal override unsafe void RunForward(in NodeContext c)
        {
            System.Threading.Interlocked.Increment(ref Calls);
            var x = c.Input();
            var y = c.Output;
            fixed (float* input = x, output = y)
            {
                if (((nint)input & 63) != 0) Misaligned.Add($"{Name}'s input, batch {c.Batch}, part {c.Part} of {c.Parts}");
                if (((nint)output & 63) != 0) Misaligned.Add($"{Name}'s output, batch {c.Batch}, part {c.Part} of {c.Parts}");
            }
            var (s, e) = c.Rows;
            int row = c.OutputShape.Size;
            x.Slice(s * row, (e - s) * row).CopyTo(y.Slice(s * row));
        }

        protected internal override void RunBackward(in NodeContext c) => throw new NotSupportedException("inference only");
    }

    /// <summary>Subtracts the batch's mean of every value: a layer whose output depends on the other samples.</summary>
    private sealed class BatchMeanShift : Layer
    {
        protected override string BaseName => "batch_mean_shift";

        protected internal override Shape Build(LayerBuild build) => build.InputShape;

        protected internal override void RunForward(in NodeContext c)
        {
            if (c.Part != 0) return;
            int row = c.OutputShape.Size;
            var x = c.Input();
            var y = c.Output;
            for (int i = 0; i < row; i++)
            {
                double sum = 0;
                for (int n = 0; n < c.Batch; n++) sum += x[n * row + i];
                for (int n = 0; n < c.Batch; n++) y[n * row + i] = x[n * row + i] - (float)(sum / c.Batch);
            }
        }

        protected internal override void RunBackward(in NodeContext c) => throw new NotSupportedException("inference only");
    }

    private static void AssertLayerByLayerBits(Model model, string what)
    {
        int saved = Parallelism.Threads;
        try
        {
            foreach (int batch in new[] { 1, 2, 5, 6, 13 })
            {
                var x = BatchNormFoldingTests.RandomBatch(model.InputShape, batch, seed: 20 + batch);
                var other = BatchNormFoldingTests.RandomBatch(model.InputShape, batch, seed: 40 + batch);
                Parallelism.Threads = 1;
                model.RunsDepthFirst = false;
                var expected = ModelTestData.Bits(model.Predict(x, batchSize: 6));
                model.RunsDepthFirst = true;
                foreach (int threads in new[] { 1, 2, 3 })
                    foreach (int chunk in new[] { 0, 1, 2, 5 })
                    {
                        Parallelism.Threads = threads;
                        model.DepthFirstChunk = chunk;
                        model.Predict(other, batchSize: 6); // every buffer now holds another batch's values
                        Assert.True(expected.SequenceEqual(ModelTestData.Bits(model.Predict(x, batchSize: 6))),
                            $"{what}: batch {batch}, {threads} threads, chunks of {(chunk == 0 ? "the planned size" : chunk)}");
                    }
            }
        }
        finally
        {
            Parallelism.Threads = saved;
            model.RunsDepthFirst = true;
            model.DepthFirstChunk = 0;
        }
    }
}
