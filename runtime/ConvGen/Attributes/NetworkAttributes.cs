using System;

namespace ConvGen;

/// <summary>
/// Starts a compiled network: the layer attributes that follow it on the same <c>partial class</c>, in order, are its layers,
/// like a Keras <c>Sequential</c>; a layer reads the previous one unless its <c>Input</c> names another, and <see cref="AddAttribute"/>
/// and <see cref="ConcatenateAttribute"/> merge several, so residual networks are declared the same way. The generator infers every layer's shapes from this input shape, reports any
/// inconsistency as a compile error at the offending attribute, and emits one class with kernels specialized to every size.
/// </summary>
/// <example>
/// <code>
/// [Input(28, 28, 1)]
/// [Conv2D(5, 5, Filters = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
/// [MaxPool2D(2)]
/// [Flatten]
/// [Dense(10)]
/// public partial class TinyNet;
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class InputAttribute : Attribute
{
    /// <summary>Declares the shape of one input sample, <c>(height, width, channels)</c> (NHWC without the batch).</summary>
    /// <param name="height">Rows of one sample, at least 1.</param>
    /// <param name="width">Columns of one sample, at least 1.</param>
    /// <param name="channels">Channels of one sample, at least 1.</param>
    public InputAttribute(int height, int width, int channels)
    {
        Height = height;
        Width = width;
        Channels = channels;
    }

    /// <summary>Rows of one sample.</summary>
    public int Height { get; }

    /// <summary>Columns of one sample.</summary>
    public int Width { get; }

    /// <summary>Channels of one sample.</summary>
    public int Channels { get; }

    /// <summary>
    /// Declares a sequence input, <c>(steps, channels)</c> (NWC without the batch), for 1-D networks (<see cref="Conv1DAttribute"/>,
    /// <see cref="MaxPool1DAttribute"/>, ...); <see cref="Height"/> and <see cref="Width"/> are then 0.
    /// </summary>
    /// <param name="steps">Steps of one sample, at least 1.</param>
    /// <param name="channels">Channels (features per step) of one sample, at least 1.</param>
    public InputAttribute(int steps, int channels)
    {
        Steps = steps;
        Channels = channels;
    }

    /// <summary>Steps of one sequence sample, or 0 for an image input.</summary>
    public int Steps { get; }
}

/// <summary>What every layer attribute of a compiled network takes besides its own arguments (merges name their inputs instead).</summary>
public abstract class NetworkLayerAttribute : Attribute
{
    /// <summary>The layer's name (default Keras': its kind's base name, then <c>_1</c>, <c>_2</c>, ...), which other layers' <c>Input</c> and merges refer to.</summary>
    public string? Name { get; set; }

    /// <summary>The name of the earlier layer (or <c>"input"</c>) whose output this layer reads instead of the previous layer's.</summary>
    public string? Input { get; set; }
}

/// <summary>A max-pooling layer of a compiled network (Keras' <c>MaxPool2D</c>); see <see cref="InputAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class MaxPool2DAttribute : NetworkLayerAttribute
{
    /// <summary>A <paramref name="poolSize"/> x <paramref name="poolSize"/> window; the stride defaults to the window.</summary>
    /// <param name="poolSize">Rows and columns of the window, at least 1.</param>
    public MaxPool2DAttribute(int poolSize) : this(poolSize, poolSize) { }

    /// <summary>A <paramref name="poolHeight"/> x <paramref name="poolWidth"/> window; the strides default to the window.</summary>
    /// <param name="poolHeight">Rows of the window, at least 1.</param>
    /// <param name="poolWidth">Columns of the window, at least 1.</param>
    public MaxPool2DAttribute(int poolHeight, int poolWidth)
    {
        PoolHeight = poolHeight;
        PoolWidth = poolWidth;
    }

    /// <summary>Rows of the window.</summary>
    public int PoolHeight { get; }

    /// <summary>Columns of the window.</summary>
    public int PoolWidth { get; }

    /// <summary>Step between windows along both axes (default: the window size). Excludes <see cref="StrideHeight"/>/<see cref="StrideWidth"/>.</summary>
    public int Stride { get; set; }

    /// <summary>Step between windows along the rows (default: <see cref="PoolHeight"/>).</summary>
    public int StrideHeight { get; set; }

    /// <summary>Step between windows along the columns (default: <see cref="PoolWidth"/>).</summary>
    public int StrideWidth { get; set; }

    /// <summary>Valid (default: windows inside the input) or TF 'same' (<c>out = ceil(in / stride)</c>, padding ignored by the max).</summary>
    public Padding Padding { get; set; } = Padding.Valid;
}

