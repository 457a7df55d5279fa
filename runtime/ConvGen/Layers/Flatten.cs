using System;
using System.Collections.Generic;

namespace ConvGen;

/// <summary>
/// Keras' <c>Flatten</c>: each sample <c>(H, W, C)</c> (or any shape) becomes a vector <c>(H·W·C,)</c> in row-major (NHWC) order.
/// No data moves: the output is a reshaped view of the input, and the input gradient a view of the output gradient.
/// </summary>
public sealed class Flatten : ILayer
{
    private Shape _inputShape;
    private Tensor? _lastInput, _lastOutput, _lastOutputGradient, _lastInputGradient;

    /// <summary>Creates the layer.</summary>
    public Flatten() { }

    /// <inheritdoc/>
    public string Name { get; init; } = "flatten";

    /// <summary>None: flattening has no trainable parameters.</summary>
    public IReadOnlyList<Parameter> Parameters => [];

    /// <summary>The vector shape <c>(size,)</c> of one sample.</summary>
    /// <exception cref="ShapeMismatchException">The sample shape has rank 0.</exception>
    public Shape GetOutputShape(Shape inputShape)
    {
        if (inputShape.Rank < 1)
            throw new ShapeMismatchException(nameof(inputShape), "a shape of rank 1 or more, such as (height, width, channels)", inputShape.ToString(), $"{Name} takes one sample");
        return new Shape(inputShape.Size);
    }

    /// <summary>Checks the input shape and returns <c>(size,)</c>; there is nothing to initialize.</summary>
    /// <exception cref="ShapeMismatchException">The sample shape has rank 0.</exception>
    public Shape Build(Shape inputShape, int seed) => GetOutputShape(inputShape);

    /// <summary>Returns the input viewed as <c>(batch, size)</c>: it shares the input's elements.</summary>
    /// <exception cref="ShapeMismatchException">The input has no sample dimensions (rank below 2).</exception>
    public Tensor Forward(Tensor input, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Shape.Rank < 2)
            throw new ShapeMismatchException(nameof(input), "(batch, ...) with rank 2 or more", input.Shape.ToString(), $"{Name} takes a batch");
        if (!ReferenceEquals(input, _lastInput))
        {
            int batch = input.Shape[0];
            _lastOutput = input.Reshape(new Shape(batch, input.Shape.Size / batch));
            _lastInput = input;
        }
        _inputShape = input.Shape;
        return _lastOutput!;
    }

    /// <summary>Returns the output gradient viewed with the last input's shape (null when <paramref name="computeInputGradient"/> is false).</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="outputGradient"/> is not shaped like the last output.</exception>
    public Tensor? Backward(Tensor outputGradient, bool computeInputGradient = true)
    {
        LayerBuffers.CheckOutputGradient(outputGradient, _lastOutput, Name);
        if (!computeInputGradient) return null;
        if (!ReferenceEquals(outputGradient, _lastOutputGradient) || _lastInputGradient!.Shape != _inputShape)
        {
            _lastInputGradient = outputGradient.Reshape(_inputShape);
            _lastOutputGradient = outputGradient;
        }
        return _lastInputGradient;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: Flatten()";
}
