using System;

namespace ConvGen.Testing;

/// <summary>
/// One layer run on its own through the model core: a <see cref="Sequential"/> of just that layer, built for one sample
/// shape. Layers hold no buffers of their own, so this is how a test calls one layer's forward and backward passes.
/// </summary>
public sealed class LayerHarness
{
    private Shape _lastInput;

    /// <summary>
    /// Builds a model of <paramref name="layer"/> (followed by <paramref name="then"/>, for a layer that cannot end a model) for
    /// samples of <paramref name="sample"/>, initialized from <paramref name="seed"/>.
    /// </summary>
    public LayerHarness(Layer layer, Shape sample, int seed = 0, Layer? then = null)
    {
        Layer = layer;
        Model = (then is null ? new Sequential(layer) : new Sequential(layer, then)).Build(sample, seed);
    }

    public Layer Layer { get; }

    public Sequential Model { get; }

    /// <summary>The layer's output for a batch, copied out of the model's buffer.</summary>
    public Tensor Forward(Tensor input, bool training = false)
    {
        _lastInput = input.Shape;
        var output = Model.Forward(input, training);
        return new Tensor(output.Shape, output.ToArray());
    }

    /// <summary>Back-propagates through the last <see cref="Forward"/>: adds into the parameters' gradients and returns the input gradient.</summary>
    public Tensor Backward(Tensor outputGradient)
    {
        var inputGradient = new Tensor(_lastInput);
        Model.Backward(outputGradient, inputGradient);
        return inputGradient;
    }
}
