using System;
using System.Collections.Generic;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>Keras' <c>ReLU</c> layer: <c>max(x, 0)</c> element-wise; the gradient passes where the output is positive.</summary>
public sealed class ReLU : ILayer
{
    private readonly ActivationBuffers _buffers = new();

    /// <summary>Creates the layer.</summary>
    public ReLU() { }

    /// <inheritdoc/>
    public string Name { get; init; } = "re_lu";

    /// <summary>None.</summary>
    public IReadOnlyList<Parameter> Parameters => [];

    /// <summary>The input shape: the activation is element-wise.</summary>
    public Shape GetOutputShape(Shape inputShape) => inputShape;

    /// <summary>Returns the input shape; there is nothing to initialize.</summary>
    public Shape Build(Shape inputShape, int seed) => inputShape;

    /// <summary>Computes <c>max(x, 0)</c>.</summary>
    /// <exception cref="ShapeMismatchException">The input has no batch dimension.</exception>
    public Tensor Forward(Tensor input, bool training = false)
    {
        var output = _buffers.BeginForward(input, Name, minRank: 1);
        ActivationBuffers.ForRows(input, (s, e) => TensorPrimitives.Max(input.Span[s..e], 0f, output.Span[s..e]));
        return output;
    }

    /// <summary>Returns <c>dy</c> where the output is positive, else 0 (null when <paramref name="computeInputGradient"/> is false).</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="outputGradient"/> is not shaped like the last output.</exception>
    public Tensor? Backward(Tensor outputGradient, bool computeInputGradient = true)
    {
        var (output, inputGradient) = _buffers.BeginBackward(outputGradient, Name, computeInputGradient);
        if (inputGradient is null) return null;
        ActivationBuffers.ForRows(output, (s, e) => Activations.ReluBackward(output.Span[s..e], outputGradient.Span[s..e], inputGradient.Span[s..e]));
        return inputGradient;
    }
}

/// <summary>The logistic sigmoid <c>1 / (1 + exp(-x))</c> element-wise, as Keras' <c>Activation("sigmoid")</c>.</summary>
public sealed class Sigmoid : ILayer
{
    private readonly ActivationBuffers _buffers = new();

    /// <summary>Creates the layer.</summary>
    public Sigmoid() { }

    /// <inheritdoc/>
    public string Name { get; init; } = "sigmoid";

    /// <summary>None.</summary>
    public IReadOnlyList<Parameter> Parameters => [];

    /// <summary>The input shape: the activation is element-wise.</summary>
    public Shape GetOutputShape(Shape inputShape) => inputShape;

    /// <summary>Returns the input shape; there is nothing to initialize.</summary>
    public Shape Build(Shape inputShape, int seed) => inputShape;

    /// <summary>Computes <c>1 / (1 + exp(-x))</c>.</summary>
    /// <exception cref="ShapeMismatchException">The input has no batch dimension.</exception>
    public Tensor Forward(Tensor input, bool training = false)
    {
        var output = _buffers.BeginForward(input, Name, minRank: 1);
        ActivationBuffers.ForRows(input, (s, e) => TensorPrimitives.Sigmoid(input.Span[s..e], output.Span[s..e]));
        return output;
    }

    /// <summary>Returns <c>dy·y·(1 − y)</c> (null when <paramref name="computeInputGradient"/> is false).</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="outputGradient"/> is not shaped like the last output.</exception>
    public Tensor? Backward(Tensor outputGradient, bool computeInputGradient = true)
    {
        var (output, inputGradient) = _buffers.BeginBackward(outputGradient, Name, computeInputGradient);
        if (inputGradient is null) return null;
        ActivationBuffers.ForRows(output, (s, e) => Activations.SigmoidBackward(output.Span[s..e], outputGradient.Span[s..e], inputGradient.Span[s..e]));
        return inputGradient;
    }
}

/// <summary>The hyperbolic tangent element-wise, as Keras' <c>Activation("tanh")</c>.</summary>
public sealed class Tanh : ILayer
{
    private readonly ActivationBuffers _buffers = new();

    /// <summary>Creates the layer.</summary>
    public Tanh() { }

    /// <inheritdoc/>
    public string Name { get; init; } = "tanh";

    /// <summary>None.</summary>
    public IReadOnlyList<Parameter> Parameters => [];

    /// <summary>The input shape: the activation is element-wise.</summary>
    public Shape GetOutputShape(Shape inputShape) => inputShape;

    /// <summary>Returns the input shape; there is nothing to initialize.</summary>
    public Shape Build(Shape inputShape, int seed) => inputShape;

    /// <summary>Computes <c>tanh(x)</c>.</summary>
    /// <exception cref="ShapeMismatchException">The input has no batch dimension.</exception>
    public Tensor Forward(Tensor input, bool training = false)
    {
        var output = _buffers.BeginForward(input, Name, minRank: 1);
        ActivationBuffers.ForRows(input, (s, e) => TensorPrimitives.Tanh(input.Span[s..e], output.Span[s..e]));
        return output;
    }

