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

/// <summary>
/// Convolutions with the next 2x2 max pool fused into their forward kernel: a Same one on 3 channels with 20 filters (vector
/// blocks and scalar filters at every width), then a Valid one without ReLU or bias whose output is pooled as is.
/// </summary>
[Input(12, 10, 3)]
[Conv2D(3, 3, Filters = 20, Padding = Padding.Same, Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Conv2D(3, 2, Filters = 8, UseBias = false)]
[MaxPool2D(2)]
[Flatten]
[Dense(3)]
public partial class PoolFusedNet;

[Conv2D(3, 3, Filters = 20, InputChannels = 3, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class PoolFusedConv1;

[Conv2D(3, 2, Filters = 8, InputChannels = 20, UseBias = false)]
public partial class PoolFusedConv2;

/// <summary>
/// A fused pool after a strided, dilated Same convolution with 64 filters (4-vector blocks at 16 floats a vector), whose
/// padding is uneven, and a Same-padded pool (which pads nothing on an even input).
/// </summary>
[Input(16, 15, 4)]
[Conv2D(5, 5, Filters = 64, Stride = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
[MaxPool2D(2, Padding = Padding.Same)]
[Conv2D(3, 3, Filters = 16, Dilation = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Flatten]
[Dense(5)]
public partial class StridedPoolFusedNet;

[Conv2D(5, 5, Filters = 64, InputChannels = 4, Stride = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class StridedPoolFusedConv1;

[Conv2D(3, 3, Filters = 16, InputChannels = 64, Dilation = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class StridedPoolFusedConv2;

/// <summary>
/// The residual network: a 3x3 16-filter Same ReLU stem, two 3x3 convolutions, the stem added back with a ReLU, a pool,
/// Flatten and Dense 10. The Add reads the stem by name; the pool applies the Add's ReLU.
/// </summary>
[Input(28, 28, 1)]
[Conv2D(3, 3, Filters = 16, Padding = Padding.Same, Activation = Activation.ReLU, Name = "stem")]
[Conv2D(3, 3, Filters = 16, Padding = Padding.Same, Activation = Activation.ReLU)]
[Conv2D(3, 3, Filters = 16, Padding = Padding.Same)]
[Add("stem", Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Flatten]
[Dense(10)]
public partial class ResidualNet;

[Conv2D(3, 3, Filters = 16, InputChannels = 1, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class ResidualStem;

[Conv2D(3, 3, Filters = 16, InputChannels = 16, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class ResidualConv1;

[Conv2D(3, 3, Filters = 16, InputChannels = 16, Padding = Padding.Same)]
public partial class ResidualConv2;

/// <summary>
/// A small graph with every merge: a branch read from the stem by name, a concatenation, and an output read twice (its
/// gradients add up), on an odd size, so the compiled network's graph is checked by central differences cheaply.
/// </summary>
[Input(9, 7, 2)]
[Conv2D(3, 3, Filters = 5, Padding = Padding.Same, Activation = Activation.ReLU, Name = "stem")]
[Conv2D(3, 3, Filters = 5, Padding = Padding.Same)]
[Add("stem", Activation = Activation.ReLU, Name = "block")]
[Conv2D(1, 1, Filters = 3, Input = "stem")]
[Concatenate("block", "conv2d_1")]
[MaxPool2D(2)]
[Flatten]
[Dense(4)]
public partial class BranchNet;

[Conv2D(3, 3, Filters = 5, InputChannels = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class BranchStem;

[Conv2D(3, 3, Filters = 5, InputChannels = 5, Padding = Padding.Same)]
public partial class BranchConv;

[Conv2D(1, 1, Filters = 3, InputChannels = 5)]
public partial class BranchSide;

/// <summary>
/// Batch normalization after a convolution without bias and after a Dense layer (without <c>beta</c>), on an odd size: the
/// compiled network against the same layers built at run time.
/// </summary>
[Input(9, 7, 2)]
[Conv2D(3, 3, Filters = 6, Padding = Padding.Same, UseBias = false, KernelL2 = 0.01f)]
[BatchNormalization(Momentum = 0.9f)]
[Conv2D(3, 3, Filters = 5, Padding = Padding.Same, Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Flatten]
[Dense(6, KernelL2 = 0.02f)]
[BatchNormalization(Center = false, Epsilon = 0.01f, Name = "dense_norm")]
[Dense(4)]
public partial class NormNet;

[Conv2D(3, 3, Filters = 6, InputChannels = 2, Padding = Padding.Same, UseBias = false)]
public partial class NormConv1;

[Conv2D(3, 3, Filters = 5, InputChannels = 6, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class NormConv2;

/// <summary>
/// A small ResNet-shaped graph with the modern layers: convolutions without bias, BatchNormalization, ReLU layers, a residual
/// block, a stride-2 block with a 1x1 stride-2 projection, an average pool, and both global poolings concatenated.
/// </summary>
[Input(10, 10, 3)]
[Conv2D(3, 3, Filters = 8, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU(Name = "stem")]
[Conv2D(3, 3, Filters = 8, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU]
[Conv2D(3, 3, Filters = 8, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[Add("stem", Activation = Activation.ReLU, Name = "block")]
[Conv2D(3, 3, Filters = 16, Stride = 2, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU(Name = "down")]
[Conv2D(1, 1, Filters = 16, Stride = 2, Input = "block", Name = "projection")]
[Add("down", "projection", Activation = Activation.ReLU)]
[AveragePooling2D(2, Padding = Padding.Same)]
[GlobalAveragePooling2D(Name = "gap")]
[GlobalMaxPooling2D(Input = "block", Name = "gmp")]
[Concatenate("gap", "gmp")]
[Dense(4)]
public partial class ResNetish;

[Conv2D(3, 3, Filters = 8, InputChannels = 3, Padding = Padding.Same, UseBias = false)]
public partial class ResNetishStem;

[Conv2D(3, 3, Filters = 8, InputChannels = 8, Padding = Padding.Same, UseBias = false)]
public partial class ResNetishConv;

[Conv2D(3, 3, Filters = 16, InputChannels = 8, Stride = 2, Padding = Padding.Same, UseBias = false)]
public partial class ResNetishDown;

[Conv2D(1, 1, Filters = 16, InputChannels = 8, Stride = 2)]
public partial class ResNetishProjection;

/// <summary>The activation layers and Dropout of compiled networks, against the same layers at run time.</summary>
[Input(8, 8, 2)]
[ZeroPadding2D(1, 0, 2, 1)]
[Conv2D(3, 3, Filters = 6)]
[ReLU6]
[Conv2D(3, 3, Filters = 6, Padding = Padding.Same)]
[LeakyReLU(0.2f)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same)]
[ELU(0.5f)]
[Flatten]
[Dropout(0.25f, Seed = 9)]
[Dense(6)]
[LeakyReLU]
[ELU]
[Tanh]
[Dense(5)]
[Sigmoid]
[Dense(3)]
[Softmax]
public partial class ActivationNet;

[Conv2D(3, 3, Filters = 6, InputChannels = 2)]
public partial class ActivationConv1;

[Conv2D(3, 3, Filters = 6, InputChannels = 6, Padding = Padding.Same)]
public partial class ActivationConv2;

[Conv2D(3, 3, Filters = 4, InputChannels = 6, Padding = Padding.Same)]
public partial class ActivationConv3;

/// <summary>
/// A MobileNetV2-shaped graph: a stride-2 stem, an inverted residual block (1x1 expand, depthwise 3x3 without bias, ReLU6,
/// 1x1 project, Add), a dilated depthwise convolution, and a stride-2 depthwise one with a depth multiplier of 2 and a fused ReLU.
/// </summary>
[Input(11, 9, 3)]
[Conv2D(3, 3, Filters = 8, Stride = 2, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU6(Name = "stem")]
[Conv2D(1, 1, Filters = 24, UseBias = false)]
[BatchNormalization]
[ReLU6]
[DepthwiseConv2D(3, 3, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU6]
[Conv2D(1, 1, Filters = 8, UseBias = false)]
[BatchNormalization]
[Add("stem", Name = "block")]
[DepthwiseConv2D(3, 3, Dilation = 2, Padding = Padding.Same)]
[DepthwiseConv2D(3, 3, DepthMultiplier = 2, Stride = 2, Activation = Activation.ReLU)]
[GlobalAveragePooling2D]
[Dense(4)]
public partial class InvertedNet;

[Conv2D(3, 3, Filters = 8, InputChannels = 3, Stride = 2, Padding = Padding.Same, UseBias = false)]
public partial class InvertedStem;

[Conv2D(1, 1, Filters = 24, InputChannels = 8, UseBias = false)]
public partial class InvertedExpand;

[DepthwiseConv2D(3, 3, InputChannels = 24, Padding = Padding.Same, UseBias = false)]
public partial class InvertedDepthwise;

[Conv2D(1, 1, Filters = 8, InputChannels = 24, UseBias = false)]
public partial class InvertedProject;

[DepthwiseConv2D(3, 3, InputChannels = 8, Dilation = 2, Padding = Padding.Same)]
public partial class InvertedDilated;

[DepthwiseConv2D(3, 3, InputChannels = 8, DepthMultiplier = 2, Stride = 2, Activation = Activation.ReLU)]
public partial class InvertedDown;

/// <summary>
/// A 1-D network over sequences: a causal stem, BatchNormalization, SiLU, a dilated 'same' convolution with a fused ReLU added
/// back, the 1-D pools, a strided convolution, GELU (both forms), both global poolings and a flattened branch concatenated.
/// </summary>
[Input(17, 5)]
[Conv1D(3, Filters = 8, Padding = Padding.Causal, UseBias = false)]
[BatchNormalization]
[SiLU(Name = "stem")]
[Conv1D(3, Filters = 8, Dilation = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
[Add("stem")]
[MaxPool1D(2)]
[Conv1D(2, Filters = 6, Stride = 2)]
[GELU]
[AveragePooling1D(3, Stride = 1, Padding = Padding.Same)]
[GlobalAveragePooling1D(Name = "gap")]
[GlobalMaxPooling1D(Input = "gelu", Name = "gmp")]
[Flatten(Input = "average_pooling1d", Name = "flat")]
[Concatenate("gap", "gmp", "flat")]
[Dense(6)]
[GELU(Approximate = true)]
[Dense(4)]
public partial class SequenceNet;

[Conv1D(3, Filters = 8, InputChannels = 5, Padding = Padding.Causal, UseBias = false)]
public partial class SequenceStem;

[Conv1D(3, Filters = 8, InputChannels = 8, Dilation = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class SequenceDilated;

[Conv1D(2, Filters = 6, InputChannels = 8, Stride = 2)]
public partial class SequenceDown;

/// <summary>
/// A small encoder-decoder: a stride-2 convolution and a stride-2 'same' transposed one (ReLU fused) added back to the full-size
/// branch, a stride-3 convolution, a Valid transposed convolution whose stride exceeds its kernel (its last rows and columns get
/// no input) without bias, and a dilated 'same' one with KernelL2, then a pool and a dense head.
/// </summary>
[Input(10, 8, 3)]
[Conv2D(3, 3, Filters = 6, Padding = Padding.Same, Name = "skip")]
[Conv2D(3, 3, Filters = 8, Stride = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
[Conv2DTranspose(3, 3, Filters = 6, Stride = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
[Add("skip", Name = "merged")]
[Conv2D(3, 3, Filters = 5, Stride = 3)]
[Conv2DTranspose(2, 2, Filters = 4, Stride = 3, UseBias = false)]
[Conv2DTranspose(3, 3, Filters = 3, Dilation = 2, Padding = Padding.Same, KernelL2 = 0.01f)]
[MaxPool2D(2)]
[Flatten]
[Dense(4)]
public partial class UpsamplingNet;

[Conv2D(3, 3, Filters = 6, InputChannels = 3, Padding = Padding.Same)]
public partial class UpsamplingSkip;

[Conv2D(3, 3, Filters = 8, InputChannels = 6, Stride = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class UpsamplingDown;

[Conv2DTranspose(3, 3, Filters = 6, InputChannels = 8, Stride = 2, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class UpsamplingUp;

[Conv2D(3, 3, Filters = 5, InputChannels = 6, Stride = 3)]
public partial class UpsamplingReduce;

[Conv2DTranspose(2, 2, Filters = 4, InputChannels = 5, Stride = 3, UseBias = false)]
public partial class UpsamplingSpread;

[Conv2DTranspose(3, 3, Filters = 3, InputChannels = 4, Dilation = 2, Padding = Padding.Same)]
public partial class UpsamplingDilated;

/// <summary>[Reshape] between an image, a sequence and a flat shape, with -1 inferred.</summary>
[Input(6, 8, 2)]
[Reshape(12, 8)]
[Conv1D(3, Filters = 4, Padding = Padding.Same)]
[Reshape(3, 4, -1)]
[Conv2D(2, 2, Filters = 3)]
[Reshape(-1)]
[Dense(5)]
public partial class ReshapeNet;

[Conv1D(3, Filters = 4, InputChannels = 8, Padding = Padding.Same)]
public partial class ReshapeSequenceConv;

[Conv2D(2, 2, Filters = 3, InputChannels = 4)]
public partial class ReshapeImageConv;

/// <summary>
/// A ResNeXt-shaped graph with grouped convolutions: a stem, a bottleneck block whose 3x3 convolution has 4 groups of 4 channels
/// (BatchNormalization folded into it for inference), a 1x1 projection added back; then a stride-2 Valid convolution in 2 groups of
/// 8 channels x 20 filters with a fused ReLU, a 3x3 'same' one with one channel per group (the depthwise kernels), and a 1x1 one in
/// 8 groups of 5 channels x 3 filters before a 2x2 max pool, which must not be fused into it.
/// </summary>
[Input(10, 9, 8)]
[Conv2D(3, 3, Filters = 16, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU(Name = "stem")]
[Conv2D(3, 3, Filters = 16, Groups = 4, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU]
[Conv2D(1, 1, Filters = 16, UseBias = false)]
[BatchNormalization]
[Add("stem", Name = "block", Activation = Activation.ReLU)]
[Conv2D(3, 3, Filters = 40, Groups = 2, Stride = 2, Activation = Activation.ReLU)]
[Conv2D(3, 3, Filters = 40, Groups = 40, Padding = Padding.Same)]
[Conv2D(1, 1, Filters = 24, Groups = 8)]
[MaxPool2D(2)]
[GlobalAveragePooling2D]
[Dense(4)]
public partial class ResNeXtish;

[Conv2D(3, 3, Filters = 16, InputChannels = 8, Padding = Padding.Same, UseBias = false)]
public partial class ResNeXtStem;

[Conv2D(3, 3, Filters = 16, InputChannels = 16, Groups = 4, Padding = Padding.Same, UseBias = false)]
public partial class ResNeXtGrouped;

[Conv2D(1, 1, Filters = 16, InputChannels = 16, UseBias = false)]
public partial class ResNeXtProject;

[Conv2D(3, 3, Filters = 40, InputChannels = 16, Groups = 2, Stride = 2, Activation = Activation.ReLU)]
public partial class ResNeXtDown;

[Conv2D(3, 3, Filters = 40, InputChannels = 40, Groups = 40, Padding = Padding.Same)]
public partial class ResNeXtChannelwise;

[Conv2D(1, 1, Filters = 24, InputChannels = 40, Groups = 8)]
public partial class ResNeXtShuffle;

/// <summary>
/// Convolutions that inference runs with Winograd's algorithm (3x3 and 5x5, stride 1, 32 channels and filters) beside ones
/// that it does not (3 input channels; 32 to 16 filters, too few to pay for the transforms): BatchNormalization folded with a
/// ReLU6, with a residual Add and its ReLU, Valid padding with an activation (Tanh) the kernels leave to the layer, a layer's
/// own bias and ReLU.
/// </summary>
[Input(11, 9, 3)]
[Conv2D(3, 3, Filters = 32, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU(Name = "stem")]
[Conv2D(3, 3, Filters = 32, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[ReLU6]
[Conv2D(3, 3, Filters = 32, Padding = Padding.Same, UseBias = false)]
[BatchNormalization]
[Add("stem", Activation = Activation.ReLU)]
[Conv2D(5, 5, Filters = 32, Activation = Activation.Tanh)]
[Conv2D(3, 3, Filters = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
[Conv2D(3, 3, Filters = 16, Padding = Padding.Same)]
[GlobalAveragePooling2D]
[Dense(4)]
public partial class WinogradNet;
