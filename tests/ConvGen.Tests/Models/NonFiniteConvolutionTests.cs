using ConvGen.Testing;
using System;
using Xunit;

namespace ConvGen.Tests.Models;

/// <summary>A NaN reaching a generated convolution stops training at that step, naming the convolution, with the weights untouched.</summary>
[Collection(ProcessWideSettings.Name)]
public class NonFiniteConvolutionTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_NaN_pixel_is_reported_at_the_convolution_with_the_step_and_the_weights_kept(int threads)
    {
        int saved = Parallelism.Threads;
        try
        {
            Parallelism.Threads = threads;
            var model = new Sequential(new SmallConv(), new MaxPool2D(2), new Flatten(), new Dense(16, Activation.ReLU), new Dense(4))
                .Build(new Shape(28, 28, 1), seed: 4)
                .Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
            var (x, y) = ModelTestData.RandomImages(6, seed: 2);
            for (int s = 0; s < 4; s++) model.TrainStep(x, y);
            var before = ModelTestData.WeightBits(model);

            x[5, 13, 7, 0] = float.NaN;
            var e = Assert.Throws<NonFiniteLossException>(() => model.TrainStep(x, y));

            string conv = model.LayerNames[0];
            Assert.Equal(5, e.Step);
            Assert.Equal(NonFiniteOrigin.Output, e.Origin);
            Assert.Equal((0, conv), (e.LayerIndex, e.LayerName));
            Assert.Contains($"Training step 5: the output of layer 0 ({conv}) holds NaN or infinity", e.Message);
            Assert.Contains("the input batch itself holds 1 NaN or infinite value, the first in sample 5", e.Message);
            Assert.Contains("the weights are those after step 4", e.Message);
            Assert.Equal(before, ModelTestData.WeightBits(model));
            Assert.Equal(4, model.Optimizer!.Iterations);
        }
        finally
        {
            Parallelism.Threads = saved;
        }
    }
}
