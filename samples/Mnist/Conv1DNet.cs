using ConvGen;

/// <summary>
/// A 1-D CNN that reads each digit as a sequence: 28 steps (the rows, top to bottom) of 28 features (the pixels of a row), a
/// [Reshape] of the 28x28x1 image (a view: no copy). Five 3-step convolutions ('same', no bias) with BatchNormalization and
/// ReLU, a 2-step max pool after the second and the fourth (28 to 14 to 7 steps), global average pooling over the steps and
/// Dense 10.
/// </summary>
[Input(28, 28, 1)]
[Reshape(28, 28)]
[Conv1D(3, Filters = 64, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU]
[Conv1D(3, Filters = 64, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU]
[MaxPool1D(2)]
[Conv1D(3, Filters = 128, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU]
[Conv1D(3, Filters = 128, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU]
[MaxPool1D(2)]
[Conv1D(3, Filters = 128, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU]
[GlobalAveragePooling1D]
[Dense(10)]
public partial class Conv1DNet;
