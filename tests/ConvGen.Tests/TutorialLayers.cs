using ConvGen;

namespace ConvGen.Tests.Tutorial;

// The layers of "Dive into Deep Learning" 6.2-6.3, declared the ConvGen way.

[Conv2D(2, 2)]
public partial class Corr2x2;

[Conv2D(3, 3)]
public partial class Corr3x3;

[Conv2D(1, 2, UseBias = false)]
public partial class EdgeKernel;

[Conv2D(3, 3, Padding = Padding.Same)]
public partial class Same3x3;

[Conv2D(3, 3, Padding = Padding.Same, Stride = 2)]
public partial class Same3x3Stride2;

[Conv2D(3, 5, StrideHeight = 3, StrideWidth = 4)]
public partial class Valid3x5Stride3x4;

[Conv2D(3, 3, Filters = 17, InputChannels = 33, Padding = Padding.Same, StrideHeight = 2, DilationWidth = 2, Activation = Activation.ReLU)]
public partial class Odd33To17;

[Conv2D(2, 3, Filters = 5, InputChannels = 3, Padding = Padding.Same, StrideWidth = 2, DilationHeight = 2)]
public partial class SmallSameDilated;

[Conv2D(3, 3, Filters = 9, InputChannels = 7, UseBias = false)]
public partial class ValidNoBias;
