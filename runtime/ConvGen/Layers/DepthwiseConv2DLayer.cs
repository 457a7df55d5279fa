using System;
using ConvGen.Internal;

namespace ConvGen;

/// <summary>
/// A depthwise 2-D convolution layer (Keras' <c>DepthwiseConv2D</c>) whose arithmetic is the generated <typeparamref name="TKernel"/>'s:
/// every <c>[DepthwiseConv2D]</c> class derives from it, and so does each depthwise convolution of a compiled network. Parameters:
/// <c>depthwise_kernel</c> <c>[KH, KW, C, M]</c> (Glorot-uniform with Keras' fans, <c>KH*KW*C</c> in and <c>KH*KW*M</c> out) and a
/// zero <c>bias</c> <c>[C*M]</c>. The batch is split over the threads (or, for fewer samples than threads, the output rows), the
/// ReLU applied, and the per-thread weight gradients summed in thread order, as <see cref="Conv2DLayer{TKernel}"/> does.
/// </summary>
/// <typeparam name="TKernel">The generated kernels.</typeparam>
public class DepthwiseConv2DLayer<TKernel> : Layer where TKernel : IDepthwiseConv2DKernel
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    private static readonly DepthwiseConv2DSpec s_spec = TKernel.Spec;
    private int _height, _width;

    /// <inheritdoc/>
    protected override string BaseName => "depthwise_conv2d";

    /// <inheritdoc/>
    public override string TypeName => "DepthwiseConv2D";

    /// <summary>The configuration the kernels were generated for.</summary>
    public DepthwiseConv2DSpec Configuration => s_spec;

    /// <summary>The kernel <c>[KernelHeight, KernelWidth, InputChannels, DepthMultiplier]</c> and its gradient.</summary>
    /// <exception cref="InvalidOperationException">No model has been built with this layer.</exception>
    public Parameter Kernel => Parameters.Count > 0 ? Parameters[0] : throw NotBuilt();

    /// <summary>The bias <c>[InputChannels * DepthMultiplier]</c> and its gradient, or null without bias.</summary>
    /// <exception cref="InvalidOperationException">No model has been built with this layer.</exception>
    public Parameter? Bias => !s_spec.UseBias ? null : Parameters.Count > 1 ? Parameters[1] : throw NotBuilt();

    /// <inheritdoc/>
    protected internal override Activation OutputActivation => s_spec.Activation;

    /// <inheritdoc/>
    protected internal override int BackwardPhases => 2;

    /// <inheritdoc/>
    protected internal override bool SplitsWithinSample => true;

    /// <inheritdoc/>
    internal override bool AcceptsFoldedNormalization => true;

    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        var s = s_spec;
        onnx.Convolution("Conv", Kernel.Value.Values, s.KernelHeight, s.KernelWidth, 1, s.OutputChannels, [s.KernelHeight, s.KernelWidth],
            Bias is { } b ? b.Value.Values : default, s.Activation,
            [.. onnx.Window(s.KernelHeight, s.KernelWidth, s.StrideHeight, s.StrideWidth, s.Padding, s.DilationHeight, s.DilationWidth), Onnx.OnnxExport.Int("group", s.InputChannels)]);
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
            long minH = Geometry.Extent(s.KernelHeight, s.DilationHeight), minW = Geometry.Extent(s.KernelWidth, s.DilationWidth);
            throw build.Mismatch(0, $"at least ({minH}, {minW}, {s.InputChannels}) for a Valid {s.KernelHeight}x{s.KernelWidth} kernel", $"{build.LayerName}: {e.Message}");
        }
        int receptive = s.KernelHeight * s.KernelWidth;
        build.AddParameter("depthwise_kernel", new Shape(s.KernelHeight, s.KernelWidth, s.InputChannels, s.DepthMultiplier), new GlorotUniform(),
            receptive * s.InputChannels, receptive * s.DepthMultiplier);
        if (s.UseBias) build.AddParameter("bias", new Shape(s.OutputChannels), new Zeros());
        build.ScratchPerThread = s.WeightCount + (s.UseBias ? s.OutputChannels : 0);
        (_height, _width) = (input[0], input[1]);
        if (Activations.NeedsPreActivation(s.Activation)) build.KeepPerSample = outputHeight * outputWidth * s.OutputChannels;
        return new Shape(outputHeight, outputWidth, s.OutputChannels);
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
        var x = c.Input().Slice(s * inRow, (e - s) * inRow);
        // Without a bias of its own, a folded BatchNormalization's bias (inference), which the kernel starts its sums at; else none.
        var bias = s_spec.UseBias ? c.Parameter(1) : c.FoldedBias;
        if (!c.FoldsActivation)
        {
            TKernel.ForwardRows(x, e - s, _height, _width, c.Parameter(0), bias, y, r0, r1);
        }
        // A BatchNormalization and a ReLU or ReLU6 after it folded in (inference): the kernel applies it as it stores, where it can.
        else if (!(c.FoldedKernelActivation != Activation.None
            && TKernel.ForwardRowsActivated(x, e - s, _height, _width, c.Parameter(0), bias, y, r0, r1, c.FoldedKernelActivation)))
        {
            // Otherwise (other activations) the activation goes on each chunk of samples' rows while they are in cache.
            int chunk = BatchNormalization.SamplesPerFoldedChunk(outRow);
            for (int n = 0; n < e - s; n += chunk)
            {
                int m = Math.Min(chunk, e - s - n);
                TKernel.ForwardRows(x.Slice(n * inRow, m * inRow), m, _height, _width, c.Parameter(0), bias, y.Slice(n * outRow, m * outRow), r0, r1);
                for (int k = n; k < n + m; k++) c.FinishFolded(y.Slice(k * outRow + r0 * rowLength, (r1 - r0) * rowLength));
            }
        }
        if (s_spec.Activation == Activation.None || TKernel.AppliesActivation) return;
        for (int n = s; n < e; n++) Activations.ApplyFused(c, s_spec.Activation, n * outRow + r0 * rowLength, (r1 - r0) * rowLength);
    }

    /// <summary>
    /// Phase 0: this part's samples (after the ReLU's mask): the weight and bias gradients (part 0 into the gradients, the others
    /// into their scratch) and the input gradient. Phase 1: the other parts' gradients added, in part order, each part a slice.
    /// </summary>
    protected internal override void RunBackward(in NodeContext c)
    {
        int weights = s_spec.WeightCount, count = weights + (s_spec.UseBias ? s_spec.OutputChannels : 0);
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
