using System.Collections.Generic;

namespace ConvGen;

/// <summary>
/// A layer: a function of a batch with trainable parameters. Shapes passed to <see cref="Build"/> exclude the
/// batch dimension; tensors passed to <see cref="Forward"/> and <see cref="Backward"/> include it.
/// </summary>
/// <remarks>
/// The tensor returned by <see cref="Forward"/> or <see cref="Backward"/> is owned by the layer and reused by its
/// next call of the same method: copy it if you need to keep it. A layer instance is not safe for concurrent calls.
/// </remarks>
public interface ILayer
{
    /// <summary>A display name, e.g. the generated class name.</summary>
    string Name { get; }

    /// <summary>Checks <paramref name="inputShape"/> (one sample, no batch), (re)initializes the parameters from <paramref name="seed"/>, and returns the output shape of one sample.</summary>
    /// <exception cref="ShapeMismatchException">The layer cannot take this input shape.</exception>
    Shape Build(Shape inputShape, int seed);

    /// <summary>The output shape of one sample for <paramref name="inputShape"/>, without changing the layer.</summary>
    /// <exception cref="ShapeMismatchException">The layer cannot take this input shape.</exception>
    Shape GetOutputShape(Shape inputShape);

    /// <summary>Computes the layer's output for a batch. <paramref name="training"/> enables training-only behaviour (e.g. dropout) and keeps what <see cref="Backward"/> needs.</summary>
    Tensor Forward(Tensor input, bool training = false);

    /// <summary>
    /// Back-propagates <paramref name="outputGradient"/> (shaped like the last forward output): <b>adds</b> the parameter gradients
    /// into <see cref="Parameter.Gradient"/> and returns the gradient with respect to the last forward input, or
    /// <c>null</c> when <paramref name="computeInputGradient"/> is false (e.g. for the first layer of a model).
    /// </summary>
    Tensor? Backward(Tensor outputGradient, bool computeInputGradient = true);

    /// <summary>The trainable parameters, in a fixed order (kernel before bias).</summary>
    IReadOnlyList<Parameter> Parameters { get; }
}
