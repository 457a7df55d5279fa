using System;
using ConvGen.Internal;

namespace ConvGen;

/// <summary>
/// Keras' <c>MaxPooling1D</c> over samples of shape <c>(steps, channels)</c>: the maximum of each <c>poolSize</c>-step window
/// per channel. It is <see cref="MaxPool2D"/>'s arithmetic on a <c>1 × steps</c> image (the same loops): padded positions
/// (<see cref="Padding.Same"/>) are ignored, and the backward pass routes each output gradient to the first step of its window
/// that holds the maximum.
/// </summary>
public sealed class MaxPool1D : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        var padding = Geometry.Padding(onnx.InputShape()[0], PoolSize, Strides, 1, Padding == Padding.Same);
        onnx.Node("MaxPool", [onnx.Input()], onnx.Output, Onnx.OnnxExport.Ints("kernel_shape", PoolSize), Onnx.OnnxExport.Ints("strides", Strides),
            Onnx.OnnxExport.Ints("pads", Onnx.OnnxExport.Pads(padding)));
    }

    private readonly PoolWindow _window;
    private PoolGeometry _geometry;

    /// <summary>A <paramref name="poolSize"/>-step window moved by <paramref name="strides"/> steps (default: the pool size).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size or stride is less than 1, or <paramref name="padding"/> is not defined.</exception>
    public MaxPool1D(int poolSize = 2, int? strides = null, Padding padding = Padding.Valid)
        => _window = Pool1D.Window(poolSize, strides, padding);

    /// <inheritdoc/>
    protected override string BaseName => "max_pooling1d";

    /// <inheritdoc/>
    public override string TypeName => "MaxPool1D";

    /// <summary>Window length, in steps.</summary>
    public int PoolSize => _window.PoolWidth;

    /// <summary>Stride, in steps.</summary>
    public int Strides => _window.StrideWidth;

    /// <summary>Border handling.</summary>
    public Padding Padding => _window.Padding;

    /// <inheritdoc/>
    protected internal override bool FoldsInputRelu => true;

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        (var output, _geometry) = Pool1D.Plan(build, _window);
        return output;
    }

    /// <inheritdoc/>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        PoolKernels.MaxForward(c.Input(), c.Output, _geometry, s, e);
    }

    /// <inheritdoc/>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        PoolKernels.MaxBackward(c.Input(), c.Output, c.OutputGradient, c.InputGradient(), _geometry, s, e, c.AccumulatesInputGradient(), c.FoldsInputRelu());
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: MaxPool1D({PoolSize}, strides {Strides}, {Padding})";
}

/// <summary>
/// Keras' <c>AveragePooling1D</c> over samples of shape <c>(steps, channels)</c>: the mean of each <c>poolSize</c>-step window
/// per channel, with <see cref="AveragePool2D"/>'s loops on a <c>1 × steps</c> image. With <see cref="Padding.Same"/>, like
/// Keras/TensorFlow, a border window is divided by its number of real (non-padded) steps.
/// </summary>
public sealed class AveragePool1D : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <inheritdoc/>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        var padding = Geometry.Padding(onnx.InputShape()[0], PoolSize, Strides, 1, Padding == Padding.Same);
        onnx.Node("AveragePool", [onnx.Input()], onnx.Output, Onnx.OnnxExport.Ints("kernel_shape", PoolSize), Onnx.OnnxExport.Ints("strides", Strides),
            Onnx.OnnxExport.Ints("pads", Onnx.OnnxExport.Pads(padding)), Onnx.OnnxExport.Int("count_include_pad", 0));
    }

    private readonly PoolWindow _window;
    private PoolGeometry _geometry;

    /// <summary>A <paramref name="poolSize"/>-step window moved by <paramref name="strides"/> steps (default: the pool size).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size or stride is less than 1, or <paramref name="padding"/> is not defined.</exception>
    public AveragePool1D(int poolSize = 2, int? strides = null, Padding padding = Padding.Valid)
        => _window = Pool1D.Window(poolSize, strides, padding);

    /// <inheritdoc/>
    protected override string BaseName => "average_pooling1d";

    /// <summary>Window length, in steps.</summary>
    public int PoolSize => _window.PoolWidth;

    /// <summary>Stride, in steps.</summary>
    public int Strides => _window.StrideWidth;

    /// <summary>Border handling.</summary>
    public Padding Padding => _window.Padding;

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        (var output, _geometry) = Pool1D.Plan(build, _window);
        return output;
    }

    /// <inheritdoc/>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        PoolKernels.AverageForward(c.Input(), c.Output, _geometry, s, e);
    }

    /// <summary>Spreads each output gradient evenly over the real steps of its window.</summary>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        PoolKernels.AverageBackward(c.OutputGradient, c.InputGradient(), _geometry, s, e, c.AccumulatesInputGradient());
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: AveragePool1D({PoolSize}, strides {Strides}, {Padding})";
}

