using System;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

[Collection(ProcessWideSettings.Name)]
public class DenseTests
{
    [Fact]
    public void Build_creates_glorot_kernel_and_zero_bias_as_views_of_the_model()
    {
        var dense = new Dense(4);
        var model = new Sequential(dense).Build(new Shape(6), seed: 3);
        Assert.Equal(new Shape(4), model.OutputShape);
        Assert.Equal(new Shape(6, 4), dense.Kernel.Value.Shape);
        Assert.Equal(new Shape(4), dense.Bias!.Value.Shape);
        Assert.Equal(new[] { dense.Kernel, dense.Bias }, dense.Parameters);
        Assert.Equal(model.Parameters, dense.Parameters);
        float limit = MathF.Sqrt(6f / (6 + 4));
        Assert.All(dense.Kernel.Value.ToArray(), w => Assert.InRange(w, -limit, limit));
        Assert.All(dense.Bias.Value.ToArray(), b => Assert.Equal(0f, b));
        // The parameters live in the model's one buffer: kernel, then bias.
        Assert.Equal(dense.Kernel.Value.ToArray(), model.ParameterBuffer[..24].ToArray());

        var again = new Dense(4);
        var other = new Sequential(again).Build(new Shape(6), seed: 3);
        Assert.Equal(dense.Kernel.Value.ToArray(), again.Kernel.Value.ToArray());
        other.Initialize(4);
        Assert.NotEqual(dense.Kernel.Value.ToArray(), again.Kernel.Value.ToArray());
    }

    [Fact]
    public void Without_bias_has_only_a_kernel()
    {
        var dense = new Dense(3, useBias: false);
        new Sequential(dense).Build(new Shape(2), 0);
        Assert.Null(dense.Bias);
        Assert.Single(dense.Parameters);
    }

    [Fact]
    public void Forward_computes_xW_plus_b_with_fused_relu()
    {
        var dense = new Dense(2, Activation.ReLU);
        var layer = new LayerHarness(dense, new Shape(3));
        new float[] { 1, -1, 2, 0, 0.5f, 1 }.CopyTo(dense.Kernel.Value.Span); // W = [[1,-1],[2,0],[0.5,1]]
        new float[] { 0.5f, -4 }.CopyTo(dense.Bias!.Value.Span);
        var y = layer.Forward(new Tensor(new Shape(2, 3), [1, 2, 3, -1, 0, 2]));
        // row 0: [1+4+1.5+0.5, -1+0+3-4] = [7, -2] -> relu [7, 0]; row 1: [-1+0+1+0.5, 1+0+2-4] = [0.5, -1] -> [0.5, 0]
        Assert.Equal(new Shape(2, 2), y.Shape);
        Assert.Equal(new float[] { 7, 0, 0.5f, 0 }, y.ToArray());
    }

    [Theory]
    [InlineData(3, 5, 4, Activation.None, true, 1)]
    [InlineData(1, 7, 3, Activation.ReLU, true, 2)]
    [InlineData(4, 9, 17, Activation.None, false, 3)]
    [InlineData(5, 13, 10, Activation.ReLU, true, 4)]
    [InlineData(2, 1, 1, Activation.None, true, 5)]
    [InlineData(6, 20, 9, Activation.ReLU, false, 6)]
    public void Backward_matches_central_differences(int batch, int features, int units, Activation activation, bool useBias, int seed)
    {
        var bias = TestData.Uniform(units, seed + 100, -0.3f, 0.3f);
        void SetBias(Layer layer)
        {
            if (useBias) bias.CopyTo(((Dense)layer).Bias!.Value.Span);
        }
        var input = TestData.Tensor(seed, batch, features);
        if (activation == Activation.ReLU)
        {
            // Keep every pre-activation clear of the ReLU kink, so ±ε on one input or weight cannot cross it.
            var linear = new Dense(units, Activation.None, useBias);
            var probe = new LayerHarness(linear, new Shape(features), seed);
            SetBias(linear);
            for (int attempt = 0; ; attempt++)
            {
                input = TestData.Tensor(seed * 1000 + attempt, batch, features);
                float margin = float.MaxValue;
                foreach (float z in probe.Forward(input).Span) margin = Math.Min(margin, Math.Abs(z));
                if (margin > 0.03f) break;
                Assert.True(attempt < 10000, "no input found with pre-activations away from 0");
            }
        }
        int compared = GradientCheck.Check(new Dense(units, activation, useBias), input, seed, setUp: SetBias);
        Assert.Equal(batch * features + features * units + (useBias ? units : 0), compared);
    }

