using System;
using System.Collections.Generic;

namespace ConvGen;

/// <summary>
/// A model built from layers given at run time, like Keras' <c>Sequential</c>: each layer reads the previous layer's output,
/// unless its <see cref="Layer.Input"/> names an earlier one, and merge layers (<see cref="ConvGen.Add"/>,
/// <see cref="Concatenate"/>) read several, so residual and branching networks are written as one list.
/// <see cref="Build"/> infers every shape and plans the model (see <see cref="Model"/>).
/// </summary>
/// <example>
/// <code>
/// var model = new Sequential(
///     new Stem { Name = "stem" },            // a [Conv2D] class
///     new Block1(), new Block2(),
///     new Add("stem") { Activation = Activation.ReLU },
///     new MaxPool2D(2), new Flatten(), new Dense(10))
///     .Build(new Shape(28, 28, 1), seed: 0);
/// </code>
/// </example>
public sealed class Sequential : Model
{
    private readonly List<Layer> _layers = [];

    /// <summary>Creates a model of <paramref name="layers"/>, in order; call <see cref="Build"/> before using it.</summary>
    /// <exception cref="ArgumentException">A layer is null.</exception>
    public Sequential(params Layer[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        for (int i = 0; i < layers.Length; i++)
        {
            if (layers[i] is null) throw new ArgumentException($"Layer {i} of {layers.Length} is null.", nameof(layers));
            _layers.Add(layers[i]);
        }
    }

    /// <summary>The layers, in order.</summary>
    public override IReadOnlyList<Layer> Layers => _layers;

    /// <summary>Appends a layer; the model must be built again.</summary>
    /// <exception cref="InvalidOperationException">Another thread is using the model.</exception>
    public Sequential Add(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        using var scope = EnterExclusive(nameof(Add));
        _layers.Add(layer);
        MarkNotBuilt();
        return this;
    }

    /// <inheritdoc/>
    public override Sequential Compile(IOptimizer optimizer, ILoss loss) => (Sequential)base.Compile(optimizer, loss);

    /// <summary>
    /// Infers every layer's shapes for samples of <paramref name="inputShape"/> (no batch dimension), plans the model and
    /// initializes every layer from <paramref name="seed"/>. The buffers grow to the largest batch the model runs.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A layer cannot take its input; the message names the layer, its input and both shapes.</exception>
    /// <exception cref="ArgumentException">Layer names repeat, an input names no earlier layer, a layer's output is never used, or a layer appears twice.</exception>
    /// <exception cref="InvalidOperationException">The model has no layers, or another thread is using it.</exception>
    public Sequential Build(Shape inputShape, int seed = 0)
    {
        using var scope = EnterExclusive(nameof(Build));
        Plan(inputShape, _layers, seed, capacity: 0, fixedCapacity: false);
        return this;
    }
}
