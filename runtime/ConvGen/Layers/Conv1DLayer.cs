using System;
using ConvGen.Internal;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>
/// A 1-D convolution layer (Keras' <c>Conv1D</c>) over samples of shape <c>(steps, channels)</c> (NWC), whose arithmetic is
/// the generated 2-D <typeparamref name="TKernel"/>'s: a sample is run as a <c>1 × steps × channels</c> image through a kernel
/// of one row (<c>KernelHeight = 1</c>, <c>KernelWidth = k</c>). Keras' weight layout <c>[k, channels, filters]</c> is the
/// kernel's HWIO <c>[1, k, channels, filters]</c> in memory, so the weights are the same floats either way.
/// </summary>
/// <remarks>
/// <para>
/// 'valid' and 'same' padding are <typeparamref name="TKernel"/>'s own (<see cref="Conv2DSpec.Padding"/>). Keras' 'causal'
/// padding is <see cref="Causal"/>: a subclass over a Valid kernel overrides it to true, and each sample is then
/// left-padded with <c>(k - 1) * dilation</c> zero steps before the Valid kernel runs, so output step <c>t</c> reads
/// input steps up to <c>t * stride</c> only.
/// </para>
/// <para>
/// Everything else is <see cref="Conv2DLayer{TKernel}"/>'s arrangement: parameters (a Glorot-uniform kernel, a zero bias),
/// the batch split over the threads, the ReLU, and the per-thread weight gradients, summed in thread order.
/// </para>
/// </remarks>
/// <typeparam name="TKernel">The generated kernels, of one row.</typeparam>
public class Conv1DLayer<TKernel> : Layer where TKernel : IConv2DKernel
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    private static readonly Conv2DSpec s_spec = TKernel.Spec;
    private int _steps, _pad;

    /// <inheritdoc/>
    protected override string BaseName => "conv1d";

    /// <inheritdoc/>
    public override string TypeName => "Conv1D";

    /// <summary>The configuration the kernels were generated for (<c>KernelHeight</c>, <c>StrideHeight</c> and <c>DilationHeight</c> are 1).</summary>
    public Conv2DSpec Configuration => s_spec;

    /// <summary>
    /// Keras' <c>padding='causal'</c>: each sample is left-padded with <c>(KernelWidth - 1) * DilationWidth</c> zero steps and
    /// the (Valid) kernel runs on that, so the output has <c>ceil(steps / stride)</c> steps and none reads a later input step.
    /// False here; the class a <c>[Conv1D(k, Padding = Padding.Causal)]</c> declaration generates overrides it, and so
    /// can a hand-written subclass. It is read once, when a model is built; building refuses it over a Same kernel.
    /// </summary>
    public virtual bool Causal => false;

    /// <summary>The kernel <c>[KernelWidth, InputChannels, Filters]</c> (Keras' Conv1D layout) and its gradient.</summary>
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
    internal override bool AcceptsFoldedNormalization => true;

    /// <summary>Input columns the kernels see: the steps, after the causal left padding.</summary>
    private int Width => _pad + _steps;

    /// <summary>Floats of one sample as the kernels see it: its steps after the causal zero steps.</summary>
    private int PaddedRow => Width * s_spec.InputChannels;

    private static int GradientCount => s_spec.WeightCount + (s_spec.UseBias ? s_spec.Filters : 0);

    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        var s = s_spec;
        int steps = onnx.InputShape()[0];
        var pads = Causal ? ((int)Geometry.Extent(s.KernelWidth, s.DilationWidth) - 1, 0)
            : Geometry.Padding(steps, s.KernelWidth, s.StrideWidth, s.DilationWidth, s.Padding == Padding.Same);
        onnx.Convolution("Conv", Kernel.Value.Values, 1, s.KernelWidth, s.GroupChannels, s.Filters, [s.KernelWidth],
            Bias is { } b ? b.Value.Values : default, s.Activation,
            Onnx.OnnxExport.Ints("kernel_shape", s.KernelWidth), Onnx.OnnxExport.Ints("strides", s.StrideWidth),
            Onnx.OnnxExport.Ints("dilations", s.DilationWidth), Onnx.OnnxExport.Int("group", s.Groups),
            Onnx.OnnxExport.Ints("pads", Onnx.OnnxExport.Pads(pads)));
    }

    /// <summary>
    /// Checks that the kernel has one row and the input is <c>(steps, InputChannels)</c>, declares the kernel
    /// <c>[KernelWidth, InputChannels, Filters]</c> and the bias, and the scratch: the per-thread weight gradients and, when
    /// <see cref="Causal"/>, a padded input sample and a padded input-gradient sample.
    /// </summary>
    /// <exception cref="InvalidOperationException">The kernel has more than one row, a vertical stride or dilation, or is Same while <see cref="Causal"/>.</exception>
    protected internal override Shape Build(LayerBuild build)
    {
        var s = s_spec;
        if (s.KernelHeight != 1 || s.StrideHeight != 1 || s.DilationHeight != 1)
            throw new InvalidOperationException(
                $"{build.LayerName}: a Conv1D runs a kernel of one row, but {typeof(TKernel).Name} is {s.KernelHeight}x{s.KernelWidth} with " +
                $"strides {s.StrideHeight}x{s.StrideWidth} and dilation {s.DilationHeight}x{s.DilationWidth}; declare it as [Conv2D(1, {s.KernelWidth}, ...)] " +
                "with StrideWidth and DilationWidth only.");
        bool causal = Causal;
        if (causal && s.Padding != Padding.Valid)
            throw new InvalidOperationException(
                $"{build.LayerName}: causal padding pads the input itself and then runs a Valid kernel, but {typeof(TKernel).Name} is {s.Padding}; declare it with Padding = Padding.Valid.");
        var input = build.InputShape;
        if (input.Rank != 2 || input[1] != s.InputChannels)
            throw build.Mismatch(0, $"(steps, {s.InputChannels})", $"{build.LayerName} takes one NWC sample (steps, channels) with {s.InputChannels} channels");
        int pad = causal ? (int)(Geometry.Extent(s.KernelWidth, s.DilationWidth) - 1) : 0;
        if (TKernel.FixedHeight > 0 && (TKernel.FixedHeight != 1 || input[0] + pad != TKernel.FixedWidth))
            throw build.Mismatch(0, $"({TKernel.FixedWidth - pad}, {s.InputChannels})", $"{build.LayerName}'s kernels were generated for that input size");
        int outputSteps;
        try
        {
            outputSteps = TKernel.OutputWidth(input[0] + pad);
        }
        catch (ArgumentException e)
        {
            throw build.Mismatch(0, $"at least ({Geometry.Extent(s.KernelWidth, s.DilationWidth)}, {s.InputChannels}) for a Valid kernel of {s.KernelWidth} with dilation {s.DilationWidth}",
                $"{build.LayerName}: {e.Message}");
        }
        build.AddParameter("kernel", new Shape(s.KernelWidth, s.InputChannels, s.Filters), new GlorotUniform(),
            s.KernelWidth * s.InputChannels, s.KernelWidth * s.Filters);
        if (s.UseBias) build.AddParameter("bias", new Shape(s.Filters), new Zeros());
        (_steps, _pad) = (input[0], pad);
        build.ScratchPerThread = GradientCount + (causal ? 2 * PaddedRow : 0);
        if (Activations.NeedsPreActivation(s.Activation)) build.KeepPerSample = outputSteps * s.Filters;
        return new Shape(outputSteps, s.Filters);
    }

    /// <summary>
    /// The forward kernel over this part's samples, then the ReLU. Causal: each sample is copied after the zero steps of this
    /// part's padded-input scratch and the kernel runs on that, one sample at a time.
    /// </summary>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        if (e <= s) return;
        int inRow = _steps * s_spec.InputChannels, outRow = c.OutputShape.Size;
        var x = c.Input().Slice(s * inRow, (e - s) * inRow);
        var y = c.Output.Slice(s * outRow, (e - s) * outRow);
        var weights = c.Parameter(0);
        // Without a bias of its own, a folded BatchNormalization's bias (inference), which the kernel starts its sums at; else none.
        var bias = s_spec.UseBias ? c.Parameter(1) : c.FoldedBias;
        // A BatchNormalization and the activation after it folded in (inference): the activation goes on each chunk of samples
        // while they are in cache.
        bool finish = c.FoldsActivation;
        if (_pad == 0)
        {
            int chunk = finish ? BatchNormalization.SamplesPerFoldedChunk(outRow) : e - s;
            for (int n = 0; n < e - s; n += chunk)
            {
                int m = Math.Min(chunk, e - s - n);
                TKernel.Forward(x.Slice(n * inRow, m * inRow), m, 1, _steps, weights, bias, y.Slice(n * outRow, m * outRow));
                if (finish) c.FinishFolded(y.Slice(n * outRow, m * outRow));
            }
        }
        else
        {
            var padded = PaddedInput(c.Scratch);
            for (int n = 0; n < e - s; n++)
            {
                x.Slice(n * inRow, inRow).CopyTo(padded.Slice(_pad * s_spec.InputChannels));
                TKernel.Forward(padded, 1, 1, Width, weights, bias, y.Slice(n * outRow, outRow));
                if (finish) c.FinishFolded(y.Slice(n * outRow, outRow));
            }
        }
        if (!TKernel.AppliesActivation) Activations.ApplyFused(c, s_spec.Activation, s * outRow, (e - s) * outRow);
    }

    /// <summary>
    /// Phase 0: this part's samples (after the ReLU's mask): the weight and bias gradients (part 0 into the gradients, the others
    /// into their scratch) and the input gradient; causal, each sample's input gradient is computed over the padded steps in
    /// scratch and its unpadded part written (or added) to the input gradient. Phase 1: the other parts' gradients added, in
    /// part order, each part a slice.
    /// </summary>
    protected internal override void RunBackward(in NodeContext c)
    {
        int weights = s_spec.WeightCount, count = GradientCount;
        if (c.Phase == 1)
        {
            c.AddPartGradients(count);
            return;
        }
        var (s, e) = c.Rows;
        if (e <= s) return;
        int inRow = _steps * s_spec.InputChannels, outRow = c.OutputShape.Size;
        var dy = c.OutputGradient.Slice(s * outRow, (e - s) * outRow);
        Activations.BackwardFused(c, s_spec.Activation, s * outRow, (e - s) * outRow);
        var scratch = c.Scratch;
        Span<float> gradients = c.Part == 0 ? c.Gradients : scratch.Slice(0, count);
        if (c.Part != 0) gradients.Clear();
        Span<float> weightsGradient = gradients.Slice(0, weights), biasGradient = gradients.Slice(weights, count - weights);
        var x = c.Input().Slice(s * inRow, (e - s) * inRow);
        bool inputGradient = c.ComputesInputGradient();
        var dx = inputGradient ? c.InputGradient().Slice(s * inRow, (e - s) * inRow) : default;
        if (inputGradient && !c.AccumulatesInputGradient()) dx.Clear();
        if (_pad == 0)
        {
            TKernel.BackwardWeights(x, e - s, 1, _steps, dy, weightsGradient, biasGradient);
            if (inputGradient) TKernel.BackwardInput(e - s, 1, _steps, c.Parameter(0), dy, dx);
            return;
        }
        var padded = PaddedInput(scratch);
        var paddedGradient = scratch.Slice(count + PaddedRow, PaddedRow);
        int skip = _pad * s_spec.InputChannels;
        for (int n = 0; n < e - s; n++)
        {
            var dyn = dy.Slice(n * outRow, outRow);
            x.Slice(n * inRow, inRow).CopyTo(padded.Slice(skip));
            TKernel.BackwardWeights(padded, 1, 1, Width, dyn, weightsGradient, biasGradient);
            if (!inputGradient) continue;
            paddedGradient.Clear();
            TKernel.BackwardInput(1, 1, Width, c.Parameter(0), dyn, paddedGradient);
            var dxn = dx.Slice(n * inRow, inRow);
            TensorPrimitives.Add(dxn, paddedGradient.Slice(skip), dxn);
        }
    }

    /// <summary>This part's padded input sample in <paramref name="scratch"/>, its leading zero steps written (the scratch is shared with other layers).</summary>
    private Span<float> PaddedInput(Span<float> scratch)
    {
        var padded = scratch.Slice(GradientCount, PaddedRow);
        padded.Slice(0, _pad * s_spec.InputChannels).Clear();
        return padded;
    }

    private InvalidOperationException NotBuilt() => new($"{Name} has no weights yet: build a model with it first (new Sequential(layer).Build(inputShape)).");
}
