using System;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>
/// A layer that applies a function element-wise (or, for <see cref="Softmax"/>, along the last axis) and has no parameters:
/// the output has the input's shape; the backward pass turns the output gradient into the input's in place, from the output
/// where the derivative is a function of it (ReLU, sigmoid, tanh, ...) or from the input (SiLU, GELU), then routes it.
/// </summary>
public abstract class ElementwiseLayer : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <inheritdoc/>
    protected internal sealed override Shape Build(LayerBuild build)
    {
        Configure(build.InputShape);
        return build.InputShape;
    }

    /// <summary>Takes note of the sample shape the layer will see.</summary>
    private protected virtual void Configure(Shape sample) { }

    /// <inheritdoc/>
    protected internal sealed override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        int row = c.OutputShape.Size;
        Forward(c.Input().Slice(s * row, (e - s) * row), c.Output.Slice(s * row, (e - s) * row));
    }

    /// <inheritdoc/>
    protected internal sealed override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        int row = c.OutputShape.Size;
        var dy = c.OutputGradient.Slice(s * row, (e - s) * row);
        if (!c.OutputGradientMasked) BackwardInPlace(c.Input().Slice(s * row, (e - s) * row), c.Output.Slice(s * row, (e - s) * row), dy);
        Activations.Route(dy, c.InputGradient().Slice(s * row, (e - s) * row), c.AccumulatesInputGradient());
    }

    /// <summary><c>y = f(x)</c> over whole samples.</summary>
    private protected abstract void Forward(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>
    /// Whether inference may apply this layer inside the layer before a BatchNormalization it reads (see
    /// <c>ModelPlanner.PlanFolds</c>) to any part of whole pixels: true for the element-wise functions, false for Softmax.
    /// </summary>
    internal virtual bool Folds => true;

    /// <summary><c>y = f(y)</c> in place, on whole pixels (a folded activation).</summary>
    internal void ForwardInPlace(Span<float> y) => Forward(y, y);

    /// <summary><c>dy = dy · f'(x)</c> over whole samples, from the input <c>x</c> or the output <c>y = f(x)</c>, whichever is cheaper.</summary>
    private protected abstract void BackwardInPlace(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy);
}

/// <summary>Keras' <c>ReLU</c> layer: <c>max(x, 0)</c> element-wise; the gradient passes where the output is positive.</summary>
public sealed class ReLU : ElementwiseLayer
{
    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx) => onnx.Activate(Activation.ReLU, onnx.Input(), onnx.Output);

    /// <inheritdoc/>
    protected override string BaseName => "re_lu";

    /// <inheritdoc/>
    protected internal override Activation OutputActivation => Activation.ReLU;

    private protected override void Forward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Max(x, 0f, y);

    private protected override void BackwardInPlace(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy) => Activations.ReluMask(y, dy);
}

/// <summary>The logistic sigmoid <c>1 / (1 + exp(-x))</c> element-wise, as Keras' <c>Activation("sigmoid")</c>.</summary>
public sealed class Sigmoid : ElementwiseLayer
{
    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx) => onnx.Activate(Activation.Sigmoid, onnx.Input(), onnx.Output);

    /// <inheritdoc/>
    protected override string BaseName => "sigmoid";

    private protected override void Forward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sigmoid(x, y);

    private protected override void BackwardInPlace(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy) => Activations.SigmoidBackward(y, dy, dy);
}

/// <summary>The hyperbolic tangent element-wise, as Keras' <c>Activation("tanh")</c>.</summary>
public sealed class Tanh : ElementwiseLayer
{
    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx) => onnx.Activate(Activation.Tanh, onnx.Input(), onnx.Output);

    /// <inheritdoc/>
    protected override string BaseName => "tanh";

    private protected override void Forward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Tanh(x, y);

    private protected override void BackwardInPlace(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy) => Activations.TanhBackward(y, dy, dy);
}

/// <summary>
/// Keras' <c>Softmax</c> over the last axis: <c>y = exp(x − max x) / Σ exp(x − max x)</c>, subtracting the row maximum so
/// large logits do not overflow. For training a classifier prefer a linear output with
/// <c>SparseCategoricalCrossentropy(fromLogits: true)</c>, which fuses the two more accurately.
/// </summary>
public sealed class Softmax : ElementwiseLayer
{
    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx) => onnx.Activate(Activation.Softmax, onnx.Input(), onnx.Output);

    private int _classes;

    /// <inheritdoc/>
    protected override string BaseName => "softmax";

    private protected override void Configure(Shape sample) => _classes = sample[sample.Rank - 1];

    /// <summary>A softmax needs whole rows of the last axis, which a folded chunk may cut (a Dense layer's columns split between threads).</summary>
    internal override bool Folds => false;

    private protected override void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int r = 0; r < x.Length; r += _classes) Activations.SoftmaxRow(x.Slice(r, _classes), y.Slice(r, _classes));
    }

    private protected override void BackwardInPlace(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy)
    {
        for (int r = 0; r < y.Length; r += _classes) Activations.SoftmaxBackwardRow(y.Slice(r, _classes), dy.Slice(r, _classes), dy.Slice(r, _classes));
    }
}

/// <summary>Keras' <c>ReLU(max_value=6)</c>, MobileNet's activation: <c>min(max(x, 0), 6)</c>; the gradient passes where <c>0 &lt; y &lt; 6</c>.</summary>
public sealed class ReLU6 : ElementwiseLayer
{
    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx) => onnx.Activate(Activation.ReLU6, onnx.Input(), onnx.Output);

    /// <inheritdoc/>
    protected override string BaseName => "re_lu";

    private protected override void Forward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Clamp(x, 0f, 6f, y);

    private protected override void BackwardInPlace(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy) => Activations.Relu6Mask(y, dy);
}

