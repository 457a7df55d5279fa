using System;
using ConvGen.Internal;
using System.Numerics;

namespace ConvGen;

/// <summary>
/// Keras' <c>MaxPooling2D</c> over NHWC batches: the maximum of each <c>poolHeight×poolWidth</c> window per channel. Padded
/// positions (<see cref="Padding.Same"/>) are ignored. The backward pass routes each output gradient to the first input of its
/// window (in row-major order) that holds the maximum.
/// </summary>
/// <remarks>
/// A compiled network's max-pooling layers derive from this class and override <see cref="ForwardSamples"/> and
/// <see cref="BackwardSamples"/> with kernels specialized to their sizes; everything else is this class's.
/// </remarks>
public class MaxPool2D : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        onnx.Node("MaxPool", [onnx.Input()], onnx.Output, onnx.Window(PoolHeight, PoolWidth, StrideHeight, StrideWidth, Padding, dilations: false));
    }

    private readonly PoolWindow _window;
    private PoolGeometry _geometry;

    /// <summary>A square <paramref name="poolSize"/> window moved by <paramref name="strides"/> (default: the pool size) in both directions.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size or stride is less than 1, or <paramref name="padding"/> is not defined.</exception>
    public MaxPool2D(int poolSize, int? strides = null, Padding padding = Padding.Valid)
        => _window = PoolWindow.Square(poolSize, strides, padding);

    /// <summary>A <paramref name="poolHeight"/>×<paramref name="poolWidth"/> window with separate vertical and horizontal strides.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size or stride is less than 1, or <paramref name="padding"/> is not defined.</exception>
    public MaxPool2D(int poolHeight, int poolWidth, int strideHeight, int strideWidth, Padding padding = Padding.Valid)
        => _window = PoolWindow.Create(poolHeight, poolWidth, strideHeight, strideWidth, padding);

    /// <inheritdoc/>
    protected override string BaseName => "max_pooling2d";

    /// <inheritdoc/>
    public override string TypeName => "MaxPool2D";

    /// <summary>Window height.</summary>
    public int PoolHeight => _window.PoolHeight;

    /// <summary>Window width.</summary>
    public int PoolWidth => _window.PoolWidth;

    /// <summary>Vertical stride.</summary>
    public int StrideHeight => _window.StrideHeight;

    /// <summary>Horizontal stride.</summary>
    public int StrideWidth => _window.StrideWidth;

    /// <summary>Border handling.</summary>
    public Padding Padding => _window.Padding;

    /// <inheritdoc/>
    protected internal override bool FoldsInputRelu => true;

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        (var output, _geometry) = _window.Plan(build);
        return output;
    }

    /// <inheritdoc/>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        ForwardSamples(c.Input(), c.Output, s, e);
    }

    /// <inheritdoc/>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        BackwardSamples(c.Input(), c.Output, c.OutputGradient, c.InputGradient(), s, e, c.AccumulatesInputGradient(), c.FoldsInputRelu());
    }

    /// <summary><c>y[n, oh, ow, c]</c> = the maximum of <c>x</c> over the window of <c>(oh, ow)</c>, for samples <c>[n0, n1)</c>.</summary>
    protected virtual void ForwardSamples(ReadOnlySpan<float> x, Span<float> y, int n0, int n1) => PoolKernels.MaxForward(x, y, _geometry, n0, n1);

    /// <summary>
    /// For samples <c>[n0, n1)</c>, each output gradient goes to the first input of its window that holds the maximum; the rest of
    /// <c>dx</c> is zero (or unchanged, when <paramref name="accumulate"/>). With <paramref name="relu"/>, a maximum that is not
    /// positive passes nothing (the input's ReLU, folded in).
    /// </summary>
    protected virtual void BackwardSamples(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, int n0, int n1, bool accumulate, bool relu)
        => PoolKernels.MaxBackward(x, y, dy, dx, _geometry, n0, n1, accumulate, relu);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: MaxPool2D({PoolHeight}x{PoolWidth}, strides {StrideHeight}x{StrideWidth}, {Padding})";
}

