using System;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

/// <summary>ReLU6, LeakyReLU and ELU against their definitions in double precision, and by central differences.</summary>
[Collection(ProcessWideSettings.Name)]
public sealed class ModernActivationTests
{
    public static TheoryData<string> Kinds => ["relu6", "leaky", "leaky0", "elu"];

    private static Layer Create(string kind) => kind switch
    {
        "relu6" => new ReLU6(),
        "leaky" => new LeakyReLU(0.2f),
        "leaky0" => new LeakyReLU(0f),
        _ => new ELU(0.7f),
    };

    private static (double Y, double Slope) Reference(string kind, double x) => kind switch
    {
        "relu6" => (Math.Clamp(x, 0, 6), x > 0 && x < 6 ? 1 : 0),
        "leaky" => (x > 0 ? x : 0.2 * x, x > 0 ? 1 : 0.2),
        "leaky0" => (Math.Max(x, 0), x > 0 ? 1 : 0),
        _ => (x > 0 ? x : 0.7 * (Math.Exp(x) - 1), x > 0 ? 1 : 0.7 * Math.Exp(x)),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Forward_and_backward_follow_the_definition(string kind)
    {
        foreach (int threads in new[] { 1, 2 })
        {
            using var scope = new ThreadScope(threads);
            var harness = new LayerHarness(Create(kind), new Shape(3, 4, 5));
            var x = TestData.Tensor(7, 4, 3, 4, 5);
            for (int i = 0; i < x.Length; i++) x.Span[i] *= 8; // reaches past 6 and well below 0
            var dy = TestData.Tensor(8, 4, 3, 4, 5);
            var y = harness.Forward(x).ToArray();
            var dx = harness.Backward(dy).ToArray();
            for (int i = 0; i < x.Length; i++)
            {
                var (ey, slope) = Reference(kind, x.Span[i]);
                Assert.True(Math.Abs(ey - y[i]) <= 1e-5 * (1 + Math.Abs(ey)), $"{kind} y[{i}] at x = {x.Span[i]}: {y[i]}, expected {ey}");
                Assert.True(Math.Abs(slope * dy.Span[i] - dx[i]) <= 1e-5 * (1 + Math.Abs(dx[i])), $"{kind} dx[{i}] at x = {x.Span[i]}: {dx[i]}, expected {slope * dy.Span[i]}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Gradients_pass_central_differences(string kind)
    {
        // Values kept away from the kinks at 0 (and 6), where the central difference straddles two slopes.
        var x = TestData.Distinct(3, 0.05f, 3, 2, 2, 4);
        for (int i = 0; i < x.Length; i++) x.Span[i] = x.Span[i] * 7 + (MathF.Abs(x.Span[i] * 7) < 0.1f ? 0.3f : 0f);
        for (int i = 0; i < x.Length; i++) if (MathF.Abs(x.Span[i] - 6f) < 0.1f) x.Span[i] += 0.3f;
        Assert.True(GradientCheck.Check(Create(kind), x, seed: 4) > 40);
    }

    [Fact]
    public void Arguments_are_checked()
    {
        Assert.Equal("negativeSlope", Assert.Throws<ArgumentOutOfRangeException>(() => new LeakyReLU(-0.1f)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new ELU(0f)).ParamName);
    }
}
