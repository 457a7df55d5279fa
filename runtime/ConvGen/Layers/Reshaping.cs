using System;
using System.Linq;

namespace ConvGen;

/// <summary>
/// Keras' <c>Reshape</c>: each sample takes <see cref="TargetShape"/> (one dimension may be -1, inferred from the size), its
/// values in the same row-major order. No data moves: like <see cref="Flatten"/>, the output is a view of the input's buffer.
/// </summary>
public sealed class Reshape : Layer
{
    /// <summary>Keras' reshape is of channels-last values: the channels move last, the values are reshaped, then the channels move first.</summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        var input = onnx.InputShape();
        var output = onnx.OutputShape;
        string x = onnx.Input();
        if (input.Rank > 1)
        {
            string last = onnx.Temporary("channels_last");
            onnx.Node("Transpose", [x], last, Onnx.OnnxExport.Ints("perm", Onnx.OnnxExport.ToChannelsLast(input.Rank + 1)));
            x = last;
        }
        long[] shape = [-1, .. output.Dimensions.ToArray().Select(d => (long)d)];
        string reshaped = output.Rank > 1 ? onnx.Temporary("reshaped") : onnx.Output;
        onnx.Node("Reshape", [x, onnx.Int64Initializer("shape", shape)], reshaped);
        if (output.Rank > 1) onnx.Node("Transpose", [reshaped], onnx.Output, Onnx.OnnxExport.Ints("perm", Onnx.OnnxExport.ToChannelsFirst(output.Rank + 1)));
    }

    private readonly int[] _target;

    /// <summary>Creates the layer.</summary>
    /// <param name="targetShape">One sample's new shape; every dimension at least 1, except at most one -1.</param>
    /// <exception cref="ArgumentException">No dimension is given, one is 0 or below -1, or -1 appears twice.</exception>
    public Reshape(params int[] targetShape)
    {
        ArgumentNullException.ThrowIfNull(targetShape);
        if (targetShape.Length == 0 || targetShape.Any(d => d == 0 || d < -1) || targetShape.Count(d => d == -1) > 1)
            throw new ArgumentException($"The target shape ({string.Join(", ", targetShape)}) needs dimensions of at least 1, with at most one -1 (inferred).", nameof(targetShape));
        _target = (int[])targetShape.Clone();
    }

    /// <summary>The shape as given (with its -1, if any).</summary>
    public ReadOnlySpan<int> TargetShape => _target;

    /// <inheritdoc/>
    protected override string BaseName => "reshape";

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        int size = build.InputShape.Size;
        long known = _target.Where(d => d > 0).Aggregate(1L, (a, d) => a * d);
        var dims = (int[])_target.Clone();
        int unknown = Array.IndexOf(dims, -1);
        if (unknown >= 0 && known > 0 && size % known == 0) dims[unknown] = (int)(size / known);
        if (dims.Any(d => d < 1) || dims.Aggregate(1L, (a, d) => a * d) != size)
            throw build.Mismatch(0, $"a sample of {known}{(unknown >= 0 ? " times a whole number of" : "")} values for ({string.Join(", ", _target)})",
                $"{build.LayerName} reshapes the values of a sample without changing their number");
        build.OutputIsInputView = true;
        return new Shape(dims);
    }

    /// <summary>Never called: the output is the input's buffer.</summary>
    protected internal override void RunForward(in NodeContext context) { }

    /// <summary>Never called: the input gradient is the output gradient's buffer.</summary>
    protected internal override void RunBackward(in NodeContext context) { }
}

/// <summary>
/// Keras' <c>ZeroPadding2D</c>: rows of zeros above and below, and columns left and right, of every <c>(height, width,
/// channels)</c> sample; its gradient is the output gradient without them.
/// </summary>
public sealed class ZeroPadding2D : Layer
{
    /// <summary>
    /// <c>Pad</c> with zeros. From opset 18 it names the padded axes (the fourth input), which also keeps ONNX Runtime's
    /// PadFusion from folding it into a following <c>MaxPool</c>'s padding (-inf, not 0: a defect, docs/onnx.md).
    /// </summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        if (onnx.Opset >= 18)
            onnx.Node("Pad", [onnx.Input(), onnx.Int64Initializer("pads", [Top, Left, Bottom, Right]), "", onnx.Int64Initializer("axes", [2, 3])], onnx.Output);
        else
            onnx.Node("Pad", [onnx.Input(), onnx.Int64Initializer("pads", [0, 0, Top, Left, 0, 0, Bottom, Right])], onnx.Output);
    }

    private int _h, _w, _c;

    /// <summary>The same padding on all four sides (Keras' default 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A padding is negative.</exception>
    public ZeroPadding2D(int padding = 1) : this(padding, padding, padding, padding) { }

    /// <summary><paramref name="height"/> rows above and below, <paramref name="width"/> columns left and right.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A padding is negative.</exception>
    public ZeroPadding2D(int height, int width) : this(height, height, width, width) { }

    /// <summary>Each side's padding.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A padding is negative.</exception>
    public ZeroPadding2D(int top, int bottom, int left, int right)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        ArgumentOutOfRangeException.ThrowIfNegative(bottom);
        ArgumentOutOfRangeException.ThrowIfNegative(left);
        ArgumentOutOfRangeException.ThrowIfNegative(right);
        (Top, Bottom, Left, Right) = (top, bottom, left, right);
    }

    /// <summary>Rows above.</summary>
    public int Top { get; }

    /// <summary>Rows below.</summary>
    public int Bottom { get; }

    /// <summary>Columns on the left.</summary>
    public int Left { get; }

    /// <summary>Columns on the right.</summary>
    public int Right { get; }

    /// <inheritdoc/>
    protected override string BaseName => "zero_padding2d";

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        var shape = build.InputShape;
        if (shape.Rank != 3) throw build.Mismatch(0, "(height, width, channels)", "ZeroPadding2D pads images");
        (_h, _w, _c) = (shape[0], shape[1], shape[2]);
        return new Shape(_h + Top + Bottom, _w + Left + Right, _c);
    }

    /// <inheritdoc/>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        int outW = _w + Left + Right, inRow = _w * _c, outSize = (_h + Top + Bottom) * outW * _c;
        var x = c.Input();
        var y = c.Output;
        for (int n = s; n < e; n++)
        {
            var sample = y.Slice(n * outSize, outSize);
            sample.Clear();
            for (int r = 0; r < _h; r++)
                x.Slice((n * _h + r) * inRow, inRow).CopyTo(sample.Slice(((r + Top) * outW + Left) * _c, inRow));
        }
    }

    /// <inheritdoc/>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        int outW = _w + Left + Right, inRow = _w * _c, outSize = (_h + Top + Bottom) * outW * _c;
        var dy = c.OutputGradient;
        var dx = c.InputGradient();
        bool accumulate = c.AccumulatesInputGradient();
        for (int n = s; n < e; n++)
        {
            for (int r = 0; r < _h; r++)
            {
                var from = dy.Slice(n * outSize + ((r + Top) * outW + Left) * _c, inRow);
                var to = dx.Slice((n * _h + r) * inRow, inRow);
                if (accumulate) System.Numerics.Tensors.TensorPrimitives.Add(to, from, to);
                else from.CopyTo(to);
            }
        }
    }
}

