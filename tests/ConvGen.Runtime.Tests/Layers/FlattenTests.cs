using System;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

public class FlattenTests
{
    [Fact]
    public void Forward_reinterprets_the_input_and_backward_passes_the_gradient_through()
    {
        // Flatten then an identity-like ReLU on positive values: the output is the input, row-major.
        var model = new Sequential(new Flatten(), new ReLU()).Build(new Shape(3, 4, 5));
        Assert.Equal(new Shape(60), model.OutputShapes[0]);
        var x = TestData.Tensor(1, 2, 3, 4, 5);
        var s = x.Span;
        for (int i = 0; i < s.Length; i++) s[i] = 1 + MathF.Abs(s[i]);
        var y = model.Forward(x);
        Assert.Equal(new Shape(2, 60), y.Shape);
        Assert.Equal(x.ToArray(), y.ToArray());
        Assert.Equal(x[1, 2, 3, 4], y[1, 59]);

        var dy = TestData.Tensor(2, 2, 60);
        var dx = new Tensor(x.Shape);
        model.Backward(dy, dx);
        Assert.Equal(dy.ToArray(), dx.ToArray());
        Assert.Empty(model.Layers[0].Parameters);
    }

    [Fact]
    public void Backward_matches_central_differences()
        => GradientCheck.Check(new Flatten { Name = "flat" }, TestData.Tensor(3, 3, 2, 3, 2), seed: 3, then: new Tanh());

    [Fact]
    public void A_model_of_flatten_alone_computes_nothing_and_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Sequential(new Flatten()).Build(new Shape(2, 2, 1)));
        Assert.Contains("computes nothing", ex.Message);
    }
}
