using System;
using System.Linq;
using Xunit;

namespace ConvGen.Runtime.Tests.Training;

/// <summary>L2 kernel regularization: the penalty in the loss and its gradient in the step, against the formula.</summary>
public sealed class RegularizationTests
{
    private static Sequential Net(float l2) =>
        (Sequential)new Sequential(new Dense(5, Activation.ReLU) { KernelL2 = l2 }, new Dense(3)).Build(new Shape(4), seed: 2)
            .Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));

    [Fact]
    public void The_penalty_adds_to_the_loss_and_its_gradient_to_the_step()
    {
        const float l2 = 0.01f;
        var x = new Tensor(new Shape(6, 4));
        for (int i = 0; i < x.Length; i++) x.Span[i] = MathF.Cos(i);
        int[] y = [0, 1, 2, 0, 1, 2];
        var plain = Net(0f);
        var regularized = Net(l2);
        var kernel = regularized.Layers[0].Parameters[0].Value.ToArray();
        double penalty = l2 * kernel.Sum(w => (double)w * w);

        float plainLoss = plain.TrainStep(x, y), loss = regularized.TrainStep(x, y);
        Assert.Equal(plainLoss + penalty, loss, 5);
        // SGD: w' = w − lr·(g + 2λw), so the regularized kernel ends 2·lr·λ·w below the plain one; the rest is equal.
        var plainKernel = plain.Layers[0].Parameters[0].Value.ToArray();
        var newKernel = regularized.Layers[0].Parameters[0].Value.ToArray();
        for (int i = 0; i < kernel.Length; i++) Assert.Equal(plainKernel[i] - 0.1 * 2 * l2 * kernel[i], newKernel[i], 6);
        Assert.Equal(plain.Layers[1].Parameters[0].Value.ToArray(), regularized.Layers[1].Parameters[0].Value.ToArray());
        Assert.Equal(plain.Layers[0].Parameters[1].Value.ToArray(), regularized.Layers[0].Parameters[1].Value.ToArray()); // the bias is not penalized

        // Evaluate reports the penalty too, as Keras does.
        var after = regularized.Layers[0].Parameters[0].Value.ToArray();
        var (evaluated, _) = regularized.Evaluate(x, y);
        var unregularized = Net(0f);
        regularized.ParameterBuffer.CopyTo(unregularized.ParameterBuffer);
        Assert.Equal(unregularized.Evaluate(x, y).Loss + l2 * after.Sum(w => (double)w * w), evaluated, 5);
    }

    [Fact]
    public void A_penalty_needs_a_kernel_and_a_valid_factor()
    {
        var e = Assert.Throws<ArgumentException>(() => new Sequential(new Dense(2), new ReLU { KernelL2 = 0.1f }).Build(new Shape(3), seed: 0));
        Assert.Contains("no 'kernel' parameter", e.Message);
        Assert.Equal("KernelL2", Assert.Throws<ArgumentOutOfRangeException>(() => new Dense(2) { KernelL2 = -1f }).ParamName);
    }
}
