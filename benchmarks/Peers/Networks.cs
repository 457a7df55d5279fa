using System;
using ConvGen;
using ConvGen.Benchmarks;

namespace ConvGen.Peers;

/// <summary>The residual network of samples/Mnist (<c>--model residual</c>): two residual stages of 3x3 convolutions.</summary>
[Input(28, 28, 1)]
[Conv2D(3, 3, Filters = 32, Padding = Padding.Same, Activation = Activation.ReLU, Name = "stem")]
[Conv2D(3, 3, Filters = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
[Conv2D(3, 3, Filters = 32, Padding = Padding.Same)]
[Add("stem", Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Conv2D(3, 3, Filters = 64, Padding = Padding.Same, Activation = Activation.ReLU, Name = "stage2")]
[Conv2D(3, 3, Filters = 64, Padding = Padding.Same, Activation = Activation.ReLU)]
[Conv2D(3, 3, Filters = 64, Padding = Padding.Same)]
[Add("stage2", Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation = Activation.ReLU)]
[Dense(10)]
public partial class ResidualNet;

public static class Networks
{
    /// <summary>
    /// Every network the harness knows: the tutorial's CNN and the residual network above (the performance issue, #17), then
    /// the reference networks of the modern-layers issue (#15), the sample's own classes (samples/Mnist, linked in Peers.csproj).
    /// </summary>
    public static readonly string[] Names = ["tutorial", "residual", "lenet5", "resnet20", "mobilenetv2", "conv1d"];

    /// <summary>The network <paramref name="name"/>, compiled by ConvGen's generator, with seeded Glorot weights and Adam(1e-3).</summary>
    public static Model Create(string name, int maxBatchSize)
    {
        Model model = name switch
        {
            "tutorial" => new MnistNet(maxBatchSize: maxBatchSize, seed: 1), // the TF2 tutorial's CNN (ConvGen.Benchmarks)
            "residual" => new ResidualNet(maxBatchSize: maxBatchSize, seed: 1),
            "lenet5" => new global::LeNet5(maxBatchSize: maxBatchSize, seed: 1),
            "resnet20" => new global::ResNet20(maxBatchSize: maxBatchSize, seed: 1),
            "mobilenetv2" => new global::MobileNetV2(maxBatchSize: maxBatchSize, seed: 1),
            "conv1d" => new global::Conv1DNet(maxBatchSize: maxBatchSize, seed: 1),
            _ => throw new ArgumentException($"unknown network '{name}': {string.Join(" or ", Names)}", nameof(name)),
        };
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        return model;
    }
}