/// <summary>Flattens <c>(height, width, channels)</c> to <c>(height * width * channels)</c> in a compiled network; see <see cref="InputAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class FlattenAttribute : NetworkLayerAttribute;

/// <summary>A fully connected layer of a compiled network, <c>activation(x·W + b)</c> with <c>W</c> of shape <c>[inputs, Units]</c>; see <see cref="InputAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DenseAttribute : NetworkLayerAttribute
{
    /// <summary>A layer of <paramref name="units"/> outputs.</summary>
    /// <param name="units">Outputs, at least 1.</param>
    public DenseAttribute(int units) => Units = units;

    /// <summary>Outputs of the layer.</summary>
    public int Units { get; }

    /// <summary>Whether the layer adds a bias (default true).</summary>
    public bool UseBias { get; set; } = true;

    /// <summary>The activation applied to the output (default none).</summary>
    public Activation Activation { get; set; } = Activation.None;

    /// <summary>Keras' <c>kernel_regularizer=L2(KernelL2)</c> (default 0: none); see <see cref="Layer.KernelL2"/>.</summary>
    public float KernelL2 { get; set; }
}

/// <summary>
/// An average pool of a compiled network (Keras' <c>AveragePooling2D</c>; the runtime's <see cref="AveragePool2D"/>): the mean of
/// each window, padding excluded. See <see cref="InputAttribute"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class AveragePooling2DAttribute : NetworkLayerAttribute
{
    /// <summary>A square <paramref name="poolSize"/> window.</summary>
    public AveragePooling2DAttribute(int poolSize) : this(poolSize, poolSize) { }

    /// <summary>A <paramref name="poolHeight"/> x <paramref name="poolWidth"/> window.</summary>
    public AveragePooling2DAttribute(int poolHeight, int poolWidth) => (PoolHeight, PoolWidth) = (poolHeight, poolWidth);

    /// <summary>Window height.</summary>
    public int PoolHeight { get; }

    /// <summary>Window width.</summary>
    public int PoolWidth { get; }

    /// <summary>The stride along both axes (default: the window).</summary>
    public int Stride { get; set; }

    /// <summary>The stride along the height (default: the window height).</summary>
    public int StrideHeight { get; set; }

    /// <summary>The stride along the width (default: the window width).</summary>
    public int StrideWidth { get; set; }

    /// <summary>Valid (the default) or Same.</summary>
    public Padding Padding { get; set; } = Padding.Valid;
}

/// <summary>Rows and columns removed from each image of a compiled network (Keras' <c>Cropping2D</c>; the runtime's <see cref="Cropping2D"/>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class Cropping2DAttribute : NetworkLayerAttribute
{
    /// <summary>The same cropping on all four sides.</summary>
    public Cropping2DAttribute(int cropping) : this(cropping, cropping, cropping, cropping) { }

    /// <summary><paramref name="height"/> rows above and below, <paramref name="width"/> columns left and right.</summary>
    public Cropping2DAttribute(int height, int width) : this(height, height, width, width) { }

    /// <summary>Each side's cropping.</summary>
    public Cropping2DAttribute(int top, int bottom, int left, int right) => (Top, Bottom, Left, Right) = (top, bottom, left, right);

    /// <summary>Rows removed above.</summary>
    public int Top { get; }

    /// <summary>Rows removed below.</summary>
    public int Bottom { get; }

    /// <summary>Columns removed on the left.</summary>
    public int Left { get; }

    /// <summary>Columns removed on the right.</summary>
    public int Right { get; }
}

