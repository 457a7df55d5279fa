using System;
using System.Linq;
using ConvGen.Testing;
using ConvGen.Tests.Tutorial;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests.Conv1DRuntime;

// Kernels of one row, the run-time side of Keras' Conv1D: each [Conv2D(1, k, ...)] class serves as the TKernel of a
// Conv1DLayer (as the class a [Conv1D] declaration generates will). Kernels 1 to 5, strides 1 to 3, dilations 1 to 3,
// channels 1 to 9 (8 is one vector of 8 floats; the others leave a tail at every width), Valid and Same, with and without bias and ReLU. Causal padding
// is the layer's (CausalConv1D below), over the Valid ones.

[Conv2D(1, 1)]
public partial class Row1;

[Conv2D(1, 2, InputChannels = 3, Filters = 5, StrideWidth = 2)]
public partial class Row2Stride2;

[Conv2D(1, 3, InputChannels = 9, Filters = 7, DilationWidth = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class Row3SameDilated2Relu;

[Conv2D(1, 3, InputChannels = 5, Filters = 3, DilationWidth = 3, UseBias = false)]
public partial class Row3Dilated3NoBias;

[Conv2D(1, 5, InputChannels = 7, Filters = 9, StrideWidth = 3, DilationWidth = 2)]
public partial class Row5Stride3Dilated2;

[Conv2D(1, 4, InputChannels = 2, Filters = 6, StrideWidth = 3, Padding = Padding.Same, UseBias = false)]
public partial class Row4SameStride3NoBias;

[Conv2D(1, 5, InputChannels = 1, Filters = 4, StrideWidth = 2, DilationWidth = 3, Padding = Padding.Same)]
public partial class Row5SameStride2Dilated3;

[Conv2D(1, 2, InputChannels = 8, Filters = 17, Activation = Activation.ReLU)]
public partial class Row2Relu;

[Conv2D(1, 3, InputChannels = 6, Filters = 2, StrideWidth = 2, DilationWidth = 2, UseBias = false, Activation = Activation.ReLU)]
public partial class Row3Stride2Dilated2Relu;

[Conv2D(1, 4, InputChannels = 5, Filters = 3, Padding = Padding.Same)]
public partial class Row4Same;

/// <summary>Not a kernel of one row: a vertical stride.</summary>
[Conv2D(1, 3, StrideHeight = 2)]
public partial class RowStrideHeight2;

/// <summary>Keras' <c>Conv1D(padding='causal')</c> over a Valid kernel, as a generated <c>[Conv1D(k, Padding = Padding.Causal)]</c> class will be.</summary>
public sealed class CausalConv1D<TKernel> : Conv1DLayer<TKernel> where TKernel : IConv2DKernel
{
    public override bool Causal => true;
}

/// <summary>
/// <see cref="Conv1DLayer{TKernel}"/> against Keras' definition of Conv1D, written as plain loops in double precision (valid,
/// TF 'same', and causal: left-pad <c>(k - 1) * dilation</c> zero steps, then valid), over random step counts, batches and
/// thread counts around the kernels above, at 16, 8 and 4 floats a vector; its gradients against central differences; and in a trained Sequential.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class Conv1DRuntimeTests(ITestOutputHelper output)
{
    private sealed record Case(string Name, Conv2DSpec Spec, Func<bool, Layer> Create)
    {
        public long Extent => (long)(Spec.KernelWidth - 1) * Spec.DilationWidth + 1;

        public override string ToString() => Name;
    }

    private static Case Of<T>() where T : IConv2DKernel
        => new(typeof(T).Name, T.Spec, causal => causal ? new CausalConv1D<T>() : new Conv1DLayer<T>());

    private static readonly Case[] Kernels =
    [
        Of<Row1>(), Of<Row2Stride2>(), Of<Row3SameDilated2Relu>(), Of<Row3Dilated3NoBias>(), Of<Row5Stride3Dilated2>(),
        Of<Row4SameStride3NoBias>(), Of<Row5SameStride2Dilated3>(), Of<Row2Relu>(), Of<Row3Stride2Dilated2Relu>(), Of<Row4Same>(),
    ];

    public static TheoryData<int> Threads => new() { 1, 2 };

    [Theory]
    [MemberData(nameof(Threads))]
    public void Forward_and_gradients_match_the_Keras_definition_over_random_configurations(int threads)
    {
        using var scope = new ThreadScope(threads);
        var rng = new Random(1000 + threads);
        int cases = 0, causalCases = 0;
        foreach (var k in Kernels)
        {
            for (int trial = 0; trial < 20; trial++)
            {
                int lanes = new[] { 16, 8, 4 }[trial % 3];
                using var width = new LanesScope(lanes);
                bool causal = k.Spec.Padding == Padding.Valid && trial % 2 == 1;
                // Valid needs the window; Same and causal take any length, down to one step.
                int min = causal || k.Spec.Padding == Padding.Same ? 1 : (int)k.Extent;
                int steps = min + rng.Next(0, 14);
                int batch = trial < 2 ? 1 : rng.Next(2, 6);
                CheckAgainstReference(k, causal, steps, batch, rng, $"{k}{(causal ? " causal" : "")}, {steps} steps, batch {batch}, {threads} threads, {lanes} floats a vector");
                cases++;
                if (causal) causalCases++;
            }
        }
        output.WriteLine($"{cases} configurations ({causalCases} causal) at {threads} threads");
    }

    private static void CheckAgainstReference(Case k, bool causal, int steps, int batch, Random rng, string where)
    {
        var s = k.Spec;
        var layer = k.Create(causal);
        var harness = new LayerHarness(layer, new Shape(steps, s.InputChannels), seed: 1);
        var weights = RandomConfigurationTests.RandomArray(rng, s.KernelWidth * s.InputChannels * s.Filters);
        var bias = s.UseBias ? RandomConfigurationTests.RandomArray(rng, s.Filters) : [];
        weights.CopyTo(layer.Parameters[0].Value.Span);
        if (s.UseBias) bias.CopyTo(layer.Parameters[1].Value.Span);
        var x = RandomConfigurationTests.RandomArray(rng, batch * steps * s.InputChannels);

        var expected = Reference.Forward(s, causal, x, batch, steps, weights, bias);
        int outSteps = Reference.Geometry(s, causal, steps).OutSteps;
        var y = harness.Forward(new Tensor(new Shape(batch, steps, s.InputChannels), x), training: true);
        Assert.Equal(new Shape(batch, outSteps, s.Filters), y.Shape);
        var actual = y.ToArray();
        RandomConfigurationTests.AssertClose(expected, actual, s.KernelWidth * s.InputChannels, "forward of " + where);

        var dy = RandomConfigurationTests.RandomArray(rng, actual.Length);
        // The backward pass of the ReLU is the mask of the layer's own output (which the forward check found close to the reference's).
        var dyMasked = s.Activation == Activation.ReLU ? dy.Select((g, i) => actual[i] > 0 ? g : 0f).ToArray() : dy;
        var (rdx, rdw, rdb) = Reference.Backward(s, causal, x, batch, steps, weights, dyMasked);
        harness.Model.ZeroGradients();
        var dx = harness.Backward(new Tensor(y.Shape, dy)).ToArray();
        RandomConfigurationTests.AssertClose(rdx, dx, s.KernelWidth * s.Filters, "input gradient of " + where);
        RandomConfigurationTests.AssertClose(rdw, layer.Parameters[0].Gradient.ToArray(), batch * outSteps, "kernel gradient of " + where);
        if (s.UseBias) RandomConfigurationTests.AssertClose(rdb, layer.Parameters[1].Gradient.ToArray(), batch * outSteps, "bias gradient of " + where);
    }

    [Fact]
    public void Causal_output_step_t_reads_no_later_input_step()
    {
        // Kernel 3, dilation 3, stride 1: output step t reads input steps t - 6, t - 3 and t, and no other.
        var layer = new CausalConv1D<Row3Dilated3NoBias>();
        var harness = new LayerHarness(layer, new Shape(10, 5), seed: 2);
        var x = new Tensor(new Shape(1, 10, 5), RandomConfigurationTests.RandomArray(new Random(3), 50));
        var before = harness.Forward(x).ToArray();
        for (int c = 0; c < 5; c++) x.Span[7 * 5 + c] += 1f; // change input step 7
        var after = harness.Forward(x).ToArray();
        for (int t = 0; t < 10; t++)
        for (int f = 0; f < 3; f++)
        {
            bool reads = t == 7 || t - 3 == 7 || t - 6 == 7;
            Assert.True(reads == (before[t * 3 + f] != after[t * 3 + f]), $"output step {t}, filter {f}");
        }
    }

    public static TheoryData<string, bool, int> GradientCases()
    {
        var data = new TheoryData<string, bool, int>();
        foreach (var k in Kernels)
        foreach (int threads in new[] { 1, 2 })
        {
            data.Add(k.Name, false, threads);
            if (k.Spec.Padding == Padding.Valid) data.Add(k.Name, true, threads);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void Gradients_match_central_differences(string kernel, bool causal, int threads)
    {
        using var scope = new ThreadScope(threads);
        var k = Kernels.Single(c => c.Name == kernel);
        int steps = (int)k.Extent + 4;
        var model = new Sequential(k.Create(causal)).Build(new Shape(steps, k.Spec.InputChannels), seed: 5);
        if (k.Spec.UseBias) RandomConfigurationTests.RandomArray(new Random(6), k.Spec.Filters).CopyTo(model.Parameters[1].Value.Span);
        var x = new Tensor(new Shape(3, steps, k.Spec.InputChannels), RandomConfigurationTests.RandomArray(new Random(7), 3 * steps * k.Spec.InputChannels));
        ModelGradientCheck.AssertPasses(model, x, seed: 8, log: output.WriteLine);
    }

    public static TheoryData<bool> Orders => new() { false, true };

    /// <summary>
    /// Two convolutions reading the model's input, added: one writes the input gradient and the other adds to it. Either order,
    /// so that both the causal and the unpadded layer add.
    /// </summary>
    [Theory]
    [MemberData(nameof(Orders))]
    public void Input_gradients_add_when_the_input_has_two_readers(bool causalFirst)
    {
        using var scope = new ThreadScope(2);
        var model = (causalFirst
                ? new Sequential(new CausalConv1D<Row3Dilated3NoBias> { Name = "a" }, new Conv1DLayer<Row4Same> { Input = "input" })
                : new Sequential(new Conv1DLayer<Row4Same> { Name = "a" }, new CausalConv1D<Row3Dilated3NoBias> { Input = "input" }))
            .Add(new Add("a")).Add(new MaxPool1D(2, padding: Padding.Same))
            .Build(new Shape(11, 5), seed: 9);
        var x = new Tensor(new Shape(4, 11, 5), RandomConfigurationTests.RandomArray(new Random(10), 4 * 11 * 5));
        ModelGradientCheck.AssertPasses(model, x, seed: 11, log: output.WriteLine);
    }

    [Fact]
    public void Relu_convolution_before_a_max_pool_leaves_its_mask_to_the_pool()
    {
        var model = new Sequential(new CausalConv1D<Row3Stride2Dilated2Relu>(), new MaxPool1D(3, 2), new Conv1DLayer<Row4SameStride3NoBias>(), new GlobalMaxPooling1D())
            .Build(new Shape(23, 6), seed: 12);
        Assert.Equal("max_pooling1d", model.Nodes[0].ReluAppliedBy);
        var x = new Tensor(new Shape(3, 23, 6), RandomConfigurationTests.RandomArray(new Random(13), 3 * 23 * 6));
        ModelGradientCheck.AssertPasses(model, x, seed: 14, log: output.WriteLine);
    }

    private const int SequenceSteps = 24, SequenceClasses = 3;

    /// <summary>A causal convolution, a max pool, a Same convolution, an average pool and a global average pool, then Dense.</summary>
    private static Sequential SequenceModel(int seed) => new Sequential(
            new CausalConv1D<Row2Stride2>(), new MaxPool1D(2, padding: Padding.Same), new Conv1DLayer<Row4Same>(),
            new AveragePool1D(3, 1, Padding.Same), new GlobalAveragePooling1D(), new Dense(SequenceClasses))
        .Build(new Shape(SequenceSteps, 3), seed)
        .Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));

    /// <summary>Sequences whose class is the channel that carries a bump of 1 at a random step; every channel has some noise.</summary>
    private static (Tensor X, int[] Labels) SequenceBatch(Random rng, int n)
    {
        var x = new Tensor(new Shape(n, SequenceSteps, 3));
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = rng.Next(SequenceClasses);
            for (int j = 0; j < SequenceSteps * 3; j++) x.Span[i * SequenceSteps * 3 + j] = (float)(rng.NextDouble() - 0.5) * 0.2f;
            x.Span[(i * SequenceSteps + rng.Next(SequenceSteps)) * 3 + labels[i]] += 1f;
        }
        return (x, labels);
    }

    [Fact]
    public void A_Sequential_of_1D_layers_builds_predicts_and_trains()
    {
        using var scope = new ThreadScope(2);
        var model = SequenceModel(seed: 15);
        Assert.Equal(new[] { new Shape(12, 5), new Shape(6, 5), new Shape(6, 3), new Shape(6, 3), new Shape(3), new Shape(SequenceClasses) }, model.OutputShapes);
        Assert.Equal(["conv1d", "max_pooling1d", "conv1d_1", "average_pooling1d", "global_average_pooling1d", "dense"], model.LayerNames);
        var named = model.NamedParameters();
        Assert.Equal(("conv1d/kernel", new Shape(2, 3, 5)), (named[0].Name, named[0].Tensor.Shape));
        Assert.Equal(("conv1d/bias", new Shape(5)), (named[1].Name, named[1].Tensor.Shape));
        Assert.Equal(("conv1d_1/kernel", new Shape(4, 5, 3)), (named[2].Name, named[2].Tensor.Shape));
        string summary = model.Summary();
        Assert.Contains("conv1d (Conv1D)", summary);
        Assert.Contains("max_pooling1d (MaxPool1D)", summary);

        var rng = new Random(16);
        var losses = Enumerable.Range(0, 200).Select(_ =>
        {
            var (x, labels) = SequenceBatch(rng, 16);
            return model.TrainStep(x, labels);
        }).ToArray();
        float first = losses.Take(5).Average(), last = losses.TakeLast(5).Average();
        output.WriteLine($"loss {first:F4} -> {last:F4}");
        Assert.True(last < 0.5f * first, $"the loss went from {first} to {last}");

        var (test, _) = SequenceBatch(rng, 7);
        var predicted = model.Predict(test, batchSize: 3);
        Assert.Equal(new Shape(7, SequenceClasses), predicted.Shape);
        Assert.Equal(model.Forward(test).ToArray(), predicted.ToArray());
    }

    [Theory]
    [MemberData(nameof(Threads))]
    public void A_training_step_of_1D_layers_allocates_nothing_after_warm_up(int threads)
    {
        using var scope = new ThreadScope(threads);
        var model = SequenceModel(seed: 17);
        var (x, labels) = SequenceBatch(new Random(18), 16);
        for (int i = 0; i < 20; i++) model.TrainStep(x, labels);

        long thread = GC.GetAllocatedBytesForCurrentThread(), workers = Model.WorkerAllocatedBytes;
        for (int i = 0; i < 5; i++) model.TrainStep(x, labels);
        long threadBytes = GC.GetAllocatedBytesForCurrentThread() - thread, workerBytes = Model.WorkerAllocatedBytes - workers;
        output.WriteLine($"{threads} thread(s): 5 steps allocated {threadBytes} B on the calling thread and {workerBytes} B on the workers");
        Assert.Equal(0, threadBytes);
        Assert.Equal(0, workerBytes);
    }

    [Fact]
    public void Bad_input_shapes_name_the_layer_and_the_expected_shape()
    {
        foreach (var shape in new[] { new Shape(20), new Shape(20, 8), new Shape(1, 20, 9) })
        {
            var e = Assert.Throws<ShapeMismatchException>(() => new Sequential(new Conv1DLayer<Row3SameDilated2Relu>()).Build(shape));
            Assert.Contains("conv1d", e.Message);
            Assert.Equal("(steps, 9)", e.Expected);
            Assert.Equal(shape.ToString(), e.Actual);
        }
        // Valid needs the dilated window (9 steps); causal pads it.
        var tooShort = Assert.Throws<ShapeMismatchException>(() => new Sequential(new Conv1DLayer<Row5Stride3Dilated2>()).Build(new Shape(8, 7)));
        Assert.Contains("conv1d", tooShort.Message);
        Assert.Contains("at least (9, 7)", tooShort.Expected);
        Assert.Equal(new Shape(3, 9), new Sequential(new CausalConv1D<Row5Stride3Dilated2>()).Build(new Shape(8, 7)).OutputShape);
        // A 1-D layer after a 2-D one names both.
        var after2D = Assert.Throws<ShapeMismatchException>(() => new Sequential(new ValidNoBias(), new Conv1DLayer<Row2Relu>()).Build(new Shape(5, 5, 7)));
        Assert.Contains("conv1d", after2D.Message);
        Assert.Contains("(steps, 8)", after2D.Message);
    }

    [Fact]
    public void Kernels_of_more_than_one_row_and_causal_Same_kernels_are_refused_at_build()
    {
        var tall = Assert.Throws<InvalidOperationException>(() => new Sequential(new Conv1DLayer<Corr3x3>()).Build(new Shape(10, 1)));
        Assert.Contains("conv1d", tall.Message);
        Assert.Contains("Corr3x3 is 3x3", tall.Message);
        var strided = Assert.Throws<InvalidOperationException>(() => new Sequential(new Conv1DLayer<RowStrideHeight2>()).Build(new Shape(10, 1)));
        Assert.Contains("strides 2x1", strided.Message);
        var causalSame = Assert.Throws<InvalidOperationException>(() => new Sequential(new CausalConv1D<Row4Same>()).Build(new Shape(10, 5)));
        Assert.Contains("Valid", causalSame.Message);
    }

    /// <summary>Keras' Conv1D, from its definition, in double precision: weights <c>[k, c, f]</c>, NWC activations.</summary>
    private static class Reference
    {
        /// <summary>Output steps and the zero steps before the first input step (causal: <c>(k - 1) * dilation</c>, then valid).</summary>
        public static (int OutSteps, int Left) Geometry(Conv2DSpec s, bool causal, int steps)
        {
            int k = s.KernelWidth, stride = s.StrideWidth, extent = (k - 1) * s.DilationWidth + 1;
            if (causal) return ((steps + extent - 1 - extent) / stride + 1, extent - 1);
            if (s.Padding == Padding.Valid) return ((steps - extent) / stride + 1, 0);
            int outSteps = (steps + stride - 1) / stride;
            return (outSteps, Math.Max((outSteps - 1) * stride + extent - steps, 0) / 2);
        }

        public static float[] Forward(Conv2DSpec s, bool causal, float[] x, int batch, int steps, float[] w, float[] b)
        {
            var (outSteps, left) = Geometry(s, causal, steps);
            int c = s.InputChannels, f = s.Filters;
            var y = new float[batch * outSteps * f];
            for (int n = 0; n < batch; n++)
            for (int t = 0; t < outSteps; t++)
            for (int o = 0; o < f; o++)
            {
                double sum = s.UseBias ? b[o] : 0;
                for (int j = 0; j < s.KernelWidth; j++)
                {
                    int at = t * s.StrideWidth - left + j * s.DilationWidth;
                    if (at < 0 || at >= steps) continue;
                    for (int i = 0; i < c; i++) sum += (double)x[(n * steps + at) * c + i] * w[(j * c + i) * f + o];
                }
                y[(n * outSteps + t) * f + o] = (float)(s.Activation == Activation.ReLU ? Math.Max(sum, 0) : sum);
            }
            return y;
        }

        /// <summary>Gradients of <c>Σ g·y</c> before the activation, for the input, the kernel and the bias.</summary>
        public static (float[] Dx, float[] Dw, float[] Db) Backward(Conv2DSpec s, bool causal, float[] x, int batch, int steps, float[] w, float[] g)
        {
            var (outSteps, left) = Geometry(s, causal, steps);
            int c = s.InputChannels, f = s.Filters;
            double[] dx = new double[x.Length], dw = new double[w.Length], db = new double[f];
            for (int n = 0; n < batch; n++)
            for (int t = 0; t < outSteps; t++)
            for (int o = 0; o < f; o++)
            {
                double gv = g[(n * outSteps + t) * f + o];
                db[o] += gv;
                for (int j = 0; j < s.KernelWidth; j++)
                {
                    int at = t * s.StrideWidth - left + j * s.DilationWidth;
                    if (at < 0 || at >= steps) continue;
                    for (int i = 0; i < c; i++)
                    {
                        int xi = (n * steps + at) * c + i, wi = (j * c + i) * f + o;
                        dx[xi] += gv * w[wi];
                        dw[wi] += gv * x[xi];
                    }
                }
            }
            return (Array.ConvertAll(dx, v => (float)v), Array.ConvertAll(dw, v => (float)v), Array.ConvertAll(db, v => (float)v));
        }
    }
}
