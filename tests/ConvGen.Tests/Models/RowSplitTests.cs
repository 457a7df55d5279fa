using System;
using System.Linq;
using ConvGen.Testing;
using ConvGen.Tests.Tutorial;
using Xunit;

namespace ConvGen.Tests.Models;

/// <summary>A 3x3, stride-2 'same' convolution (the padded copy, an odd output width) for the row tests.</summary>
[Conv2D(3, 3, Filters = 20, InputChannels = 5, Padding = Padding.Same, Stride = 2)]
public partial class RowsStride2;

/// <summary>A 1x1 'same' convolution: 'same' that pads nothing.</summary>
[Conv2D(1, 1, Filters = 7, InputChannels = 3, Padding = Padding.Same)]
public partial class RowsPointwise;

/// <summary>
/// With fewer samples than threads (one image), a convolution's threads split its output rows instead of its samples. The rows
/// of <c>ForwardRows</c> put together are exactly <c>Forward</c>, it writes no other row, and a model predicting one image gives
/// the same bits on 1, 2 and 3 threads (fused conv + pool, plain convolutions, residual Adds).
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class RowSplitTests
{
    private delegate void Rows(float[] x, int n, int h, int w, float[] k, float[] b, float[] y, int r0, int r1);

    private delegate void Whole(float[] x, int n, int h, int w, float[] k, float[] b, float[] y);

    public static TheoryData<string, int, int, int, int> Layers() => new()
    {
        { nameof(RowsStride2), 2, 9, 11, 4 },
        { nameof(RowsPointwise), 3, 6, 5, 16 },
        { nameof(SmallConv), 1, 28, 28, 8 },
        { nameof(Corr3x3), 2, 8, 6, 4 },
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void Rows_put_together_are_the_whole_forward_pass_and_nothing_else_is_written(string layer, int n, int h, int w, int lanes)
    {
        using var width = new LanesScope(lanes);
        var (spec, whole, rows, oh, ow) = layer switch
        {
            nameof(RowsStride2) => (RowsStride2.Spec, (Whole)((x, b0, b1, b2, k, b, y) => RowsStride2.Forward(x, b0, b1, b2, k, b, y)),
                (Rows)((x, b0, b1, b2, k, b, y, r0, r1) => RowsStride2.ForwardRows(x, b0, b1, b2, k, b, y, r0, r1)), RowsStride2.OutputHeight(h), RowsStride2.OutputWidth(w)),
            nameof(RowsPointwise) => (RowsPointwise.Spec, (x, b0, b1, b2, k, b, y) => RowsPointwise.Forward(x, b0, b1, b2, k, b, y),
                (x, b0, b1, b2, k, b, y, r0, r1) => RowsPointwise.ForwardRows(x, b0, b1, b2, k, b, y, r0, r1), RowsPointwise.OutputHeight(h), RowsPointwise.OutputWidth(w)),
            nameof(SmallConv) => (SmallConv.Spec, (x, b0, b1, b2, k, b, y) => SmallConv.Forward(x, b0, b1, b2, k, b, y),
                (x, b0, b1, b2, k, b, y, r0, r1) => SmallConv.ForwardRows(x, b0, b1, b2, k, b, y, r0, r1), SmallConv.OutputHeight(h), SmallConv.OutputWidth(w)),
            _ => (Corr3x3.Spec, (x, b0, b1, b2, k, b, y) => Corr3x3.Forward(x, b0, b1, b2, k, b, y),
                (x, b0, b1, b2, k, b, y, r0, r1) => Corr3x3.ForwardRows(x, b0, b1, b2, k, b, y, r0, r1), Corr3x3.OutputHeight(h), Corr3x3.OutputWidth(w)),
        };
        var rng = new Random(h * 31 + w);
        float[] Random(int count) => Enumerable.Range(0, count).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        var x = Random(n * h * w * spec.InputChannels);
        var k = Random(spec.WeightCount);
        var b = spec.UseBias ? Random(spec.Filters) : [];
        int row = ow * spec.Filters;
        var expected = new float[n * oh * row];
        whole(x, n, h, w, k, b, expected);

        // Three ranges (one may be empty) in a shuffled order.
        int a = oh / 3, c = 2 * oh / 3 + 1 > oh ? oh : 2 * oh / 3 + 1;
        var actual = Enumerable.Repeat(float.NaN, expected.Length).ToArray();
        foreach (var (r0, r1) in new[] { (a, c), (c, oh), (0, a) }) rows(x, n, h, w, k, b, actual, r0, r1);
        Assert.Equal(expected, actual);

        // One range alone writes only its rows.
        var partial = Enumerable.Repeat(float.NaN, expected.Length).ToArray();
        rows(x, n, h, w, k, b, partial, a, c);
        for (int s = 0; s < n; s++)
            for (int r = 0; r < oh; r++)
            {
                var written = partial.AsSpan((s * oh + r) * row, row).ToArray();
                if (r >= a && r < c) Assert.Equal(expected.AsSpan((s * oh + r) * row, row).ToArray(), written);
                else Assert.All(written, v => Assert.True(float.IsNaN(v), $"row {r} of sample {s} is outside [{a}, {c}) but was written"));
            }
    }

    public static TheoryData<string> Models() => new() { nameof(TutorialNet), nameof(ResidualNet), "Sequential" };

    [Theory]
    [MemberData(nameof(Models))]
    public void One_image_on_two_and_three_threads_gives_the_bits_of_one_thread(string name)
    {
        int saved = Parallelism.Threads;
        try
        {
            Model Create() => name switch
            {
                nameof(TutorialNet) => new TutorialNet(maxBatchSize: 1, seed: 3),
                nameof(ResidualNet) => new ResidualNet(maxBatchSize: 1, seed: 3),
                _ => new Sequential(new SmallConv(), new MaxPool2D(2), new SmallConv3x3Valid(), new Flatten(), new Dense(10)).Build(new Shape(28, 28, 1), seed: 3),
            };
            var model = Create();
            var (images, _) = ModelTestData.RandomImages(1, seed: 5);
            var (other, _) = ModelTestData.RandomImages(1, seed: 6);
            Parallelism.Threads = 1;
            var one = ModelTestData.Bits(model.Predict(images));
            foreach (int threads in new[] { 2, 3 })
            {
                Parallelism.Threads = 1;
                model.Predict(other); // every row of every buffer now holds another image's values, so a row left unwritten shows
                Parallelism.Threads = threads;
                Assert.Equal(one, ModelTestData.Bits(model.Predict(images)));
            }
        }
        finally
        {
            Parallelism.Threads = saved;
        }
    }

    /// <summary>
    /// A Dense layer with fewer rows than the GEMM packs reads its kernel from a panel of 64-column blocks, made from the weights
    /// (each thread its own blocks): after every way the weights change, and between the folded and the unfolded pass, the panel
    /// on any number of threads gives the bits of the kernel read in place (the packed product of a batch of 9, whose rows do not depend on each other).
    /// The first layer's kernel (270,000 weights) is large enough to be split for one sample; the second (folded) one is split
    /// only for batches of at least the thread count.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Dense_panels_follow_every_change_of_the_weights_and_keep_the_bits_of_the_kernel_read_in_place(int threads)
    {
        int saved = Parallelism.Threads;
        try
        {
            var model = new Sequential(new Dense(900, Activation.ReLU), new Dense(37), new BatchNormalization()).Build(new Shape(300), seed: 4);
            model.Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
            var random = new Random(7);
            var x = new Tensor(new Shape(9, 300));
            for (int i = 0; i < x.Length; i++) x[i / 300, i % 300] = (float)(random.NextDouble() * 2 - 1);
            int[] labels = [1, 5, 9, 30, 2, 0, 4, 8, 36];

            void AssertInPlaceBits(string what)
            {
                Parallelism.Threads = 1;
                var inPlace = ModelTestData.Bits(model.Predict(x)); // 9 rows: packed, the kernel read in place
                foreach (int batch in new[] { 1, 3, 5 })
                {
                    var rows = x.SliceBatch(0, batch);
                    foreach (int t in new[] { threads, 1 })
                    {
                        Parallelism.Threads = t;
                        Assert.True(ModelTestData.Bits(model.Predict(rows)).SequenceEqual(inPlace.Take(batch * 37)), $"{what}: batch {batch} on {t} threads");
                    }
                }
                Parallelism.Threads = threads;
            }

            AssertInPlaceBits("fresh");
            var before = model.Predict(x.SliceBatch(0, 1)).ToArray();
            model.Layers[1].Parameters[1].Value[2] += 3f;
            Assert.NotEqual(before, model.Predict(x.SliceBatch(0, 1)).ToArray());
            AssertInPlaceBits("after an element was set");
            model.TrainStep(x, labels);
            AssertInPlaceBits("after a training step");
            model.FoldsBatchNormalization = false;
            AssertInPlaceBits("unfolded");
            model.FoldsBatchNormalization = true;
            AssertInPlaceBits("folded again");
            var kernel = model.Layers[0].Parameters[0].Value.Span;
            model.Predict(x.SliceBatch(0, 1));
            kernel[5] -= 2f;
            AssertInPlaceBits("after a write through a span taken before the last Predict");
        }
        finally
        {
            Parallelism.Threads = saved;
        }
    }
}

/// <summary>A Valid 3x3 convolution on SmallConv's 8 channels, for the Sequential of <see cref="RowSplitTests"/>.</summary>
[Conv2D(3, 3, Filters = 6, InputChannels = 8, Activation = Activation.ReLU)]
public partial class SmallConv3x3Valid;
