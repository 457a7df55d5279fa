using System;
using System.Runtime.InteropServices;
using System.Threading;
using ConvGen.Internal;

namespace ConvGen;

/// <summary>
/// A 2-D convolution layer (Keras' <c>Conv2D</c>) whose arithmetic is the generated <typeparamref name="TKernel"/>'s: every
/// <c>[Conv2D]</c> class derives from it, and so does each convolution of a compiled network. This class arranges the kernels:
/// parameters (an HWIO kernel with Glorot-uniform initialization, a zero bias), the batch split over the threads, the ReLU,
/// and the per-thread weight gradients, summed in thread order.
/// </summary>
/// <typeparam name="TKernel">The generated kernels.</typeparam>
public class Conv2DLayer<TKernel> : Layer where TKernel : IConv2DKernel
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    private static readonly Conv2DSpec s_spec = TKernel.Spec;

    /// <summary>The Winograd algorithm inference runs this convolution with, or null for the direct kernels.</summary>
    private static readonly Winograd? s_winograd = Winograd.For(s_spec);

    private int _height, _width;

    /// <summary>The kernel transformed for <see cref="s_winograd"/>, and the weights version and folding it was made from (<c>version · 2 + folded</c>).</summary>
    private float[]? _winogradKernel;
    private long _winogradKey = -1;
    private readonly object _winogradLock = new();

    /// <summary>Whether inference has run this layer with Winograd's algorithm (its kernel was transformed); for tests.</summary>
    internal bool RanWinograd => Volatile.Read(ref _winogradKey) != -1;

    /// <inheritdoc/>
    protected override string BaseName => "conv2d";

    /// <inheritdoc/>
    public override string TypeName => "Conv2D";

    /// <summary>The configuration the kernels were generated for.</summary>
    public Conv2DSpec Configuration => s_spec;

    /// <summary>The HWIO kernel <c>[KernelHeight, KernelWidth, InputChannels / Groups, Filters]</c> and its gradient.</summary>
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
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        var s = s_spec;
        onnx.Convolution("Conv", Kernel.Value.Values, s.KernelHeight, s.KernelWidth, s.GroupChannels, s.Filters, [s.KernelHeight, s.KernelWidth],
            Bias is { } b ? b.Value.Values : default, s.Activation,
            [.. onnx.Window(s.KernelHeight, s.KernelWidth, s.StrideHeight, s.StrideWidth, s.Padding, s.DilationHeight, s.DilationWidth), Onnx.OnnxExport.Int("group", s.Groups)]);
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
        // Keras' fans for a grouped kernel [KH, KW, C/G, F]: in = KH * KW * C/G (what one filter reads), out = KH * KW * F.
        int receptive = s.KernelHeight * s.KernelWidth;
        build.AddParameter("kernel", new Shape(s.KernelHeight, s.KernelWidth, s.GroupChannels, s.Filters), new GlorotUniform(),
            receptive * s.GroupChannels, receptive * s.Filters);
        if (s.UseBias) build.AddParameter("bias", new Shape(s.Filters), new Zeros());
        build.ScratchPerThread = s.WeightCount + (s.UseBias ? s.Filters : 0);
        (_height, _width) = (input[0], input[1]);
        if (Activations.NeedsPreActivation(s.Activation)) build.KeepPerSample = outputHeight * outputWidth * s.Filters;
        return new Shape(outputHeight, outputWidth, s.Filters);
    }

    /// <inheritdoc/>
    protected internal override bool CanFuseForward(Layer next, Shape outputShape)
        => (s_spec.Activation is Activation.None or Activation.ReLU) && TKernel.HasPooledForward && next is MaxPool2D { PoolHeight: 2, PoolWidth: 2, StrideHeight: 2, StrideWidth: 2 }
           && outputShape[0] % 2 == 0 && outputShape[1] % 2 == 0;

    /// <inheritdoc/>
    protected internal override bool SplitsWithinSample => true;

    /// <inheritdoc/>
    internal override bool AcceptsFoldedNormalization => true;

    /// <inheritdoc/>
    internal override bool AcceptsFoldedResidual => true;

    /// <summary>
    /// The forward kernel over this part's samples; with the next layer's max pool when fused; then the ReLU. With fewer samples
    /// than parts (inference of one image on several threads) the parts split the output rows of every sample instead.
    /// </summary>
    protected internal override void RunForward(in NodeContext c)
    {
        bool byRows = c.Batch < c.Parts;
        var (s, e) = byRows ? (0, c.Batch) : c.Rows;
        if (e <= s) return;
        // Winograd where the layer is one it pays for and the pass's batch has enough tiles: decided from the whole batch, not
        // from this part's share or depth-first chunk, so a sample's outputs do not depend on the threads or the chunks.
        var winograd = c.UsesWinograd && s_winograd is { } w && w.Pays(c.PassBatch, c.OutputShape[0], c.OutputShape[1]) ? w : null;
        int inRow = _height * _width * s_spec.InputChannels, outRow = c.OutputShape.Size;
        var x = c.Input().Slice(s * inRow, (e - s) * inRow);
        var weights = c.Parameter(0);
        // Without a bias of its own, a folded BatchNormalization's bias (inference), which the kernel starts its sums at; else none.
        var bias = s_spec.UseBias ? c.Parameter(1) : c.FoldedBias;
        var pooled = c.FusedOutput;
        if (!pooled.IsEmpty)
        {
            int pooledRow = pooled.Length / c.Batch, pooledHeight = c.OutputShape[0] / 2;
            // Threads splitting a sample split it at whole tiles (one Winograd tile row is Outputs / 2 pooled rows; Outputs is even).
            var (p0, p1) = byRows ? Parallelism.Split(pooledHeight, c.Parts, c.Part, winograd is null ? 1 : winograd.Outputs / 2) : (0, pooledHeight);
            if (p1 <= p0) return;
            if (winograd is not null)
            {
                RunWinograd(c, winograd, x, e - s, bias, default, pooled.Slice(s * pooledRow, (e - s) * pooledRow), 2 * p0, 2 * p1, s_spec.Activation, pool: true);
                return;
            }
            TKernel.ForwardPooled(x, e - s, weights, bias, c.KeepActivations ? c.Output.Slice(s * outRow, (e - s) * outRow) : default,
                pooled.Slice(s * pooledRow, (e - s) * pooledRow), p0, p1);
            return;
        }
        var y = c.Output.Slice(s * outRow, (e - s) * outRow);
        int outputHeight = c.OutputShape[0], rowLength = outRow / outputHeight;
        var (r0, r1) = byRows ? Parallelism.Split(outputHeight, c.Parts, c.Part, winograd?.Outputs ?? 1) : (0, outputHeight);
        if (r1 <= r0) return;
        var residual = c.FoldsResidual ? c.Residual.Slice(s * outRow, (e - s) * outRow) : default;
        // What the Winograd kernels apply as they store: the folded Add's activation, a folded ReLU or ReLU6, or the layer's own
        // activation where the direct kernels would apply it themselves; null (they do not run) for another folded activation.
        Activation? winogradActivation = c.FoldsResidual ? c.ResidualActivation
            : c.FoldsActivation ? (c.FoldedKernelActivation == Activation.None ? null : c.FoldedKernelActivation)
            : TKernel.AppliesActivation ? s_spec.Activation : Activation.None;
        if (winograd is not null && winogradActivation is Activation.None or Activation.ReLU or Activation.ReLU6)
        {
            RunWinograd(c, winograd, x, e - s, bias, residual, y, r0, r1, winogradActivation.Value, pool: false);
        }
        else if (!c.FoldsActivation && !c.FoldsResidual)
        {
            TKernel.ForwardRows(x, e - s, _height, _width, weights, bias, y, r0, r1);
        }
        // A BatchNormalization and the residual Add, or a ReLU or ReLU6, after it folded in (inference): the kernel adds the
        // residual and applies the activation as it stores, where it can.
        else if (!(c.FoldsResidual
            ? TKernel.ForwardRowsResidual(x, e - s, _height, _width, weights, bias, residual, y, r0, r1, c.ResidualActivation)
            : c.FoldedKernelActivation != Activation.None && TKernel.ForwardRowsActivated(x, e - s, _height, _width, weights, bias, y, r0, r1, c.FoldedKernelActivation)))
        {
            // Otherwise (grouped kernels, other activations) the residual and the activation go on each chunk of samples' rows
            // while they are in cache.
            int chunk = BatchNormalization.SamplesPerFoldedChunk(outRow);
            for (int n = 0; n < e - s; n += chunk)
            {
                int m = Math.Min(chunk, e - s - n);
                TKernel.ForwardRows(x.Slice(n * inRow, m * inRow), m, _height, _width, weights, bias, y.Slice(n * outRow, m * outRow), r0, r1);
                for (int k = n; k < n + m; k++)
                {
                    int at = k * outRow + r0 * rowLength, count = (r1 - r0) * rowLength;
                    if (c.FoldsResidual) c.FinishResidual(y.Slice(at, count), residual.Slice(at, count));
                    else c.FinishFolded(y.Slice(at, count));
                }
            }
        }
        if (s_spec.Activation == Activation.None || TKernel.AppliesActivation) return;
        for (int n = s; n < e; n++) Activations.ApplyFused(c, s_spec.Activation, n * outRow + r0 * rowLength, (r1 - r0) * rowLength);
    }

    /// <summary>
    /// The forward pass of <paramref name="batch"/> samples with Winograd's algorithm (inference): output rows
    /// <c>[rowStart, rowEnd)</c>, or with <paramref name="pool"/> the fused max pool of them.
    /// </summary>
    private void RunWinograd(in NodeContext c, Winograd winograd, ReadOnlySpan<float> x, int batch, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> residual, Span<float> output, int rowStart, int rowEnd, Activation activation, bool pool)
    {
        var s = s_spec;
        bool same = s.Padding == Padding.Same;
        int padTop = Geometry.Padding(_height, s.KernelHeight, 1, 1, same).Before, padLeft = Geometry.Padding(_width, s.KernelWidth, 1, 1, same).Before;
        winograd.Forward(x, batch, _height, _width, s.InputChannels, s.Filters, padTop, padLeft, c.OutputShape[0], c.OutputShape[1],
            WinogradKernel(c, winograd), bias, residual, output, rowStart, rowEnd, activation, pool);
    }

    /// <summary>
    /// The kernel (folded or not) transformed for <paramref name="winograd"/>, made again when the weights or the folding changed
    /// since: the first part to need it transforms it while the others wait.
    /// </summary>
    private ReadOnlySpan<float> WinogradKernel(in NodeContext c, Winograd winograd)
    {
        long key = c.WeightsVersion * 2 + (c.Folded ? 1 : 0);
        if (Volatile.Read(ref _winogradKey) != key)
        {
            lock (_winogradLock)
            {
                if (_winogradKey != key)
                {
                    winograd.TransformWeights(c.Parameter(0), s_spec.InputChannels, s_spec.Filters, WinogradKernelSpan(winograd));
                    Volatile.Write(ref _winogradKey, key);
                }
            }
        }
        return WinogradKernelSpan(winograd);
    }

    /// <summary>The transformed kernel's floats, from a 64-byte boundary (so are its rows: multiples of 16 floats).</summary>
    private Span<float> WinogradKernelSpan(Winograd winograd)
    {
        int length = winograd.TransformedLength(s_spec.InputChannels, s_spec.Filters);
        return MemoryMarshal.CreateSpan(ref Buffers.Aligned64(Buffers.EnsureAligned(ref _winogradKernel, length)), length);
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