/// <summary>
/// Keras' <c>Cropping2D</c>: rows removed above and below, and columns left and right, of every <c>(height, width,
/// channels)</c> sample; its gradient is the output gradient with zeros where the cropped values were.
/// </summary>
public sealed class Cropping2D : Layer
{
    private int _h, _w, _c;

    /// <summary>The same cropping on all four sides.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A cropping is negative.</exception>
    public Cropping2D(int cropping) : this(cropping, cropping, cropping, cropping) { }

    /// <summary><paramref name="height"/> rows above and below, <paramref name="width"/> columns left and right.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A cropping is negative.</exception>
    public Cropping2D(int height, int width) : this(height, height, width, width) { }

    /// <summary>Each side's cropping.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A cropping is negative.</exception>
    public Cropping2D(int top, int bottom, int left, int right)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        ArgumentOutOfRangeException.ThrowIfNegative(bottom);
        ArgumentOutOfRangeException.ThrowIfNegative(left);
        ArgumentOutOfRangeException.ThrowIfNegative(right);
        (Top, Bottom, Left, Right) = (top, bottom, left, right);
    }

    /// <summary>Rows removed above.</summary>
    public int Top { get; }

    /// <summary>Rows removed below.</summary>
    public int Bottom { get; }

    /// <summary>Columns removed on the left.</summary>
    public int Left { get; }

    /// <summary>Columns removed on the right.</summary>
    public int Right { get; }

    /// <inheritdoc/>
    protected override string BaseName => "cropping2d";

    /// <summary><c>Slice</c> of the height and width.</summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx) =>
        onnx.Node("Slice", [onnx.Input(), onnx.Int64Initializer("starts", [Top, Left]), onnx.Int64Initializer("ends", [_h - Bottom, _w - Right]),
            onnx.Int64Initializer("axes", [2, 3])], onnx.Output);

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        var shape = build.InputShape;
        if (shape.Rank != 3) throw build.Mismatch(0, "(height, width, channels)", "Cropping2D crops images");
        if (shape[0] <= Top + Bottom || shape[1] <= Left + Right)
            throw build.Mismatch(0, $"more than {Top + Bottom} rows and {Left + Right} columns", $"{build.LayerName} removes {Top} + {Bottom} rows and {Left} + {Right} columns");
        (_h, _w, _c) = (shape[0], shape[1], shape[2]);
        return new Shape(_h - Top - Bottom, _w - Left - Right, _c);
    }

    /// <inheritdoc/>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        int outH = _h - Top - Bottom, outRow = (_w - Left - Right) * _c, inSize = _h * _w * _c;
        var x = c.Input();
        var y = c.Output;
        for (int n = s; n < e; n++)
            for (int r = 0; r < outH; r++)
                x.Slice(n * inSize + ((r + Top) * _w + Left) * _c, outRow).CopyTo(y.Slice((n * outH + r) * outRow, outRow));
    }

    /// <inheritdoc/>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        int outH = _h - Top - Bottom, outRow = (_w - Left - Right) * _c, inSize = _h * _w * _c;
        var dy = c.OutputGradient;
        var dx = c.InputGradient();
        bool accumulate = c.AccumulatesInputGradient();
        for (int n = s; n < e; n++)
        {
            if (!accumulate) dx.Slice(n * inSize, inSize).Clear();
            for (int r = 0; r < outH; r++)
            {
                var from = dy.Slice((n * outH + r) * outRow, outRow);
                var to = dx.Slice(n * inSize + ((r + Top) * _w + Left) * _c, outRow);
                if (accumulate) System.Numerics.Tensors.TensorPrimitives.Add(to, from, to);
                else from.CopyTo(to);
            }
        }
    }
}