/// <summary>
/// Keras' <c>AveragePooling2D</c> over NHWC batches: the mean of each <c>poolHeight×poolWidth</c> window per channel. With
/// <see cref="Padding.Same"/>, like Keras/TensorFlow, a border window is divided by its number of valid (non-padded) positions.
/// </summary>
public sealed class AveragePool2D : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        onnx.Node("AveragePool", [onnx.Input()], onnx.Output,
            [.. onnx.Window(PoolHeight, PoolWidth, StrideHeight, StrideWidth, Padding, dilations: false), Onnx.OnnxExport.Int("count_include_pad", 0)]);
    }

    private readonly PoolWindow _window;
    private PoolGeometry _geometry;

    /// <summary>A square <paramref name="poolSize"/> window moved by <paramref name="strides"/> (default: the pool size) in both directions.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size or stride is less than 1, or <paramref name="padding"/> is not defined.</exception>
    public AveragePool2D(int poolSize, int? strides = null, Padding padding = Padding.Valid)
        => _window = PoolWindow.Square(poolSize, strides, padding);

    /// <summary>A <paramref name="poolHeight"/>×<paramref name="poolWidth"/> window with separate vertical and horizontal strides.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size or stride is less than 1, or <paramref name="padding"/> is not defined.</exception>
    public AveragePool2D(int poolHeight, int poolWidth, int strideHeight, int strideWidth, Padding padding = Padding.Valid)
        => _window = PoolWindow.Create(poolHeight, poolWidth, strideHeight, strideWidth, padding);

    /// <inheritdoc/>
    protected override string BaseName => "average_pooling2d";

    /// <summary>Window height.</summary>
    public int PoolHeight => _window.PoolHeight;

    /// <summary>Window width.</summary>
    public int PoolWidth => _window.PoolWidth;

    /// <summary>Vertical stride.</summary>
    public int StrideHeight => _window.StrideHeight;

    /// <summary>Horizontal stride.</summary>
    public int StrideWidth => _window.StrideWidth;

    /// <summary>Border handling.</summary>
    public Padding Padding => _window.Padding;

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        (var output, _geometry) = _window.Plan(build);
        return output;
    }

    /// <inheritdoc/>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        PoolKernels.AverageForward(c.Input(), c.Output, _geometry, s, e);
    }

    /// <summary>Spreads each output gradient evenly over the valid positions of its window.</summary>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        PoolKernels.AverageBackward(c.OutputGradient, c.InputGradient(), _geometry, s, e, c.AccumulatesInputGradient());
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: AveragePool2D({PoolHeight}x{PoolWidth}, strides {StrideHeight}x{StrideWidth}, {Padding})";
}