/// <summary>
/// Keras' <c>GlobalAveragePooling1D</c>: <c>(steps, channels)</c> to <c>(channels)</c>, each channel's mean over every step;
/// the gradient is shared equally among the steps. An <see cref="AveragePool1D"/> whose window is the whole input.
/// </summary>
public sealed class GlobalAveragePooling1D : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <summary><c>GlobalAveragePool</c>, then <c>Flatten</c>: ONNX keeps the pooled axes as ones, ConvGen's output is <c>(channels)</c>.</summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        string pooled = onnx.Temporary("pooled");
        onnx.Node("GlobalAveragePool", [onnx.Input()], pooled);
        onnx.Node("Flatten", [pooled], onnx.Output, Onnx.OnnxExport.Int("axis", 1));
    }

    private PoolGeometry _geometry;

    /// <inheritdoc/>
    protected override string BaseName => "global_average_pooling1d";

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        (var output, _geometry) = Pool1D.PlanGlobal(build);
        return output;
    }

    /// <inheritdoc/>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        PoolKernels.AverageForward(c.Input(), c.Output, _geometry, s, e);
    }

    /// <inheritdoc/>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        PoolKernels.AverageBackward(c.OutputGradient, c.InputGradient(), _geometry, s, e, c.AccumulatesInputGradient());
    }
}

/// <summary>
/// Keras' <c>GlobalMaxPooling1D</c>: <c>(steps, channels)</c> to <c>(channels)</c>, each channel's largest value; the gradient
/// goes to the first step holding it. A <see cref="MaxPool1D"/> whose window is the whole input.
/// </summary>
public sealed class GlobalMaxPooling1D : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <summary><c>GlobalMaxPool</c>, then <c>Flatten</c>: ONNX keeps the pooled axes as ones, ConvGen's output is <c>(channels)</c>.</summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        string pooled = onnx.Temporary("pooled");
        onnx.Node("GlobalMaxPool", [onnx.Input()], pooled);
        onnx.Node("Flatten", [pooled], onnx.Output, Onnx.OnnxExport.Int("axis", 1));
    }

    private PoolGeometry _geometry;

    /// <inheritdoc/>
    protected override string BaseName => "global_max_pooling1d";

    /// <inheritdoc/>
    protected internal override bool FoldsInputRelu => true;

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        (var output, _geometry) = Pool1D.PlanGlobal(build);
        return output;
    }

    /// <inheritdoc/>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        PoolKernels.MaxForward(c.Input(), c.Output, _geometry, s, e);
    }

    /// <inheritdoc/>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        PoolKernels.MaxBackward(c.Input(), c.Output, c.OutputGradient, c.InputGradient(), _geometry, s, e, c.AccumulatesInputGradient(), c.FoldsInputRelu());
    }
}

/// <summary>
/// The 1-D pools as the 2-D pools' geometry and loops (<see cref="PoolGeometry"/>, <see cref="PoolKernels"/>) on a
/// <c>1 × steps × channels</c> image: a <c>1 × poolSize</c> window, whose output <c>1 × outSteps × channels</c> is
/// <c>(outSteps, channels)</c> in memory.
/// </summary>
internal static class Pool1D
{
    public static PoolWindow Window(int poolSize, int? strides, Padding padding)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(poolSize, 1);
        if (strides is int s) ArgumentOutOfRangeException.ThrowIfLessThan(s, 1, nameof(strides));
        return PoolWindow.Create(1, poolSize, 1, strides ?? poolSize, padding);
    }

    /// <summary>The output shape <c>(outSteps, channels)</c> of one sample and the window's geometry over it.</summary>
    public static (Shape Output, PoolGeometry Geometry) Plan(LayerBuild build, PoolWindow window)
    {
        var (steps, channels) = Steps(build, $"{build.LayerName} takes one sample (steps, channels)");
        bool same = window.Padding == Padding.Same;
        int outSteps = Geometry.OutputSize(steps, window.PoolWidth, window.StrideWidth, 1, same);
        if (outSteps < 1)
            throw build.Mismatch(0, $"at least ({window.PoolWidth}, channels) for a Valid pool of {window.PoolWidth}", $"{build.LayerName}: the input is shorter than the window");
        int padLeft = Geometry.Padding(steps, window.PoolWidth, window.StrideWidth, 1, same).Before;
        return (new Shape(outSteps, channels),
            new PoolGeometry(1, steps, channels, 1, outSteps, 0, padLeft, 1, window.PoolWidth, 1, window.StrideWidth));
    }

    /// <summary>The output shape <c>(channels)</c> of a global pool and the geometry of one window over all the steps.</summary>
    public static (Shape Output, PoolGeometry Geometry) PlanGlobal(LayerBuild build)
    {
        var (steps, channels) = Steps(build, "a 1-D global pooling takes the output of a Conv1D or 1-D pooling layer");
        return (new Shape(channels), new PoolGeometry(1, steps, channels, 1, 1, 0, 0, 1, steps, 1, steps));
    }

    private static (int Steps, int Channels) Steps(LayerBuild build, string hint)
    {
        var input = build.InputShape;
        if (input.Rank != 2) throw build.Mismatch(0, "(steps, channels)", hint);
        return (input[0], input[1]);
    }
}
