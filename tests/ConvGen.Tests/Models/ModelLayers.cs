using ConvGen;

namespace ConvGen.Tests.Models;

[Conv2D(5, 5, Filters = 32, InputChannels = 1, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class MnistConv1;

[Conv2D(5, 5, Filters = 64, InputChannels = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class MnistConv2;

[Conv2D(3, 3, Filters = 8, InputChannels = 1, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class SmallConv;