/// <summary>A pooling window's configuration, validated.</summary>
internal readonly record struct PoolWindow(int PoolHeight, int PoolWidth, int StrideHeight, int StrideWidth, Padding Padding)
{
    public static PoolWindow Square(int poolSize, int? strides, Padding padding)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(poolSize, 1);
        if (strides is int s) ArgumentOutOfRangeException.ThrowIfLessThan(s, 1, nameof(strides));
        return Create(poolSize, poolSize, strides ?? poolSize, strides ?? poolSize, padding);
    }

    public static PoolWindow Create(int poolHeight, int poolWidth, int strideHeight, int strideWidth, Padding padding)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(poolHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(poolWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(strideHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(strideWidth, 1);
        if (padding is not (Padding.Valid or Padding.Same))
            throw new ArgumentOutOfRangeException(nameof(padding), padding, "A pool's padding is Padding.Valid or Padding.Same (Causal is for Conv1D only).");
        return new PoolWindow(poolHeight, poolWidth, strideHeight, strideWidth, padding);
    }

    /// <summary>The output shape of one sample and the geometry of the window over it (see <see cref="Geometry"/>).</summary>
    public (Shape Output, PoolGeometry Geometry) Plan(LayerBuild build)
    {
        var input = build.InputShape;
        if (input.Rank != 3)
            throw build.Mismatch(0, "(height, width, channels)", $"{build.LayerName} takes one NHWC sample");
        bool same = Padding == Padding.Same;
        int oh = Geometry.OutputSize(input[0], PoolHeight, StrideHeight, 1, same), ow = Geometry.OutputSize(input[1], PoolWidth, StrideWidth, 1, same);
        if (oh < 1 || ow < 1)
            throw build.Mismatch(0, $"at least ({PoolHeight}, {PoolWidth}, channels) for a Valid {PoolHeight}x{PoolWidth} pool", $"{build.LayerName}: the input is smaller than the window");
        int padTop = Geometry.Padding(input[0], PoolHeight, StrideHeight, 1, same).Before, padLeft = Geometry.Padding(input[1], PoolWidth, StrideWidth, 1, same).Before;
        return (new Shape(oh, ow, input[2]), new PoolGeometry(input[0], input[1], input[2], oh, ow, padTop, padLeft, PoolHeight, PoolWidth, StrideHeight, StrideWidth));
    }
}

/// <summary>The sizes of one pooling layer, per sample.</summary>
internal readonly record struct PoolGeometry(int Height, int Width, int Channels, int OutHeight, int OutWidth,
    int PadTop, int PadLeft, int PoolHeight, int PoolWidth, int StrideHeight, int StrideWidth)
{
    public int InputRow => Height * Width * Channels;

    /// <summary>Rows <c>[Start, End)</c> of the input under output row <paramref name="oh"/>, clipped to the input.</summary>
    public (int Start, int End) Rows(int oh)
    {
        int start = oh * StrideHeight - PadTop;
        return (Math.Max(start, 0), Math.Min(start + PoolHeight, Height));
    }

    /// <summary>Columns <c>[Start, End)</c> of the input under output column <paramref name="ow"/>, clipped to the input.</summary>
    public (int Start, int End) Columns(int ow)
    {
        int start = ow * StrideWidth - PadLeft;
        return (Math.Max(start, 0), Math.Min(start + PoolWidth, Width));
    }
}

/// <summary>Pooling loops over samples <c>[n0, n1)</c>, vectorized over channels, with the sizes as variables.</summary>
internal static class PoolKernels
{
    public static void MaxForward(ReadOnlySpan<float> x, Span<float> y, in PoolGeometry g, int n0, int n1)
    {
        int channels = g.Channels, vc = Vector<float>.Count;
        for (int n = n0; n < n1; n++)
        for (int oh = 0; oh < g.OutHeight; oh++)
        {
            var (h0, h1) = g.Rows(oh);
            for (int ow = 0; ow < g.OutWidth; ow++)
            {
                var (w0, w1) = g.Columns(ow);
                int o = ((n * g.OutHeight + oh) * g.OutWidth + ow) * channels;
                int c = 0;
                for (; c + vc <= channels; c += vc)
                {
                    var best = new Vector<float>(x.Slice(((n * g.Height + h0) * g.Width + w0) * channels + c, vc));
                    for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++)
                        best = Vector.Max(best, new Vector<float>(x.Slice(((n * g.Height + ih) * g.Width + iw) * channels + c, vc)));
                    best.CopyTo(y.Slice(o + c, vc));
                }
                for (; c < channels; c++)
                {
                    float best = x[((n * g.Height + h0) * g.Width + w0) * channels + c];
                    for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++)
                        best = MathF.Max(best, x[((n * g.Height + ih) * g.Width + iw) * channels + c]);
                    y[o + c] = best;
                }
            }
        }
    }

    public static void MaxBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, in PoolGeometry g,
        int n0, int n1, bool accumulate, bool relu)
    {
        int channels = g.Channels;
        if (!accumulate) dx.Slice(n0 * g.InputRow, (n1 - n0) * g.InputRow).Clear();
        for (int n = n0; n < n1; n++)
        for (int oh = 0; oh < g.OutHeight; oh++)
        {
            var (h0, h1) = g.Rows(oh);
            for (int ow = 0; ow < g.OutWidth; ow++)
            {
                var (w0, w1) = g.Columns(ow);
                int o = ((n * g.OutHeight + oh) * g.OutWidth + ow) * channels;
                for (int c = 0; c < channels; c++)
                {
                    float best = y[o + c];
                    if (relu && !(best > 0f)) continue;
                    for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++)
                    {
                        int at = ((n * g.Height + ih) * g.Width + iw) * channels + c;
                        if (x[at] == best)
                        {
                            dx[at] += dy[o + c];
                            goto next;
                        }
                    }
                    next:;
                }
            }
        }
    }

    public static void AverageForward(ReadOnlySpan<float> x, Span<float> y, in PoolGeometry g, int n0, int n1)
    {
        int channels = g.Channels;
        for (int n = n0; n < n1; n++)
        for (int oh = 0; oh < g.OutHeight; oh++)
        {
            var (h0, h1) = g.Rows(oh);
            for (int ow = 0; ow < g.OutWidth; ow++)
            {
                var (w0, w1) = g.Columns(ow);
                var sum = y.Slice(((n * g.OutHeight + oh) * g.OutWidth + ow) * channels, channels);
                sum.Clear();
                for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                    Accumulate(x.Slice(((n * g.Height + ih) * g.Width + iw) * channels, channels), 1f, sum);
                float count = (h1 - h0) * (w1 - w0);
                Divide(sum, count);
            }
        }
    }

    public static void AverageBackward(ReadOnlySpan<float> dy, Span<float> dx, in PoolGeometry g, int n0, int n1, bool accumulate)
    {
        int channels = g.Channels;
        if (!accumulate) dx.Slice(n0 * g.InputRow, (n1 - n0) * g.InputRow).Clear();
        for (int n = n0; n < n1; n++)
        for (int oh = 0; oh < g.OutHeight; oh++)
        {
            var (h0, h1) = g.Rows(oh);
            for (int ow = 0; ow < g.OutWidth; ow++)
            {
                var (w0, w1) = g.Columns(ow);
                var grad = dy.Slice(((n * g.OutHeight + oh) * g.OutWidth + ow) * channels, channels);
                float share = 1f / ((h1 - h0) * (w1 - w0));
                for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                    Accumulate(grad, share, dx.Slice(((n * g.Height + ih) * g.Width + iw) * channels, channels));
            }
        }
    }

    /// <summary><c>dst += src * scale</c>.</summary>
    private static void Accumulate(ReadOnlySpan<float> src, float scale, Span<float> dst)
    {
        int vc = Vector<float>.Count, i = 0;
        if (src.Length >= vc)
        {
            var s = new Vector<float>(scale);
            for (; i + vc <= src.Length; i += vc)
                (new Vector<float>(dst.Slice(i, vc)) + new Vector<float>(src.Slice(i, vc)) * s).CopyTo(dst.Slice(i, vc));
        }
        for (; i < src.Length; i++) dst[i] += src[i] * scale;
    }

    /// <summary><c>values /= divisor</c>.</summary>
    private static void Divide(Span<float> values, float divisor)
    {
        int vc = Vector<float>.Count, i = 0;
        if (values.Length >= vc)
        {
            var d = new Vector<float>(divisor);
            for (; i + vc <= values.Length; i += vc)
                (new Vector<float>(values.Slice(i, vc)) / d).CopyTo(values.Slice(i, vc));
        }
        for (; i < values.Length; i++) values[i] /= divisor;
    }
}
