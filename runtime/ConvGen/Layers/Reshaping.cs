using System;
using System.Linq;

namespace ConvGen;

/// <summary>
/// Keras' <c>Reshape</c>: each sample takes <see cref="TargetShape"/> (one dimension may be -1, inferred from the size), its
/// values in the same row-major order. No data moves: like <see cref="Flatten"/>, the output is a view of the input's buffer.
/// </summary>
public sealed class Reshape : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

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
/// A margin of rows and columns on each side of every <c>(height, width, channels)</c> sample: added (<see cref="ZeroPadding2D"/>)
/// or removed (<see cref="Cropping2D"/>). Padding's forward pass and cropping's backward pass put a smaller image into a
/// larger one with zeros around it (<see cref="Embed"/>); padding's backward pass and cropping's forward pass take the window
/// back out (<see cref="Extract"/>).
/// </summary>
public abstract class Margins2D : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <summary>The input sample's height, width and channels, known once built.</summary>
    private protected int _h, _w, _c;

    /// <exception cref="ArgumentOutOfRangeException">A margin is negative.</exception>
    private protected Margins2D(int top, int bottom, int left, int right)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        ArgumentOutOfRangeException.ThrowIfNegative(bottom);
        ArgumentOutOfRangeException.ThrowIfNegative(left);
        ArgumentOutOfRangeException.ThrowIfNegative(right);
        (Top, Bottom, Left, Right) = (top, bottom, left, right);
    }

    /// <summary>Rows above (added or removed).</summary>
    public int Top { get; }

    /// <summary>Rows below.</summary>
    public int Bottom { get; }

    /// <summary>Columns on the left.</summary>
    public int Left { get; }

    /// <summary>Columns on the right.</summary>
    public int Right { get; }

    /// <summary>
    /// Samples <c>[n0, n1)</c> of <paramref name="small"/> (<paramref name="smallH"/> x <paramref name="smallW"/>) into
    /// <paramref name="large"/> (<paramref name="largeH"/> x <paramref name="largeW"/>) at row <see cref="Top"/> and column
    /// <see cref="Left"/>: added to it with <paramref name="accumulate"/>, else written with zeros around them.
    /// </summary>
    private protected void Embed(ReadOnlySpan<float> small, Span<float> large, int n0, int n1, int smallH, int smallW, int largeH, int largeW, bool accumulate)
    {
        int smallRow = smallW * _c, smallSize = smallH * smallRow, largeSize = largeH * largeW * _c;
        for (int n = n0; n < n1; n++)
        {
            var sample = large.Slice(n * largeSize, largeSize);
            if (!accumulate) sample.Clear();
            for (int r = 0; r < smallH; r++)
                Move(small.Slice(n * smallSize + r * smallRow, smallRow), sample.Slice(((r + Top) * largeW + Left) * _c, smallRow), accumulate);
        }
    }

    /// <summary>
    /// The window of samples <c>[n0, n1)</c> of <paramref name="large"/> at row <see cref="Top"/> and column <see cref="Left"/>
    /// into <paramref name="small"/>: written, or added to it with <paramref name="accumulate"/>.
    /// </summary>
    private protected void Extract(ReadOnlySpan<float> large, Span<float> small, int n0, int n1, int smallH, int smallW, int largeH, int largeW, bool accumulate)
    {
        int smallRow = smallW * _c, smallSize = smallH * smallRow, largeSize = largeH * largeW * _c;
        for (int n = n0; n < n1; n++)
            for (int r = 0; r < smallH; r++)
                Move(large.Slice(n * largeSize + ((r + Top) * largeW + Left) * _c, smallRow), small.Slice(n * smallSize + r * smallRow, smallRow), accumulate);
    }

    private static void Move(ReadOnlySpan<float> from, Span<float> to, bool accumulate)
    {
        if (accumulate) System.Numerics.Tensors.TensorPrimitives.Add(to, from, to);
        else from.CopyTo(to);
    }
}

/// <summary>
/// Keras' <c>ZeroPadding2D</c>: rows of zeros above and below, and columns left and right, of every <c>(height, width,
/// channels)</c> sample; its gradient is the output gradient without them.
/// </summary>
public sealed class ZeroPadding2D : Margins2D
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


    /// <summary>The same padding on all four sides (Keras' default 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A padding is negative.</exception>
    public ZeroPadding2D(int padding = 1) : this(padding, padding, padding, padding) { }

    /// <summary><paramref name="height"/> rows above and below, <paramref name="width"/> columns left and right.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A padding is negative.</exception>
    public ZeroPadding2D(int height, int width) : this(height, height, width, width) { }

    /// <summary>Each side's padding.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A padding is negative.</exception>
    public ZeroPadding2D(int top, int bottom, int left, int right) : base(top, bottom, left, right) { }

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
        Embed(c.Input(), c.Output, s, e, _h, _w, _h + Top + Bottom, _w + Left + Right, accumulate: false);
    }

    /// <inheritdoc/>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        Extract(c.OutputGradient, c.InputGradient(), s, e, _h, _w, _h + Top + Bottom, _w + Left + Right, c.AccumulatesInputGradient());
    }
}

/// <summary>
/// Keras' <c>Cropping2D</c>: rows removed above and below, and columns left and right, of every <c>(height, width,
/// channels)</c> sample; its gradient is the output gradient with zeros where the cropped values were.
/// </summary>
public sealed class Cropping2D : Margins2D
{
    /// <summary>The same cropping on all four sides.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A cropping is negative.</exception>
    public Cropping2D(int cropping) : this(cropping, cropping, cropping, cropping) { }

    /// <summary><paramref name="height"/> rows above and below, <paramref name="width"/> columns left and right.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A cropping is negative.</exception>
    public Cropping2D(int height, int width) : this(height, height, width, width) { }

    /// <summary>Each side's cropping.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A cropping is negative.</exception>
    public Cropping2D(int top, int bottom, int left, int right) : base(top, bottom, left, right) { }

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
        Extract(c.Input(), c.Output, s, e, _h - Top - Bottom, _w - Left - Right, _h, _w, accumulate: false);
    }

    /// <inheritdoc/>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        Embed(c.OutputGradient, c.InputGradient(), s, e, _h - Top - Bottom, _w - Left - Right, _h, _w, c.AccumulatesInputGradient());
    }
}
