using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>Names the inputs of a merge layer: one name means the previous layer and that one; more mean exactly those.</summary>
internal static class MergeInputs
{
    public static string?[] From(string[] names, string layer)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Length == 0)
            throw new ArgumentException($"{layer} needs the name of at least one layer: {layer}(\"a\") merges the previous layer with 'a', {layer}(\"a\", \"b\") merges 'a' and 'b'.", nameof(names));
        foreach (var name in names) ArgumentException.ThrowIfNullOrEmpty(name, nameof(names));
        return names.Length == 1 ? [null, names[0]] : [.. names];
    }
}

/// <summary>
/// Keras' <c>Add</c>: the element-wise sum of several layers' outputs of one shape, then <see cref="Activation"/>. The residual
/// connection of a ResNet is <c>new Add("stem") { Activation = Activation.ReLU }</c> after the block.
/// </summary>
public sealed class Add : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <summary>A chain of binary <c>Add</c>s, then the activation.</summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        string sum = onnx.Input(0);
        string linear = onnx.LinearOutput(Activation);
        for (int i = 1; i < onnx.InputCount; i++)
        {
            string next = i == onnx.InputCount - 1 ? linear : onnx.Temporary("sum");
            onnx.Node("Add", [sum, onnx.Input(i)], next);
            sum = next;
        }
        onnx.Activate(Activation, linear, onnx.Output);
    }

    private readonly string?[] _inputs;

    /// <summary>
    /// Adds the outputs of the named layers; with one name, the previous layer's output and that layer's.
    /// </summary>
    /// <exception cref="ArgumentException">No name, or an empty one.</exception>
    public Add(params string[] inputs) => _inputs = MergeInputs.From(inputs, nameof(Add));

    /// <inheritdoc/>
    protected override string BaseName => "add";

    /// <summary>The activation applied after the sum (default none).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to an undefined value.</exception>
    public Activation Activation
    {
        get => _activation;
        init => _activation = Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(nameof(Activation), value, "Unknown activation.");
    }

    private readonly Activation _activation;

    /// <inheritdoc/>
    public override IReadOnlyList<string?> InputNames => _inputs;

    /// <inheritdoc/>
    protected internal override Activation OutputActivation => _activation;

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        var first = build.InputShape;
        for (int k = 1; k < build.InputShapes.Count; k++)
        {
            if (build.InputShapes[k] != first)
                throw build.Mismatch(k, $"{first}, the shape of its first input", $"{build.LayerName} adds outputs of one shape");
        }
        if (Activations.NeedsPreActivation(_activation)) build.KeepPerSample = first.Size;
        return first;
    }

    /// <inheritdoc/>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        int row = c.OutputShape.Size;
        var y = c.Output.Slice(s * row, (e - s) * row);
        TensorPrimitives.Add(c.Input(0).Slice(s * row, (e - s) * row), c.Input(1).Slice(s * row, (e - s) * row), y);
        for (int k = 2; k < _inputs.Length; k++) TensorPrimitives.Add(y, c.Input(k).Slice(s * row, (e - s) * row), y);
        Activations.ApplyFused(c, _activation, s * row, (e - s) * row);
    }

    /// <summary>Each input's gradient is the output gradient (after the activation's backward).</summary>
    protected internal override void RunBackward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        int row = c.OutputShape.Size;
        var dy = c.OutputGradient.Slice(s * row, (e - s) * row);
        Activations.BackwardFused(c, _activation, s * row, (e - s) * row);
        for (int k = 0; k < _inputs.Length; k++)
        {
            if (c.ComputesInputGradient(k))
                Activations.Route(dy, c.InputGradient(k).Slice(s * row, (e - s) * row), c.AccumulatesInputGradient(k));
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: Add({string.Join(", ", _inputs.Select(n => n ?? "previous"))})";
}

/// <summary>
/// Keras' <c>Concatenate</c> along the last axis (channels, for NHWC images): the outputs of several layers that agree on every
/// other axis, joined in order.
/// </summary>
public sealed class Concatenate : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <summary><c>Concat</c> along the channels, ONNX axis 1.</summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
        => onnx.Node("Concat", [.. Enumerable.Range(0, onnx.InputCount).Select(onnx.Input)], onnx.Output, Onnx.OnnxExport.Int("axis", 1));

    private readonly string?[] _inputs;
    private int[] _widths = [];
    private int _positions, _channels;

    /// <summary>Joins the outputs of the named layers; with one name, the previous layer's output, then that layer's.</summary>
    /// <exception cref="ArgumentException">No name, or an empty one.</exception>
    public Concatenate(params string[] inputs) => _inputs = MergeInputs.From(inputs, nameof(Concatenate));

    /// <inheritdoc/>
    protected override string BaseName => "concatenate";

    /// <inheritdoc/>
    public override IReadOnlyList<string?> InputNames => _inputs;

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        var first = build.InputShape;
        int rank = first.Rank, channels = 0;
        var widths = new int[build.InputShapes.Count];
        for (int k = 0; k < widths.Length; k++)
        {
            var shape = build.InputShapes[k];
            if (shape.Rank != rank || !shape.Dimensions[..^1].SequenceEqual(first.Dimensions[..^1]))
            {
                string axes = rank == 3 ? "height and width" : "every axis but the last";
                string like = "(" + string.Join(", ", first.Dimensions[..^1].ToArray()) + (rank == 1 ? "" : ", ") + "any)";
                throw build.Mismatch(k, rank == 1 ? "a vector like its first input" : like, $"{build.LayerName} joins outputs along the last axis, so they must agree on {axes}");
            }
            widths[k] = shape[rank - 1];
            channels += widths[k];
        }
        _widths = widths;
        _channels = channels;
        _positions = first.Size / first[rank - 1];
        var dims = first.Dimensions.ToArray();
        dims[^1] = channels;
        return new Shape(dims);
    }

    /// <inheritdoc/>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        var y = c.Output;
        int offset = 0;
        for (int k = 0; k < _widths.Length; k++)
        {
            var x = c.Input(k);
            int width = _widths[k];
            for (int p = s * _positions; p < e * _positions; p++)
                x.Slice(p * width, width).CopyTo(y.Slice(p * _channels + offset, width));
            offset += width;
        }
    }

    /// <summary>Each input's gradient is its slice of the output gradient.</summary>
    protected internal override void RunBackward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        var dy = c.OutputGradient;
        int offset = 0;
        for (int k = 0; k < _widths.Length; k++)
        {
            int width = _widths[k];
            if (c.ComputesInputGradient(k))
            {
                var dx = c.InputGradient(k);
                bool accumulate = c.AccumulatesInputGradient(k);
                for (int p = s * _positions; p < e * _positions; p++)
                    Activations.Route(dy.Slice(p * _channels + offset, width), dx.Slice(p * width, width), accumulate);
            }
            offset += width;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: Concatenate({string.Join(", ", _inputs.Select(n => n ?? "previous"))})";
}
