using ConvGen;

/// <summary>
/// LeNet-5 (LeCun et al. 1998) as Keras examples write it for 28x28 digits: a 5x5 convolution of 6 filters ('same', so the
/// 28x28 input stands in for the paper's padded 32x32) and tanh, a 2x2 average pool, a 5x5 convolution of 16 filters and tanh,
/// a 2x2 average pool, then Dense 120 and 84 with tanh and Dense 10: 61,706 parameters.
/// </summary>
[Input(28, 28, 1)]
[Conv2D(5, 5, Filters = 6, Padding = Padding.Same)]
[Tanh]
[AveragePooling2D(2)]
[Conv2D(5, 5, Filters = 16)]
[Tanh]
[AveragePooling2D(2)]
[Flatten]
[Dense(120)]
[Tanh]
[Dense(84)]
[Tanh]
[Dense(10)]
public partial class LeNet5;
