using System;
using ConvGen.Internal;

namespace ConvGen;

/// <summary>
/// A transposed 2-D convolution layer (Keras' <c>Conv2DTranspose</c>) whose arithmetic is the generated <typeparamref name="TKernel"/>'s:
/// every <c>[Conv2DTranspose]</c> class derives from it, and so does each transposed convolution of a compiled network. Parameters:
/// <c>kernel</c> <c>[KH, KW, F, C]</c> (Keras' layout, filters before input channels; Glorot-uniform with Keras' fans, <c>KH*KW*F</c>
/// in and <c>KH*KW*C</c> out) and a zero <c>bias</c> <c>[F]</c>. The batch is split over the threads (or, for fewer samples than
/// threads, the output rows), the ReLU applied, and the per-thread weight gradients summed in thread order, as
/// <see cref="Conv2DLayer{TKernel}"/> does.
/// </summary>
/// <typeparam name="TKernel">The generated kernels.</typeparam>
public class Conv2DTransposeLayer<TKernel> : Layer where TKernel : IConv2DTransposeKernel
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    private static readonly Conv2DTransposeSpec s_spec = TKernel.Spec;
    private int _height, _width;

    /// <inheritdoc/>
    protected override string BaseName => "conv2d_transpose";

    /// <inheritdoc/>
    public override string TypeName => "Conv2DTranspose";

    /// <summary>The configuration the kernels were generated for.</summary>
    public Conv2DTransposeSpec Configuration => s_spec;

    /// <summary>The kernel <c>[KernelHeight, KernelWidth, Filters, InputChannels]</c> and its gradient.</summary>
    /// <exception cref="InvalidOperationException">No model has been built with this layer.</exception>
    public Parameter Kernel => Parameters.Count > 0 ? Parameters[0] : throw NotBuilt();

    /// <summary>The bias <c>[Filters]</c> and its gradient, or null without bias.</summary>
    /// <exception cref="InvalidOperationException">No model has been built with this layer.</exception>
    public Parameter? Bias => !s_spec.UseBias ? null : Parameters.Count > 1 ? Parameters[1] : throw NotBuilt();

    /// <inheritdoc/>
    protected internal override Activation OutputActivation => s_spec.Activation;

    /// <inheritdoc/>
    protected internal override int BackwardPhases => 2;

    /// <inheritdoc/>
    protected internal override bool SplitsWithinSample => true;

    /// <summary>
    /// ONNX's <c>ConvTranspose</c> with explicit pads: output position <c>i·s + k·d − before</c>, as here; the end is cropped by
    /// what is left over Keras' output size, and where Keras' output is longer (Valid with a stride above the window's extent)
    /// <c>output_padding</c> adds the zeros-only positions.
    /// </summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        var s = s_spec;
        var input = onnx.InputShape();
        var output = onnx.OutputShape;
        bool same = s.Padding == Padding.Same;
        (int Before, int After, int Extra) Axis(int size, int kernel, int stride, int dilation, int outputSize)
        {
            int before = Geometry.TransposedPaddingBefore(kernel, stride, dilation, same);
            long after = (long)(size - 1) * stride + Geometry.Extent(kernel, dilation) - before - outputSize;
            return after >= 0 ? (before, (int)after, 0) : (before, 0, (int)-after);
        }
        var h = Axis(input[0], s.KernelHeight, s.StrideHeight, s.DilationHeight, output[0]);
        var w = Axis(input[1], s.KernelWidth, s.StrideWidth, s.DilationWidth, output[1]);
        onnx.Convolution("ConvTranspose", Kernel.Value.Values, s.KernelHeight, s.KernelWidth, s.Filters, s.InputChannels, [s.KernelHeight, s.KernelWidth],
            Bias is { } b ? b.Value.Values : default, s.Activation,
            Onnx.OnnxExport.Ints("kernel_shape", s.KernelHeight, s.KernelWidth), Onnx.OnnxExport.Ints("strides", s.StrideHeight, s.StrideWidth),
            Onnx.OnnxExport.Ints("dilations", s.DilationHeight, s.DilationWidth),
            Onnx.OnnxExport.Ints("pads", Onnx.OnnxExport.Pads((h.Before, h.After), (w.Before, w.After))),
            Onnx.OnnxExport.Ints("output_padding", h.Extra, w.Extra));
    }

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        var s = s_spec;
        var input = build.InputShape;
        if (input.Rank != 3 || input[2] != s.InputChannels)
            throw build.Mismatch(0, $"(height, width, {s.InputChannels})", $"{build.LayerName} takes one NHWC sample with {s.InputChannels} channels");
        if (TKernel.FixedHeight > 0 && (input[0] != TKernel.FixedHeight || input[1] != TKernel.FixedWidth))
            throw build.Mismatch(0, $"({TKernel.FixedHeight}, {TKernel.FixedWidth}, {s.InputChannels})", $"{build.LayerName}'s kernels were generated for that input size");
        int outputHeight, outputWidth;
        try
        {
            outputHeight = TKernel.OutputHeight(input[0]);
            outputWidth = TKernel.OutputWidth(input[1]);
        }
        catch (ArgumentException e)
        {
            throw build.Mismatch(0, $"(height, width, {s.InputChannels}) whose output fits", $"{build.LayerName}: {e.Message}");
        }
        int receptive = s.KernelHeight * s.KernelWidth;
        build.AddParameter("kernel", new Shape(s.KernelHeight, s.KernelWidth, s.Filters, s.InputChannels), new GlorotUniform(),
            receptive * s.Filters, receptive * s.InputChannels);
        if (s.UseBias) build.AddParameter("bias", new Shape(s.Filters), new Zeros());
        build.ScratchPerThread = s.WeightCount + (s.UseBias ? s.Filters : 0);
        (_height, _width) = (input[0], input[1]);
        if (Activations.NeedsPreActivation(s.Activation)) build.KeepPerSample = outputHeight * outputWidth * s.Filters;
        return new Shape(outputHeight, outputWidth, s.Filters);
    }

    /// <summary>The forward kernel over this part's samples (or, with fewer samples than parts, its output rows of every sample); then the ReLU.</summary>
    protected internal override void RunForward(in NodeContext c)
    {
        bool byRows = c.Batch < c.Parts;
        var (s, e) = byRows ? (0, c.Batch) : c.Rows;
        if (e <= s) return;
        int inRow = _height * _width * s_spec.InputChannels, outRow = c.OutputShape.Size;
        int outputHeight = c.OutputShape[0], rowLength = outRow / outputHeight;
        var (r0, r1) = byRows ? Parallelism.Split(outputHeight, c.Parts, c.Part, 1) : (0, outputHeight);
        if (r1 <= r0) return;
        var y = c.Output.Slice(s * outRow, (e - s) * outRow);
        TKernel.ForwardRows(c.Input().Slice(s * inRow, (e - s) * inRow), e - s, _height, _width, c.Parameter(0),
            s_spec.UseBias ? c.Parameter(1) : default, y, r0, r1);
        if (s_spec.Activation == Activation.None || TKernel.AppliesActivation) return;
        for (int n = s; n < e; n++) Activations.ApplyFused(c, s_spec.Activation, n * outRow + r0 * rowLength, (r1 - r0) * rowLength);
    }

    /// <summary>
    /// Phase 0: this part's samples (after the ReLU's mask): the weight and bias gradients (part 0 into the gradients, the others
    /// into their scratch) and the input gradient. Phase 1: the other parts' gradients added, in part order, each part a slice.
    /// </summary>
    protected internal override void RunBackward(in NodeContext c)
    {
        int weights = s_spec.WeightCount, count = weights + (s_spec.UseBias ? s_spec.Filters : 0);
        if (c.Phase == 1)
        {
            c.AddPartGradients(count);
            return;
        }
        var (s, e) = c.Rows;
        if (e <= s) return;
        int inRow = _height * _width * s_spec.InputChannels, outRow = c.OutputShape.Size;
        var dy = c.OutputGradient.Slice(s * outRow, (e - s) * outRow);
        Activations.BackwardFused(c, s_spec.Activation, s * outRow, (e - s) * outRow);
        Span<float> gradients = c.Part == 0 ? c.Gradients : c.Scratch;
        if (c.Part != 0) gradients.Clear();
        TKernel.BackwardWeights(c.Input().Slice(s * inRow, (e - s) * inRow), e - s, _height, _width, dy,
            gradients.Slice(0, weights), gradients.Slice(weights, count - weights));
        if (!c.ComputesInputGradient()) return;
        var dx = c.InputGradient().Slice(s * inRow, (e - s) * inRow);
        if (!c.AccumulatesInputGradient()) dx.Clear();
        TKernel.BackwardInput(e - s, _height, _width, c.Parameter(0), dy, dx);
    }

    private InvalidOperationException NotBuilt() => new($"{Name} has no weights yet: build a model with it first (new Sequential(layer).Build(inputShape)).");
}