/// <summary>Rows and columns of zeros around each image of a compiled network (Keras' <c>ZeroPadding2D</c>; the runtime's <see cref="ZeroPadding2D"/>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ZeroPadding2DAttribute : NetworkLayerAttribute
{
    /// <summary>One row or column on every side (Keras' default).</summary>
    public ZeroPadding2DAttribute() : this(1, 1, 1, 1) { }

    /// <summary>The same padding on all four sides.</summary>
    public ZeroPadding2DAttribute(int padding) : this(padding, padding, padding, padding) { }

    /// <summary><paramref name="height"/> rows above and below, <paramref name="width"/> columns left and right.</summary>
    public ZeroPadding2DAttribute(int height, int width) : this(height, height, width, width) { }

    /// <summary>Each side's padding.</summary>
    public ZeroPadding2DAttribute(int top, int bottom, int left, int right) => (Top, Bottom, Left, Right) = (top, bottom, left, right);

    /// <summary>Rows above.</summary>
    public int Top { get; }

    /// <summary>Rows below.</summary>
    public int Bottom { get; }

    /// <summary>Columns on the left.</summary>
    public int Left { get; }

    /// <summary>Columns on the right.</summary>
    public int Right { get; }
}

/// <summary>Each channel's mean over all positions, <c>(h, w, c)</c> to <c>(c)</c>, in a compiled network (Keras' <c>GlobalAveragePooling2D</c>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GlobalAveragePooling2DAttribute : NetworkLayerAttribute;

/// <summary>Each channel's largest value over all positions, <c>(h, w, c)</c> to <c>(c)</c>, in a compiled network (Keras' <c>GlobalMaxPooling2D</c>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GlobalMaxPooling2DAttribute : NetworkLayerAttribute;

/// <summary>Each channel's mean over all steps, <c>(steps, c)</c> to <c>(c)</c>, in a compiled network (Keras' <c>GlobalAveragePooling1D</c>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GlobalAveragePooling1DAttribute : NetworkLayerAttribute;

/// <summary>Each channel's largest value over all steps, <c>(steps, c)</c> to <c>(c)</c>, in a compiled network (Keras' <c>GlobalMaxPooling1D</c>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GlobalMaxPooling1DAttribute : NetworkLayerAttribute;

/// <summary>A max pool over the steps of a sequence in a compiled network (Keras' <c>MaxPool1D</c>; the runtime's <see cref="MaxPool1D"/>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class MaxPool1DAttribute : NetworkLayerAttribute
{
    /// <summary>A window of <paramref name="poolSize"/> steps (Keras' default 2); the stride defaults to the window.</summary>
    /// <param name="poolSize">Steps of the window, at least 1.</param>
    public MaxPool1DAttribute(int poolSize = 2) => PoolSize = poolSize;

    /// <summary>Steps of the window.</summary>
    public int PoolSize { get; }

    /// <summary>Step between windows (default: the window).</summary>
    public int Stride { get; set; }

    /// <summary>Valid (default) or TF 'same'.</summary>
    public Padding Padding { get; set; } = Padding.Valid;
}