    /// <summary>Returns <c>dy·(1 − y²)</c> (null when <paramref name="computeInputGradient"/> is false).</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="outputGradient"/> is not shaped like the last output.</exception>
    public Tensor? Backward(Tensor outputGradient, bool computeInputGradient = true)
    {
        var (output, inputGradient) = _buffers.BeginBackward(outputGradient, Name, computeInputGradient);
        if (inputGradient is null) return null;
        ActivationBuffers.ForRows(output, (s, e) => Activations.TanhBackward(output.Span[s..e], outputGradient.Span[s..e], inputGradient.Span[s..e]));
        return inputGradient;
    }
}

/// <summary>
/// Keras' <c>Softmax</c> over the last axis: <c>y = exp(x − max x) / Σ exp(x − max x)</c>, subtracting the row maximum so
/// large logits do not overflow. For training a classifier prefer a linear output with
/// <c>SparseCategoricalCrossentropy(fromLogits: true)</c>, which fuses the two more accurately.
/// </summary>
public sealed class Softmax : ILayer
{
    private readonly ActivationBuffers _buffers = new();

    /// <summary>Creates the layer.</summary>
    public Softmax() { }

    /// <inheritdoc/>
    public string Name { get; init; } = "softmax";

    /// <summary>None.</summary>
    public IReadOnlyList<Parameter> Parameters => [];

    /// <summary>The input shape, which must have at least one dimension (the softmax axis).</summary>
    /// <exception cref="ShapeMismatchException">The sample shape has rank 0.</exception>
    public Shape GetOutputShape(Shape inputShape)
    {
        if (inputShape.Rank < 1)
            throw new ShapeMismatchException(nameof(inputShape), "a shape of rank 1 or more, such as (classes,)", inputShape.ToString(), $"{Name} normalizes the last axis of a sample");
        return inputShape;
    }

    /// <summary>Checks and returns the input shape; there is nothing to initialize.</summary>
    /// <exception cref="ShapeMismatchException">The sample shape has rank 0.</exception>
    public Shape Build(Shape inputShape, int seed) => GetOutputShape(inputShape);

    /// <summary>Normalizes every row of the last axis.</summary>
    /// <exception cref="ShapeMismatchException">The input is not <c>(batch, ..., classes)</c>.</exception>
    public Tensor Forward(Tensor input, bool training = false)
    {
        var output = _buffers.BeginForward(input, Name, minRank: 2);
        int classes = input.Shape[input.Shape.Rank - 1], rows = input.Length / classes;
        LayerBuffers.ForChunks(rows, classes, (r0, r1) =>
        {
            var x = input.Span;
            var y = output.Span;
            for (int r = r0; r < r1; r++) Activations.SoftmaxRow(x.Slice(r * classes, classes), y.Slice(r * classes, classes));
        });
        return output;
    }

    /// <summary>Returns <c>y·(dy − Σ dy·y)</c> per row (null when <paramref name="computeInputGradient"/> is false).</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="outputGradient"/> is not shaped like the last output.</exception>
    public Tensor? Backward(Tensor outputGradient, bool computeInputGradient = true)
    {
        var (output, inputGradient) = _buffers.BeginBackward(outputGradient, Name, computeInputGradient);
        if (inputGradient is null) return null;
        int classes = output.Shape[output.Shape.Rank - 1], rows = output.Length / classes;
        LayerBuffers.ForChunks(rows, classes, (r0, r1) =>
        {
            var y = output.Span;
            var dy = outputGradient.Span;
            var dx = inputGradient.Span;
            for (int r = r0; r < r1; r++)
                Activations.SoftmaxBackwardRow(y.Slice(r * classes, classes), dy.Slice(r * classes, classes), dx.Slice(r * classes, classes));
        });
        return inputGradient;
    }
}

/// <summary>The reused output and input-gradient buffers of a parameterless element-wise layer, and its checks.</summary>
internal sealed class ActivationBuffers
{
    private float[] _output = [];
    private float[] _inputGradient = [];
    private Tensor? _outputView, _inputGradientView;
    private bool _forwardDone;

    /// <summary>Checks the input and returns the output tensor (shaped like the input) to fill.</summary>
    public Tensor BeginForward(Tensor input, string layerName, int minRank)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Shape.Rank < minRank)
            throw new ShapeMismatchException(nameof(input), minRank == 1 ? "(batch, ...)" : "(batch, ..., classes)", input.Shape.ToString(), $"{layerName} takes a batch");
        var output = LayerBuffers.View(ref _output, ref _outputView, input.Shape);
        _forwardDone = true;
        return output;
    }

    /// <summary>Checks the gradient against the last output and returns that output and the input-gradient tensor to fill (null when not wanted).</summary>
    public (Tensor Output, Tensor? InputGradient) BeginBackward(Tensor outputGradient, string layerName, bool computeInputGradient)
    {
        LayerBuffers.CheckOutputGradient(outputGradient, _forwardDone ? _outputView : null, layerName);
        var output = _outputView!;
        return (output, computeInputGradient ? LayerBuffers.View(ref _inputGradient, ref _inputGradientView, output.Shape) : null);
    }

    /// <summary>Runs an element-wise <paramref name="body"/> over element ranges <c>[start, end)</c> aligned to whole samples.</summary>
    public static void ForRows(Tensor tensor, Action<int, int> body)
    {
        int batch = tensor.Shape[0], row = tensor.Length / batch;
        LayerBuffers.ForChunks(batch, row, (s, e) => body(s * row, e * row));
    }
}