    [Fact]
    public void Backward_adds_into_the_parameter_gradients()
    {
        var dense = new Dense(3);
        var layer = new LayerHarness(dense, new Shape(4), 7);
        var x = TestData.Tensor(7, 2, 4);
        var dy = TestData.Tensor(8, 2, 3);
        layer.Forward(x, training: true);
        layer.Backward(dy);
        var dW1 = dense.Kernel.Gradient.ToArray();
        var dB1 = dense.Bias!.Gradient.ToArray();

        layer.Backward(dy);
        var dW2 = dense.Kernel.Gradient.ToArray();
        var dB2 = dense.Bias.Gradient.ToArray();
        for (int i = 0; i < dW1.Length; i++) Assert.Equal(2 * dW1[i], dW2[i], 5);
        for (int i = 0; i < dB1.Length; i++) Assert.Equal(2 * dB1[i], dB2[i], 5);
        // db = column sums of dy
        for (int j = 0; j < 3; j++) Assert.Equal(dy[0, j] + dy[1, j], dB1[j], 5);
    }

    [Fact]
    public void Image_input_is_a_shape_error_that_suggests_flatten()
    {
        var ex = Assert.Throws<ShapeMismatchException>(() => new Sequential(new Dense(10)).Build(new Shape(28, 28, 1), 0));
        Assert.Equal("inputShape", ex.ParamName);
        Assert.Contains("Layer 0 (dense)", ex.Message);
        Assert.Contains("Flatten", ex.Message);
        Assert.Contains("(28, 28, 1)", ex.Message);
        Assert.Contains("(features,)", ex.Message);
        Assert.Contains("(784,)", ex.Message);
    }

    [Fact]
    public void Use_before_a_model_is_built_is_an_invalid_operation()
    {
        var dense = new Dense(2);
        Assert.Empty(dense.Parameters);
        Assert.Throws<InvalidOperationException>(() => dense.Kernel);
        Assert.Throws<InvalidOperationException>(() => dense.Bias);
    }

    [Fact]
    public void Invalid_constructor_arguments_are_rejected()
    {
        Assert.Equal("units", Assert.Throws<ArgumentOutOfRangeException>(() => new Dense(0)).ParamName);
        Assert.Equal("activation", Assert.Throws<ArgumentOutOfRangeException>(() => new Dense(1, (Activation)42)).ParamName);
    }

