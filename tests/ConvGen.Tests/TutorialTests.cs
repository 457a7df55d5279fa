using System;
using ConvGen.Tests.Tutorial;
using Xunit;

namespace ConvGen.Tests;

/// <summary>The examples of "Dive into Deep Learning" 6.2-6.3 (TensorFlow), reproduced with generated kernels.</summary>
public class TutorialTests
{
    [Fact]
    public void Corr2d_of_the_3x3_example_is_19_25_37_43()
    {
        float[] x = [0, 1, 2, 3, 4, 5, 6, 7, 8];
        float[] k = [0, 1, 2, 3];
        var y = new float[4];
        Corr2x2.Forward(x, 1, 3, 3, k, [0f], y);
        Assert.Equal([19f, 25f, 37f, 43f], y);
    }

    [Fact]
    public void The_7x7_bordered_image_with_W_and_b_1_gives_the_book_result()
    {
        float[] x =
        [
            0, 0, 0, 0, 0, 0, 0,
            0, 1, 0, 1, 2, 1, 0,
            0, 0, 2, 2, 0, 1, 0,
            0, 1, 1, 0, 2, 1, 0,
            0, 0, 2, 1, 1, 0, 0,
            0, 2, 1, 1, 2, 0, 0,
            0, 0, 0, 0, 0, 0, 0,
        ];
        float[] w = [0, 0, -1, 0, 1, 0, -2, 0, 2];
        var y = new float[25];
        Corr3x3.Forward(x, 1, 7, 7, w, [1f], y);
        Assert.Equal(
        [
            6, 5, -2, 1, 2,
            3, 0, 3, 2, -2,
            4, 2, -1, 0, 0,
            2, 1, 2, -1, -3,
            1, 1, 1, 3, 1,
        ], y);
    }

    [Fact]
    public void Edge_kernel_1_minus_1_marks_the_black_white_edges()
    {
        var x = EdgeImage();
        var y = new float[6 * 7];
        EdgeKernel.Forward(x, 1, 6, 8, [1f, -1f], [], y);
        for (int r = 0; r < 6; r++)
            Assert.Equal([0f, 1f, 0f, 0f, 0f, -1f, 0f], y.AsSpan(r * 7, 7).ToArray());
    }

    [Fact]
    public void Edge_kernel_on_the_transposed_image_detects_nothing()
    {
        // The book's observation: K only detects vertical edges.
        var x = EdgeImage();
        var xt = new float[48];
        for (int r = 0; r < 6; r++)
        for (int c = 0; c < 8; c++)
            xt[c * 6 + r] = x[r * 8 + c];
        var y = new float[8 * 5];
        EdgeKernel.Forward(xt, 1, 8, 6, [1f, -1f], [], y);
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Output_shapes_match_the_book()
    {
        Assert.Equal((8, 8), (Same3x3.OutputHeight(8), Same3x3.OutputWidth(8)));
        Assert.Equal((4, 4), (Same3x3Stride2.OutputHeight(8), Same3x3Stride2.OutputWidth(8)));
        Assert.Equal((2, 1), (Valid3x5Stride3x4.OutputHeight(8), Valid3x5Stride3x4.OutputWidth(8)));
    }

    [Fact]
    public void Learning_the_edge_kernel_by_gradient_descent_contracts_toward_1_minus_1()
    {
        // The book: random start, 10 steps of plain gradient descent, lr 0.03, loss = sum of squared errors.
        // For this image the loss Hessian is 12 * [[3, 2], [2, 3]] (eigenvalues 60 and 12), so each step multiplies the
        // error by at most max(|1 - 0.03 * 60|, |1 - 0.03 * 12|) = 0.8: after 10 steps at most 0.8^10 = 0.107 of it is
        // left, and the loss falls every step. Whether 10 steps land within 0.05 depends on the start; 40 always do.
        var x = EdgeImage();
        var target = new float[42];
        EdgeKernel.Forward(x, 1, 6, 8, [1f, -1f], [], target);
        for (int seed = 0; seed < 20; seed++)
        {
            var layer = new EdgeKernel();
            new Sequential(layer).Build(new Shape(6, 8, 1), seed); // Keras' Glorot uniform, as the book's nn.Conv2D
            var k = layer.Kernel.Value.ToArray();
            double e0 = Distance(k);
            float previous = float.PositiveInfinity;
            for (int step = 1; step <= 40; step++)
            {
                float loss = Step(x, target, k);
                Assert.True(loss <= previous, $"seed {seed}: loss rose from {previous} to {loss} at step {step}");
                previous = loss;
                if (step == 10) Assert.True(Distance(k) <= Math.Pow(0.8, 10) * e0 + 1e-4, $"seed {seed}: error {Distance(k)} after 10 steps, start {e0}");
            }
            Assert.True(Distance(k) < 1e-3, $"seed {seed}: kernel [{k[0]}, {k[1]}] after 40 steps");
        }

        static double Distance(float[] k) => Math.Sqrt((k[0] - 1.0) * (k[0] - 1.0) + (k[1] + 1.0) * (k[1] + 1.0));
    }

    /// <summary>One step of the book's loop: forward, loss = sum of squared errors, generated backward, k -= 0.03 * dk.</summary>
    private static float Step(float[] x, float[] target, float[] k)
    {
        var y = new float[42];
        var g = new float[42];
        EdgeKernel.Forward(x, 1, 6, 8, k, [], y);
        float loss = 0;
        for (int i = 0; i < 42; i++) { float d = y[i] - target[i]; loss += d * d; g[i] = 2 * d; }
        var dk = new float[2];
        EdgeKernel.Backward(x, 1, 6, 8, k, g, [], dk, []);
        for (int i = 0; i < 2; i++) k[i] -= 0.03f * dk[i];
        return loss;
    }

    internal static float[] EdgeImage()
    {
        var x = new float[48];
        for (int r = 0; r < 6; r++)
        for (int c = 0; c < 8; c++)
            x[r * 8 + c] = c is >= 2 and <= 5 ? 0f : 1f;
        return x;
    }
}
