using System;
using System.Collections.Generic;
using System.Numerics;

namespace ConvGen;

/// <summary>
/// Keras' <c>MaxPooling2D</c> over NHWC batches: the maximum of each <c>poolHeight×poolWidth</c> window per channel.
/// Padded positions (<see cref="Padding.Same"/>) are ignored. The backward pass routes each output gradient to the
/// position of its window's maximum (the first in row-major order on ties).
/// </summary>
public sealed class MaxPool2D : ILayer
{
    private readonly PoolWindow _window;
    private float[] _output = [];
    private float[] _inputGradient = [];
    private int[] _argmax = [];
    private Tensor? _input, _outputView, _inputGradientView;
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
    public string Name { get; init; } = "max_pooling2d";

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

    /// <summary>None: pooling has no trainable parameters.</summary>
    public IReadOnlyList<Parameter> Parameters => [];

    /// <summary>Output shape <c>(OH, OW, C)</c> of one sample <c>(H, W, C)</c>.</summary>
    /// <exception cref="ShapeMismatchException">The sample is not <c>(H, W, C)</c>, or is smaller than a Valid window.</exception>
    public Shape GetOutputShape(Shape inputShape) => _window.GetOutputShape(inputShape, nameof(inputShape), Name);

    /// <summary>Checks the input shape and returns the output shape; there is nothing to initialize.</summary>
    /// <exception cref="ShapeMismatchException">The sample is not <c>(H, W, C)</c>, or is smaller than a Valid window.</exception>
    public Shape Build(Shape inputShape, int seed) => GetOutputShape(inputShape);

    /// <summary>Pools an NHWC batch, remembering where each maximum came from.</summary>
    /// <exception cref="ShapeMismatchException">The input is not an NHWC batch, or is smaller than a Valid window.</exception>
    public Tensor Forward(Tensor input, bool training = false)
    {
        var g = _window.Geometry(input, Name);
        var output = LayerBuffers.View(ref _output, ref _outputView, new Shape(g.Batch, g.OutHeight, g.OutWidth, g.Channels));
        var argmax = LayerBuffers.Ensure(ref _argmax, output.Length);
        LayerBuffers.ForChunks(g.Batch, (long)g.OutputRow * g.PoolHeight * g.PoolWidth,
            (s, e) => PoolKernels.MaxForward(input.Span, output.Span, argmax, g, s, e));
        _input = input;
        _geometry = g;
        return output;
    }

    /// <summary>Sends each output gradient to its window's maximum; returns null when <paramref name="computeInputGradient"/> is false.</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="outputGradient"/> is not shaped like the last output.</exception>
    public Tensor? Backward(Tensor outputGradient, bool computeInputGradient = true)
    {
        LayerBuffers.CheckOutputGradient(outputGradient, _input is null ? null : _outputView, Name);
        if (!computeInputGradient) return null;
        var g = _geometry;
        var inputGradient = LayerBuffers.View(ref _inputGradient, ref _inputGradientView, _input!.Shape);
        var argmax = _argmax;
        LayerBuffers.ForChunks(g.Batch, g.InputRow + g.OutputRow, (s, e) =>
        {
            var dx = inputGradient.Span.Slice(s * g.InputRow, (e - s) * g.InputRow);
            dx.Clear();
            var dxAll = inputGradient.Span;
            var dy = outputGradient.Span;
            for (int o = s * g.OutputRow, end = e * g.OutputRow; o < end; o++) dxAll[argmax[o]] += dy[o];
        });
        return inputGradient;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: MaxPool2D({PoolHeight}x{PoolWidth}, strides {StrideHeight}x{StrideWidth}, {Padding})";
}

/// <summary>
/// Keras' <c>AveragePooling2D</c> over NHWC batches: the mean of each <c>poolHeight×poolWidth</c> window per channel.
/// With <see cref="Padding.Same"/>, like Keras/TensorFlow, a border window is divided by its number of valid (non-padded) positions.
/// </summary>
public sealed class AveragePool2D : ILayer
{
    private readonly PoolWindow _window;
    private float[] _output = [];
    private float[] _inputGradient = [];
    private Tensor? _input, _outputView, _inputGradientView;
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
    public string Name { get; init; } = "average_pooling2d";

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

    /// <summary>None: pooling has no trainable parameters.</summary>
    public IReadOnlyList<Parameter> Parameters => [];

    /// <summary>Output shape <c>(OH, OW, C)</c> of one sample <c>(H, W, C)</c>.</summary>
    /// <exception cref="ShapeMismatchException">The sample is not <c>(H, W, C)</c>, or is smaller than a Valid window.</exception>
    public Shape GetOutputShape(Shape inputShape) => _window.GetOutputShape(inputShape, nameof(inputShape), Name);

    /// <summary>Checks the input shape and returns the output shape; there is nothing to initialize.</summary>
    /// <exception cref="ShapeMismatchException">The sample is not <c>(H, W, C)</c>, or is smaller than a Valid window.</exception>
    public Shape Build(Shape inputShape, int seed) => GetOutputShape(inputShape);

    /// <summary>Averages each window of an NHWC batch.</summary>
    /// <exception cref="ShapeMismatchException">The input is not an NHWC batch, or is smaller than a Valid window.</exception>
    public Tensor Forward(Tensor input, bool training = false)
    {
        var g = _window.Geometry(input, Name);
        var output = LayerBuffers.View(ref _output, ref _outputView, new Shape(g.Batch, g.OutHeight, g.OutWidth, g.Channels));
        LayerBuffers.ForChunks(g.Batch, (long)g.OutputRow * g.PoolHeight * g.PoolWidth,
            (s, e) => PoolKernels.AverageForward(input.Span, output.Span, g, s, e));
        _input = input;
        _geometry = g;
        return output;
    }

