namespace ConvGen.Tests.Models;

// Compiled networks under test, and for each the generated layers of the equivalent runtime Sequential.

/// <summary>The TF2 tutorial's MNIST CNN as a compiled network.</summary>
[Input(28, 28, 1)]
[Conv2D(5, 5, Filters = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Conv2D(5, 5, Filters = 64, Padding = Padding.Same, Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Flatten]
[Dense(1024, Activation = Activation.ReLU)]
[Dense(10)]
public partial class TutorialNet;

/// <summary>
/// A small network that exercises every kind of layer and fold: odd sizes, a Valid convolution after a Same one, a pool
/// with an odd input (the last row is dropped), conv -> conv with ReLU masks between, Dense -> Dense with ReLU, no-bias layers.
/// </summary>
[Input(13, 11, 2)]
[Conv2D(3, 3, Filters = 5, Padding = Padding.Same, Activation = Activation.ReLU)]
[Conv2D(3, 2, Filters = 6, Stride = 2, Activation = Activation.ReLU, UseBias = false)]
[MaxPool2D(2)]
[Flatten]
[Dense(7, Activation = Activation.ReLU)]
[Dense(3, UseBias = false)]
public partial class SmallNet;

[Conv2D(3, 3, Filters = 5, InputChannels = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class SmallNetConv1;

[Conv2D(3, 2, Filters = 6, InputChannels = 5, Stride = 2, Activation = Activation.ReLU, UseBias = false)]
public partial class SmallNetConv2;