    /// <summary>
    /// Inference on inputs with zeros (as after a ReLU), which the kernel's panel product leaves out for fewer than 8 rows:
    /// the naive product's values on 1 and 2 threads; and an infinite weight that only a zero input multiplies gives NaN, as
    /// zero times infinity does (a panel with an infinity or NaN leaves nothing out), in either half of the kernel's rows. The
    /// last three kernels are large enough to be summed in halves (in place at batches 1 and 3, on the panel at 9).
    /// </summary>
    [Theory]
    [InlineData(1, 700, 75)]
    [InlineData(3, 300, 10)]
    [InlineData(9, 257, 70)]
    [InlineData(1, 700, 400)]
    [InlineData(3, 1100, 250)]
    [InlineData(9, 520, 513)]
    public void Inference_on_inputs_with_zeros_matches_the_naive_product_and_keeps_zero_times_infinity(int batch, int features, int units)
    {
        var x = TestData.Uniform(batch * features, 31);
        var random = new Random(32);
        for (int i = 0; i < x.Length; i++)
            if (random.NextDouble() < 0.4) x[i] = 0;
        x[3] = 0;
        x[features - 2] = 0;
        foreach (int threads in new[] { 1, 2 })
        {
            using var scope = new ThreadScope(threads);
            var dense = new Dense(units);
            var layer = new LayerHarness(dense, new Shape(features), 6);
            TestData.Uniform(units, 33).CopyTo(dense.Bias!.Value.Span);
            var expected = Naive(x, batch, features, dense.Kernel.Value.ToArray(), units);
            for (int i = 0; i < batch; i++)
                for (int j = 0; j < units; j++) expected[i * units + j] += dense.Bias.Value[j];
            AssertNear(expected, layer.Forward(new Tensor(new Shape(batch, features), x)).ToArray(), 1e-6 * features + 1e-6);

            dense.Kernel.Value[3, units - 1] = float.PositiveInfinity; // inputs 3 and features - 2 of sample 0 are zero
            dense.Kernel.Value[features - 2, 0] = float.NegativeInfinity;
            var y = layer.Forward(new Tensor(new Shape(batch, features), x)).ToArray();
            Assert.True(float.IsNaN(y[units - 1]), $"{threads} threads: 0·∞ gave {y[units - 1]}");
            Assert.True(float.IsNaN(y[0]), $"{threads} threads: 0·(−∞) in the kernel's last rows gave {y[0]}");
            for (int j = 1; j < units - 1; j++) Assert.True(float.IsFinite(y[j]), $"{threads} threads: column {j} gave {y[j]}");
        }
    }