    /// <summary>Spreads each output gradient evenly over the valid positions of its window; returns null when <paramref name="computeInputGradient"/> is false.</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="outputGradient"/> is not shaped like the last output.</exception>
    public Tensor? Backward(Tensor outputGradient, bool computeInputGradient = true)
    {
        LayerBuffers.CheckOutputGradient(outputGradient, _input is null ? null : _outputView, Name);
        if (!computeInputGradient) return null;
        var g = _geometry;
        var inputGradient = LayerBuffers.View(ref _inputGradient, ref _inputGradientView, _input!.Shape);
        LayerBuffers.ForChunks(g.Batch, (long)g.OutputRow * g.PoolHeight * g.PoolWidth,
            (s, e) => PoolKernels.AverageBackward(outputGradient.Span, inputGradient.Span, g, s, e));
        return inputGradient;
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
        if (!Enum.IsDefined(padding))
            throw new ArgumentOutOfRangeException(nameof(padding), padding, "Unknown padding.");
        return new PoolWindow(poolHeight, poolWidth, strideHeight, strideWidth, padding);
    }

    /// <summary>Output length and leading padding along one axis, per Keras/TensorFlow; -1 when a Valid window does not fit.</summary>
    private (int Out, int PadBefore) Axis(int input, int pool, int stride)
    {
        if (Padding == Padding.Valid)
            return input < pool ? (-1, 0) : ((input - pool) / stride + 1, 0);
        int output = (input + stride - 1) / stride;
        int total = Math.Max((output - 1) * stride + pool - input, 0);
        return (output, total / 2);
    }

    public Shape GetOutputShape(Shape sample, string paramName, string layerName)
    {
        if (sample.Rank != 3)
            throw new ShapeMismatchException(paramName, "(height, width, channels)", sample.ToString(), $"{layerName} takes one NHWC sample");
        var (oh, _) = Axis(sample[0], PoolHeight, StrideHeight);
        var (ow, _) = Axis(sample[1], PoolWidth, StrideWidth);
        if (oh < 1 || ow < 1)
            throw new ShapeMismatchException(paramName, $"at least ({PoolHeight}, {PoolWidth}, channels) for a Valid {PoolHeight}x{PoolWidth} pool",
                sample.ToString(), $"{layerName}: the input is smaller than the window");
        return new Shape(oh, ow, sample[2]);
    }

    public PoolGeometry Geometry(Tensor input, string layerName)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Shape.Rank != 4)
            throw new ShapeMismatchException(nameof(input), "(batch, height, width, channels)", input.Shape.ToString(), $"{layerName} takes an NHWC batch");
        GetOutputShape(input.Shape.WithoutBatch(), nameof(input), layerName);
        int h = input.Shape[1], w = input.Shape[2];
        var (oh, padTop) = Axis(h, PoolHeight, StrideHeight);
        var (ow, padLeft) = Axis(w, PoolWidth, StrideWidth);
        return new PoolGeometry(input.Shape[0], h, w, input.Shape[3], oh, ow, padTop, padLeft, PoolHeight, PoolWidth, StrideHeight, StrideWidth);
    }
}

/// <summary>The sizes of one pooling call.</summary>
internal readonly record struct PoolGeometry(int Batch, int Height, int Width, int Channels, int OutHeight, int OutWidth,
    int PadTop, int PadLeft, int PoolHeight, int PoolWidth, int StrideHeight, int StrideWidth)
{
    public int InputRow => Height * Width * Channels;
    public int OutputRow => OutHeight * OutWidth * Channels;

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

/// <summary>Pooling loops over samples <c>[n0, n1)</c>, vectorized over channels.</summary>
internal static class PoolKernels
{
    public static void MaxForward(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, in PoolGeometry g, int n0, int n1)
    {
        int channels = g.Channels, vc = Vector<float>.Count;
        var lanes = Vector<int>.Indices;
        for (int n = n0; n < n1; n++)
        for (int oh = 0; oh < g.OutHeight; oh++)
        {
            var (h0, h1) = g.Rows(oh);
            for (int ow = 0; ow < g.OutWidth; ow++)
            {
                var (w0, w1) = g.Columns(ow);
                int o = ((n * g.OutHeight + oh) * g.OutWidth + ow) * channels;
                int first = ((n * g.Height + h0) * g.Width + w0) * channels;
                int c = 0;
                for (; c + vc <= channels; c += vc)
                {
                    var best = new Vector<float>(x.Slice(first + c, vc));
                    var bestAt = new Vector<int>(first + c) + lanes;
                    for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++)
                    {
                        int at = ((n * g.Height + ih) * g.Width + iw) * channels + c;
                        var v = new Vector<float>(x.Slice(at, vc));
                        var greater = Vector.GreaterThan(v, best);
                        best = Vector.ConditionalSelect(greater, v, best);
                        bestAt = Vector.ConditionalSelect(greater, new Vector<int>(at) + lanes, bestAt);
                    }
                    best.CopyTo(y.Slice(o + c, vc));
                    bestAt.CopyTo(argmax.Slice(o + c, vc));
                }
                for (; c < channels; c++)
                {
                    int bestAt = first + c;
                    float best = x[bestAt];
                    for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++)
                    {
                        int at = ((n * g.Height + ih) * g.Width + iw) * channels + c;
                        if (x[at] > best) { best = x[at]; bestAt = at; }
                    }
                    y[o + c] = best;
                    argmax[o + c] = bestAt;
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

    public static void AverageBackward(ReadOnlySpan<float> dy, Span<float> dx, in PoolGeometry g, int n0, int n1)
    {
        int channels = g.Channels;
        dx.Slice(n0 * g.InputRow, (n1 - n0) * g.InputRow).Clear();
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