/// <summary>Keras' <c>LeakyReLU</c>: <c>x</c> where <c>x &gt; 0</c>, else <c>negativeSlope · x</c>.</summary>
public sealed class LeakyReLU : ElementwiseLayer
{
    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx) => onnx.Activate(Activation.LeakyReLU, onnx.Input(), onnx.Output, alpha: NegativeSlope);

    /// <summary>Creates the layer.</summary>
    /// <param name="negativeSlope">The slope below 0 (the default 0.3 of Keras' <c>LeakyReLU</c> layer; <see cref="Activation.LeakyReLU"/>, Keras 3's <c>activation="leaky_relu"</c>, uses 0.2); finite and at least 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="negativeSlope"/> is negative or not finite.</exception>
    public LeakyReLU(float negativeSlope = 0.3f)
    {
        if (!(float.IsFinite(negativeSlope) && negativeSlope >= 0f))
            throw new ArgumentOutOfRangeException(nameof(negativeSlope), negativeSlope, "negativeSlope must be finite and at least 0, such as Keras' 0.3.");
        NegativeSlope = negativeSlope;
    }

    /// <summary>The slope below 0.</summary>
    public float NegativeSlope { get; }

    /// <inheritdoc/>
    protected override string BaseName => "leaky_re_lu";

    private protected override void Forward(ReadOnlySpan<float> x, Span<float> y) => Activations.LeakyReluForward(x, y, NegativeSlope);

    // The output has the input's sign (for a slope above 0), so the slope is known from y alone; at slope 0 it is ReLU's rule.
    private protected override void BackwardInPlace(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy) => Activations.LeakyReluBackward(y, dy, NegativeSlope);
}

/// <summary>Keras' <c>ELU</c>: <c>x</c> where <c>x &gt; 0</c>, else <c>alpha · (exp(x) − 1)</c>; its gradient below 0 is <c>y + alpha</c>.</summary>
public sealed class ELU : ElementwiseLayer
{
    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx) => onnx.Activate(Activation.ELU, onnx.Input(), onnx.Output, alpha: Alpha);

    /// <summary>Creates the layer.</summary>
    /// <param name="alpha">The scale below 0 (Keras' default 1); finite and greater than 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is not finite and positive.</exception>
    public ELU(float alpha = 1f)
    {
        if (!(float.IsFinite(alpha) && alpha > 0f))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be finite and greater than 0, such as Keras' 1.0.");
        Alpha = alpha;
    }

    /// <summary>The scale below 0.</summary>
    public float Alpha { get; }

    /// <inheritdoc/>
    protected override string BaseName => "elu";

    private protected override void Forward(ReadOnlySpan<float> x, Span<float> y) => Activations.EluForward(x, y, Alpha);

    private protected override void BackwardInPlace(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy) => Activations.EluBackward(y, dy, Alpha);
}

/// <summary>
/// The SiLU, or swish, <c>x · sigmoid(x)</c> element-wise, as Keras' <c>Activation("silu")</c> (<c>keras.activations.silu</c>,
/// alias <c>swish</c>). Its gradient, <c>sigmoid(x) · (1 + x · (1 − sigmoid(x)))</c>, needs the input: the sigmoid is recomputed.
/// </summary>
public sealed class SiLU : ElementwiseLayer
{
    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx) => onnx.Activate(Activation.SiLU, onnx.Input(), onnx.Output);

    /// <inheritdoc/>
    protected override string BaseName => "silu";

    private protected override void Forward(ReadOnlySpan<float> x, Span<float> y) => Activations.SiluForward(x, y);

    private protected override void BackwardInPlace(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy) => Activations.SiluBackward(x, y, dy);
}

/// <summary>
/// The Gaussian error linear unit element-wise, as Keras' <c>Activation("gelu")</c> (<c>keras.activations.gelu</c>):
/// <c>x · Φ(x) = 0.5 · x · (1 + erf(x / √2))</c>, Φ the standard normal CDF, or with <c>approximate: true</c>
/// <c>0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))</c>. The gradient, <c>Φ(x) + x · φ(x)</c> (φ the normal density) or
/// the tanh form's derivative, is recomputed from the input.
/// </summary>
/// <remarks>
/// The exact form is computed in double from W. J. Cody's rational approximations of erf and erfc and rounded once, so it is
/// within a float rounding of the definition, also for large negative <c>x</c>, where Φ comes from <c>erfc</c> instead of the
/// cancelling <c>1 + erf</c>. The tanh form is computed as <c>x · sigmoid(2z)</c>, the same function as <c>0.5 · x · (1 + tanh(z))</c>.
/// </remarks>
public sealed class GELU : ElementwiseLayer
{
    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx) => onnx.Activate(Activation.GELU, onnx.Input(), onnx.Output, approximate: Approximate);

    /// <summary>Creates the layer.</summary>
    /// <param name="approximate">Whether to use the tanh approximation (Keras' <c>approximate=True</c>); false, the default as in Keras' <c>gelu</c>, uses erf.</param>
    public GELU(bool approximate = false) => Approximate = approximate;

    /// <summary>Whether the layer uses the tanh approximation rather than erf.</summary>
    public bool Approximate { get; }

    /// <inheritdoc/>
    protected override string BaseName => "gelu";

    private protected override void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        if (Approximate) Activations.GeluTanhForward(x, y);
        else Activations.GeluForward(x, y);
    }

    private protected override void BackwardInPlace(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy)
    {
        if (Approximate) Activations.GeluTanhBackward(x, dy);
        else Activations.GeluBackward(x, dy);
    }
}
