using System;
using System.Linq;
using ConvGen.Testing;
using ConvGen.Tests.Tutorial;
using Xunit;

namespace ConvGen.Tests;

/// <summary>
/// Gradients of generated layers (in a model, with the fused activation and batch splitting) checked
/// by central differences of L = sum(y * r) for a random r. All values are dyadic (inputs multiples of 1/2, weights of
/// 1/64, r of 1/4, biases odd multiples of 1/256, eps = 1/1024), so every float sum is exact and no pre-activation can
/// reach a ReLU kink: the central difference must equal the analytic gradient, not just approximate it.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class GradientCheckTests
{
    public static TheoryData<string, int> Layers => new()
    {
        { nameof(Odd33To17), 1 }, { nameof(Odd33To17), 2 },
        { nameof(SmallSameDilated), 1 }, { nameof(SmallSameDilated), 2 },
        { nameof(ValidNoBias), 2 }, { nameof(Same3x3Stride2), 2 },
    };

    private static (Layer Layer, Conv2DSpec Spec) Create(string name) => name switch
    {
        nameof(Odd33To17) => New<Odd33To17>(),
        nameof(SmallSameDilated) => New<SmallSameDilated>(),
        nameof(ValidNoBias) => New<ValidNoBias>(),
        nameof(Same3x3Stride2) => New<Same3x3Stride2>(),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static (Layer, Conv2DSpec) New<T>() where T : Conv2DLayer<T>, IConv2DKernel, new() => (new T(), T.Spec);

    [Theory]
    [MemberData(nameof(Layers))]
    public void Backward_matches_central_differences(string layerName, int threads)
    {
        using var scope = new ThreadScope(threads);
        {
            var rng = new Random(7);
            var (created, spec) = Create(layerName);
            var inShape = new Shape(3, 7, 6, spec.InputChannels);
            var layer = new LayerHarness(created, inShape.WithoutBatch(), seed: 11);
            Fill(created.Parameters[0].Value.Span, () => rng.Next(-16, 17) / 64f);
            if (spec.UseBias) Fill(created.Parameters[1].Value.Span, () => (2 * rng.Next(-8, 8) + 1) / 256f);
            var x = new Tensor(inShape);
            Fill(x.Span, () => rng.Next(-2, 3) * 0.5f);
            var y = layer.Forward(x, training: true);
            var r = new float[y.Length];
            Fill(r, () => rng.Next(-4, 5) / 4f);

            layer.Model.ZeroGradients();
            var dx = layer.Backward(new Tensor(y.Shape, r)).ToArray();

            double Loss()
            {
                var yy = layer.Forward(x, training: true).Span;
                double s = 0;
                for (int i = 0; i < yy.Length; i++) s += (double)yy[i] * r[i];
                return s;
            }

            // Input gradient at 40 random positions, and the parameter gradients at up to 40 each.
            CheckNumeric(x.Span.ToArray().Length, i => x.Span[i], (i, v) => x.Span[i] = v, dx, Loss, rng, "input of " + layerName);
            foreach (var p in created.Parameters)
            {
                var analytic = p.Gradient.ToArray();
                CheckNumeric(p.Value.Length, i => p.Value.Span[i], (i, v) => p.Value.Span[i] = v, analytic, Loss, rng, $"{p.Name} of {layerName}");
            }
        }
    }

    private static void CheckNumeric(int length, Func<int, float> get, Action<int, float> set, float[] analytic, Func<double> loss, Random rng, string what)
    {
        const float eps = 1f / 1024;
        foreach (int i in Enumerable.Range(0, 40).Select(_ => rng.Next(length)).Distinct())
        {
            float v = get(i);
            set(i, v + eps);
            double plus = loss();
            set(i, v - eps);
            double minus = loss();
            set(i, v);
            double numeric = (plus - minus) / (2 * eps);
            Assert.True(Math.Abs(numeric - analytic[i]) <= 1e-6 * (1 + Math.Abs(numeric)),
                $"{what}[{i}]: analytic {analytic[i]}, central difference {numeric}");
        }
    }

    private static void Fill(Span<float> values, Func<float> next)
    {
        for (int i = 0; i < values.Length; i++) values[i] = next();
    }

    [Fact]
    public void Results_are_bit_identical_run_to_run_and_forward_does_not_depend_on_threads()
    {
        {
            float[] Run(int threads, out float[] gradient)
            {
                using var scope = new ThreadScope(threads);
                var conv = new Odd33To17();
                var rng = new Random(3);
                var inShape = new Shape(5, 9, 8, 33);
                var layer = new LayerHarness(conv, inShape.WithoutBatch(), seed: 5);
                var x = new Tensor(inShape, RandomConfigurationTests.RandomArray(rng, inShape.Size));
                var y = layer.Forward(x, training: true).ToArray();
                layer.Backward(new Tensor(new Shape(5, 5, 8, 17), RandomConfigurationTests.RandomArray(rng, 5 * 5 * 8 * 17)));
                gradient = conv.Kernel.Gradient.ToArray();
                return y;
            }

            var y1 = Run(1, out var g1);
            var y2 = Run(2, out var g2);
            var y2Again = Run(2, out var g2Again);
            Assert.Equal(y1, y2); // samples are independent in the forward pass
            Assert.Equal(y2, y2Again);
            Assert.Equal(g2, g2Again); // same thread count: same summation order, same bits
            RandomConfigurationTests.AssertClose(g1, g2, 5 * 5 * 8, "kernel gradient, 1 vs 2 threads");
        }
    }

    [Fact]
    public void Glorot_uniform_initialization_is_seeded_and_within_the_Keras_limit()
    {
        var a = new Odd33To17();
        var b = new Odd33To17();
        var model = new Sequential(a).Build(new Shape(9, 9, 33), seed: 42);
        new Sequential(b).Build(new Shape(9, 9, 33), seed: 42);
        Assert.Equal(a.Kernel.Value.ToArray(), b.Kernel.Value.ToArray());
        float limit = MathF.Sqrt(6f / (9 * 33 + 9 * 17));
        Assert.All(a.Kernel.Value.ToArray(), v => Assert.InRange(v, -limit, limit));
        Assert.True(a.Kernel.Value.ToArray().Max() > 0.9f * limit); // spread over the whole range
        Assert.All(a.Bias!.Value.ToArray(), v => Assert.Equal(0f, v));
        model.Initialize(43);
        Assert.NotEqual(a.Kernel.Value.ToArray(), b.Kernel.Value.ToArray());
    }
}