    /// <summary>
    /// The order of the sums, bit for bit: a kernel of at least 2^18 weights sums in inference as
    /// <c>(b + Σ_{i &lt; H} x_i·W_i) + Σ_{i ≥ H} x_i·W_i</c> (<c>H</c> half the features, each half a chain of fused multiply-adds in
    /// increasing <c>i</c>, the second from zero), at every batch (in place under 8 rows, on the panel from 8) and thread
    /// count, with zero inputs left out or not; training sums all rows in one chain; a smaller kernel sums in one chain in
    /// inference too. A BatchNormalization and a ReLU after the Dense layer, folded into it, are applied too (to the values of
    /// the double-precision product).
    /// </summary>
    [Theory]
    [InlineData(700, 400, true)]
    [InlineData(513, 520, true)]
    [InlineData(300, 200, false)]
    public void Inference_of_a_large_kernel_sums_its_rows_in_two_halves_at_every_batch_and_thread_count(int features, int units, bool halves)
    {
        if (!System.Runtime.Intrinsics.X86.Fma.IsSupported && !System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported)
            return; // the exact bits need fused multiply-adds, which every CPU this runs on has
        const int batch = 9;
        var x = TestData.Uniform(batch * features, 41);
        var random = new Random(42);
        for (int i = 0; i < x.Length; i++)
            if (random.NextDouble() < 0.3) x[i] = 0;
        var bias = TestData.Uniform(units, 43);
        float[] Expected(float[] w, bool inHalves)
        {
            int h = inHalves ? features / 2 : features;
            var y = new float[batch * units];
            for (int r = 0; r < batch; r++)
                for (int j = 0; j < units; j++)
                {
                    float first = bias[j], second = 0;
                    for (int i = 0; i < h; i++) first = MathF.FusedMultiplyAdd(x[r * features + i], w[i * units + j], first);
                    for (int i = h; i < features; i++) second = MathF.FusedMultiplyAdd(x[r * features + i], w[i * units + j], second);
                    y[r * units + j] = inHalves ? first + second : first;
                }
            return y;
        }
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var scope = new ThreadScope(threads);
            var dense = new Dense(units);
            var layer = new LayerHarness(dense, new Shape(features), 7);
            bias.CopyTo(dense.Bias!.Value.Span);
            var w = dense.Kernel.Value.ToArray();
            var inference = Expected(w, halves);
            var folded = new Sequential(new Dense(units), new BatchNormalization(), new ReLU()).Build(new Shape(features), seed: 7);
            w.CopyTo(folded.Layers[0].Parameters[0].Value.Span);
            bias.CopyTo(folded.Layers[0].Parameters[1].Value.Span);
            var product = Naive(x, batch, features, w, units);
            var normalized = new double[product.Length]; // relu((x·W + b) / sqrt(1 + 0.001)): fresh statistics, gamma 1, beta 0
            for (int e = 0; e < product.Length; e++) normalized[e] = Math.Max((product[e] + bias[e % units]) / Math.Sqrt(1 + 1e-3f), 0);
            foreach (int rows in new[] { 1, 3, 8, 9 })
            {
                var input = new Tensor(new Shape(rows, features), x.AsSpan(0, rows * features).ToArray());
                Assert.True(inference.AsSpan(0, rows * units).SequenceEqual(layer.Forward(input).ToArray()), $"inference, batch {rows} on {threads} threads");
                AssertNear(normalized.AsSpan(0, rows * units).ToArray(), folded.Predict(input).ToArray(), 1e-6 * features + 1e-6);
            }
            var all = new Tensor(new Shape(batch, features), x);
            Assert.True(Expected(w, false).AsSpan().SequenceEqual(layer.Forward(all, training: true).ToArray()), $"training on {threads} threads");
        }
    }

    private static double[] Naive(float[] a, int m, int k, float[] b, int n, bool transposeA = false, bool transposeB = false)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (double)(transposeA ? a[p * m + i] : a[i * k + p]) * (transposeB ? b[j * k + p] : b[p * n + j]);
                c[i * n + j] = s;
            }
        return c;
    }

    private static void AssertNear(double[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 13, 5)]
    [InlineData(50, 3136, 37)]
    [InlineData(3, 100, 513)]
    [InlineData(129, 64, 10)]
    public void Forward_and_backward_match_naive_products_for_1_and_2_threads_and_repeat_bit_for_bit(int batch, int features, int units)
    {
        var x = TestData.Tensor(21, batch, features);
        var dy = TestData.Tensor(22, batch, units);
        var bias = TestData.Uniform(units, 23);

        (float[] Y, float[] DW, float[] DB, float[] DX, float[] W) Run(int threads)
        {
            using var scope = new ThreadScope(threads);
            var dense = new Dense(units);
            var layer = new LayerHarness(dense, new Shape(features), 5);
            bias.CopyTo(dense.Bias!.Value.Span);
            var y = layer.Forward(x, training: true).ToArray();
            var dx = layer.Backward(dy).ToArray();
            return (y, dense.Kernel.Gradient.ToArray(), dense.Bias.Gradient.ToArray(), dx, dense.Kernel.Value.ToArray());
        }

        foreach (int threads in new[] { 1, 2 })
        {
            var first = Run(threads);
            var expectedY = Naive(x.ToArray(), batch, features, first.W, units);
            for (int i = 0; i < batch; i++)
                for (int j = 0; j < units; j++) expectedY[i * units + j] += bias[j];
            var expectedDW = Naive(x.ToArray(), features, batch, dy.ToArray(), units, transposeA: true);
            var expectedDX = Naive(dy.ToArray(), batch, units, first.W, features, transposeB: true);
            var expectedDB = new double[units];
            for (int i = 0; i < batch; i++)
                for (int j = 0; j < units; j++) expectedDB[j] += dy[i, j];
            AssertNear(expectedY, first.Y, 1e-6 * features + 1e-6);
            AssertNear(expectedDW, first.DW, 1e-6 * batch + 1e-6);
            AssertNear(expectedDB, first.DB, 1e-6 * batch + 1e-6);
            AssertNear(expectedDX, first.DX, 1e-6 * units + 1e-6);

            var second = Run(threads);
            Assert.Equal(first.Y, second.Y);
            Assert.Equal(first.DW, second.DW);
            Assert.Equal(first.DB, second.DB);
            Assert.Equal(first.DX, second.DX);
        }
    }
}
