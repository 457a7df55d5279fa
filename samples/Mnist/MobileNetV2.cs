using ConvGen;

/// <summary>
/// A MobileNetV2-style network for 28x28 digits (Sandler et al. 2018): a 3x3 convolution of 16 filters, then six inverted
/// residual blocks, each a 1x1 expansion to 4 times its input's channels, a 3x3 depthwise convolution and a 1x1 linear
/// projection, every convolution without bias and followed by BatchNormalization, the first two by ReLU6 and the projection by
/// nothing (the linear bottleneck); a block that keeps size and channels adds its input back. The channels go 16, 24, 24, 32,
/// 32, 32, 64, the size 28x28 to 14x14 in the first block and to 7x7 in the third (depthwise stride 2). A 1x1 convolution to 128
/// channels, global average pooling and Dense 10 end it: 59,866 trainable parameters and 3,264 moving statistics.
/// samples/Mnist trains it with Adam and a cosine-decayed learning rate.
/// </summary>
/// <remarks>
/// The moving statistics follow the batches with momentum 0.9 (PyTorch's default) rather than Keras' 0.99: the variances
/// after the stem and the depthwise convolutions are about 0.01-0.05, and with 0.99 the moving variance keeps 0.99^n of its
/// initial 1 for hundreds of steps (after 500 steps the stem's was 0.0189 against 0.0127, and test accuracy 0.23 for a
/// training accuracy of 0.98), so a short run would evaluate with statistics that do not fit it.
/// </remarks>
[Input(28, 28, 1)]
[Conv2D(3, 3, Filters = 16, Padding = Padding.Same, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
// Block 1: 16 -> 24 channels, 28x28 -> 14x14.
[Conv2D(1, 1, Filters = 64, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[DepthwiseConv2D(3, 3, Stride = 2, Padding = Padding.Same, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[Conv2D(1, 1, Filters = 24, UseBias = false)]
[BatchNormalization(Momentum = 0.9f, Name = "b1")]
// Block 2: 24 -> 24 at 14x14, its input added back.
[Conv2D(1, 1, Filters = 96, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[Conv2D(1, 1, Filters = 24, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[Add("b1", Name = "b2")]
// Block 3: 24 -> 32 channels, 14x14 -> 7x7.
[Conv2D(1, 1, Filters = 96, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[DepthwiseConv2D(3, 3, Stride = 2, Padding = Padding.Same, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[Conv2D(1, 1, Filters = 32, UseBias = false)]
[BatchNormalization(Momentum = 0.9f, Name = "b3")]
// Blocks 4 and 5: 32 -> 32 at 7x7, their inputs added back.
[Conv2D(1, 1, Filters = 128, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[Conv2D(1, 1, Filters = 32, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[Add("b3", Name = "b4")]
[Conv2D(1, 1, Filters = 128, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[Conv2D(1, 1, Filters = 32, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[Add("b4")]
// Block 6: 32 -> 64 channels at 7x7.
[Conv2D(1, 1, Filters = 128, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[Conv2D(1, 1, Filters = 64, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
// The head: 1x1 to 128 channels, global average pooling, the classifier.
[Conv2D(1, 1, Filters = 128, UseBias = false)]
[BatchNormalization(Momentum = 0.9f)]
[ReLU6]
[GlobalAveragePooling2D]
[Dense(10)]
public partial class MobileNetV2;