/// <summary>An average pool over the steps of a sequence in a compiled network (Keras' <c>AveragePooling1D</c>; the runtime's <see cref="AveragePool1D"/>), padding excluded from the mean.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class AveragePooling1DAttribute : NetworkLayerAttribute
{
    /// <summary>A window of <paramref name="poolSize"/> steps (Keras' default 2); the stride defaults to the window.</summary>
    /// <param name="poolSize">Steps of the window, at least 1.</param>
    public AveragePooling1DAttribute(int poolSize = 2) => PoolSize = poolSize;

    /// <summary>Steps of the window.</summary>
    public int PoolSize { get; }

    /// <summary>Step between windows (default: the window).</summary>
    public int Stride { get; set; }

    /// <summary>Valid (default) or TF 'same'.</summary>
    public Padding Padding { get; set; } = Padding.Valid;
}

/// <summary>
/// A new shape for the same values, in a compiled network (Keras' <c>Reshape</c>; the runtime's <see cref="Reshape"/>, a view of its
/// input): one size (flat), <c>(steps, channels)</c> (a sequence) or <c>(height, width, channels)</c> (an image). One size may
/// be -1, inferred from the others; the sizes must multiply to the input's.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ReshapeAttribute : NetworkLayerAttribute
{
    /// <summary>A flat shape of <paramref name="size"/> values (-1: all of them).</summary>
    public ReshapeAttribute(int size) => TargetShape = [size];

    /// <summary>A sequence of <paramref name="steps"/> steps of <paramref name="channels"/> channels.</summary>
    public ReshapeAttribute(int steps, int channels) => TargetShape = [steps, channels];

    /// <summary>An image of <paramref name="height"/> x <paramref name="width"/> pixels of <paramref name="channels"/> channels.</summary>
    public ReshapeAttribute(int height, int width, int channels) => TargetShape = [height, width, channels];

    /// <summary>The sizes, as given.</summary>
    public int[] TargetShape { get; }
}

/// <summary><c>x * sigmoid(x)</c> (SiLU, swish) as a layer of a compiled network (Keras' <c>Activation("silu")</c>; the runtime's <see cref="SiLU"/>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class SiLUAttribute : NetworkLayerAttribute;

/// <summary>
/// GELU as a layer of a compiled network (Keras' <c>Activation("gelu")</c>; the runtime's <see cref="GELU"/>): <c>x * Phi(x)</c>, or with
/// <see cref="Approximate"/> its tanh form.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GELUAttribute : NetworkLayerAttribute
{
    /// <summary>The tanh approximation instead of the exact erf form (default false, as Keras' <c>Activation("gelu")</c>).</summary>
    public bool Approximate { get; set; }
}

/// <summary><c>max(x, 0)</c> as its own layer of a compiled network (Keras' <c>ReLU</c>), e.g. after <see cref="BatchNormalizationAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ReLUAttribute : NetworkLayerAttribute;

/// <summary>The hyperbolic tangent as a layer of a compiled network (Keras' <c>Activation("tanh")</c>; LeNet-5's activation).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class TanhAttribute : NetworkLayerAttribute;

/// <summary>The logistic sigmoid as a layer of a compiled network (Keras' <c>Activation("sigmoid")</c>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class SigmoidAttribute : NetworkLayerAttribute;

/// <summary>Softmax over the last axis as a layer of a compiled network (Keras' <c>Softmax</c>); for training prefer logits and <c>fromLogits: true</c>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class SoftmaxAttribute : NetworkLayerAttribute;

/// <summary><c>min(max(x, 0), 6)</c> as a layer of a compiled network (Keras' <c>ReLU(max_value=6)</c>, MobileNet's activation).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ReLU6Attribute : NetworkLayerAttribute;

/// <summary><c>x</c> above 0, else <c>negativeSlope · x</c>, as a layer of a compiled network (Keras' <c>LeakyReLU</c>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class LeakyReLUAttribute : NetworkLayerAttribute
{
    /// <summary>Keras' default slope, 0.3.</summary>
    public LeakyReLUAttribute() : this(0.3f) { }

    /// <summary>The slope below 0, finite and at least 0.</summary>
    public LeakyReLUAttribute(float negativeSlope) => NegativeSlope = negativeSlope;

    /// <summary>The slope below 0.</summary>
    public float NegativeSlope { get; }
}

