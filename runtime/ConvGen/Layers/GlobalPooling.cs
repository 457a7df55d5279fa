using System;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>
/// Keras' <c>GlobalAveragePooling2D</c>: <c>(height, width, channels)</c> to <c>(channels)</c>, each channel's mean over every
/// position; the gradient is shared equally among the positions.
/// </summary>
public sealed class GlobalAveragePooling2D : GlobalPooling2D
{
    /// <summary><c>GlobalAveragePool</c>, then <c>Flatten</c>: ONNX keeps the pooled axes as ones, ConvGen's output is <c>(channels)</c>.</summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        string pooled = onnx.Temporary("pooled");
        onnx.Node("GlobalAveragePool", [onnx.Input()], pooled);
        onnx.Node("Flatten", [pooled], onnx.Output, Onnx.OnnxExport.Int("axis", 1));
    }

    /// <inheritdoc/>
    protected override string BaseName => "global_average_pooling2d";

    /// <inheritdoc/>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        int p = _positions, ch = _channels;
        var x = c.Input();
        var y = c.Output;
        float scale = 1f / p;
        for (int n = s; n < e; n++)
        {
            var row = y.Slice(n * ch, ch);
            x.Slice(n * p * ch, ch).CopyTo(row);
            for (int i = 1; i < p; i++) TensorPrimitives.Add(row, x.Slice((n * p + i) * ch, ch), row);
            TensorPrimitives.Multiply(row, scale, row);
        }
    }

    /// <inheritdoc/>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        int p = _positions, ch = _channels;
        var dy = c.OutputGradient;
        var dx = c.InputGradient();
        bool accumulate = c.AccumulatesInputGradient();
        Span<float> share = ch <= 1024 ? stackalloc float[ch] : new float[ch];
        for (int n = s; n < e; n++)
        {
            TensorPrimitives.Multiply(dy.Slice(n * ch, ch), 1f / p, share);
            for (int i = 0; i < p; i++)
            {
                var target = dx.Slice((n * p + i) * ch, ch);
                if (accumulate) TensorPrimitives.Add(target, share, target);
                else share.CopyTo(target);
            }
        }
    }
}

/// <summary>
/// Keras' <c>GlobalMaxPooling2D</c>: <c>(height, width, channels)</c> to <c>(channels)</c>, each channel's largest value; the
/// gradient goes to the first position holding it.
/// </summary>
public sealed class GlobalMaxPooling2D : GlobalPooling2D
{
    /// <summary><c>GlobalMaxPool</c>, then <c>Flatten</c>: ONNX keeps the pooled axes as ones, ConvGen's output is <c>(channels)</c>.</summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        string pooled = onnx.Temporary("pooled");
        onnx.Node("GlobalMaxPool", [onnx.Input()], pooled);
        onnx.Node("Flatten", [pooled], onnx.Output, Onnx.OnnxExport.Int("axis", 1));
    }

    /// <inheritdoc/>
    protected override string BaseName => "global_max_pooling2d";

    /// <inheritdoc/>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        int p = _positions, ch = _channels;
        var x = c.Input();
        var y = c.Output;
        for (int n = s; n < e; n++)
        {
            var row = y.Slice(n * ch, ch);
            x.Slice(n * p * ch, ch).CopyTo(row);
            for (int i = 1; i < p; i++) TensorPrimitives.Max(row, x.Slice((n * p + i) * ch, ch), row);
        }
    }

    /// <inheritdoc/>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        int p = _positions, ch = _channels;
        var x = c.Input();
        var y = c.Output;
        var dy = c.OutputGradient;
        var dx = c.InputGradient();
        bool accumulate = c.AccumulatesInputGradient();
        for (int n = s; n < e; n++)
        {
            if (!accumulate) dx.Slice(n * p * ch, p * ch).Clear();
            for (int k = 0; k < ch; k++)
            {
                float max = y[n * ch + k];
                for (int i = 0; i < p; i++)
                {
                    if (x[(n * p + i) * ch + k] == max)
                    {
                        dx[(n * p + i) * ch + k] += dy[n * ch + k];
                        break;
                    }
                }
            }
        }
    }
}

/// <summary>The shape rule both global poolings share: <c>(height, width, channels)</c> to <c>(channels)</c>.</summary>
public abstract class GlobalPooling2D : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    private protected int _positions, _channels;

    /// <inheritdoc/>
    protected internal sealed override Shape Build(LayerBuild build)
    {
        var shape = build.InputShape;
        if (shape.Rank != 3) throw build.Mismatch(0, "(height, width, channels)", "a global pooling takes the output of a convolution or pooling layer");
        (_positions, _channels) = (shape[0] * shape[1], shape[2]);
        return new Shape(_channels);
    }
}