/// <summary><c>x</c> above 0, else <c>alpha · (exp(x) − 1)</c>, as a layer of a compiled network (Keras' <c>ELU</c>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ELUAttribute : NetworkLayerAttribute
{
    /// <summary>Keras' default, alpha 1.</summary>
    public ELUAttribute() : this(1f) { }

    /// <summary>The scale below 0, finite and greater than 0.</summary>
    public ELUAttribute(float alpha) => Alpha = alpha;

    /// <summary>The scale below 0.</summary>
    public float Alpha { get; }
}

/// <summary>Inverted dropout of a compiled network, active in training only (Keras' <c>Dropout</c>; the runtime's <see cref="Dropout"/>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DropoutAttribute : NetworkLayerAttribute
{
    /// <summary>Drops the fraction <paramref name="rate"/> of the elements, in <c>[0, 1)</c>.</summary>
    public DropoutAttribute(float rate) => Rate = rate;

    /// <summary>The fraction dropped while training.</summary>
    public float Rate { get; }

    /// <summary>The mask seed; 0 (the default) takes the layer's seed from the network's.</summary>
    public int Seed { get; set; }
}

/// <summary>
/// Batch normalization over the last axis in a compiled network (Keras' <c>BatchNormalization</c>; the runtime's
/// <see cref="BatchNormalization"/> layer), after a convolution or a Dense layer. See <see cref="InputAttribute"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class BatchNormalizationAttribute : NetworkLayerAttribute
{
    /// <summary>Weight of the old moving statistics, in <c>[0, 1]</c> (default Keras' 0.99).</summary>
    public float Momentum { get; set; } = 0.99f;

    /// <summary>Added to the variance; greater than 0 (default Keras' 0.001).</summary>
    public float Epsilon { get; set; } = 1e-3f;

    /// <summary>Whether the offset <c>beta</c> is learned (default true).</summary>
    public bool Center { get; set; } = true;

    /// <summary>Whether the factor <c>gamma</c> is learned (default true).</summary>
    public bool Scale { get; set; } = true;
}

/// <summary>
/// Adds the outputs of layers of one shape in a compiled network (Keras' <c>Add</c>), then applies <see cref="Activation"/>:
/// <c>[Add("stem", Activation = Activation.ReLU)]</c> after a block is a residual connection. See <see cref="InputAttribute"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class AddAttribute : Attribute
{
    /// <summary>With one name, adds the previous layer's output and that layer's; with more, adds exactly the named layers'.</summary>
    /// <param name="inputs">Names of earlier layers (or <c>"input"</c>).</param>
    public AddAttribute(params string[] inputs) => Inputs = inputs;

    /// <summary>The named inputs.</summary>
    public string[] Inputs { get; }

    /// <summary>The activation applied after the sum (default none).</summary>
    public Activation Activation { get; set; } = Activation.None;

    /// <summary>The layer's name (default Keras': <c>add</c>, <c>add_1</c>, ...), which other layers' <c>Input</c> and merges refer to.</summary>
    public string? Name { get; set; }
}

/// <summary>
/// Joins the outputs of layers along the last axis (channels) in a compiled network (Keras' <c>Concatenate</c>); they must agree on
/// every other axis. See <see cref="InputAttribute"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ConcatenateAttribute : Attribute
{
    /// <summary>With one name, joins the previous layer's output and that layer's; with more, exactly the named layers', in order.</summary>
    /// <param name="inputs">Names of earlier layers (or <c>"input"</c>).</param>
    public ConcatenateAttribute(params string[] inputs) => Inputs = inputs;

    /// <summary>The named inputs.</summary>
    public string[] Inputs { get; }

    /// <summary>The layer's name (default Keras': <c>concatenate</c>, <c>concatenate_1</c>, ...), which other layers' <c>Input</c> and merges refer to.</summary>
    public string? Name { get; set; }
}
