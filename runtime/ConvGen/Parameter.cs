namespace ConvGen;

/// <summary>A trainable tensor and the gradient accumulated for it; optimizers update <see cref="Value"/> from <see cref="Gradient"/>.</summary>
public sealed class Parameter
{
    /// <summary>Creates a parameter with a zero value and a zero gradient of <paramref name="shape"/>.</summary>
    /// <exception cref="System.ArgumentException"><paramref name="name"/> is null or empty.</exception>
    public Parameter(string name, Shape shape)
    {
        System.ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Value = new Tensor(shape);
        Gradient = new Tensor(shape);
    }

    /// <summary>A parameter over existing storage, e.g. a view into a compiled network's parameter buffer.</summary>
    internal Parameter(string name, Tensor value, Tensor gradient)
    {
        Name = name;
        Value = value;
        Gradient = gradient;
    }

    /// <summary>A name unique within its layer, such as <c>kernel</c> or <c>bias</c>.</summary>
    public string Name { get; }

    /// <summary>The current value.</summary>
    public Tensor Value { get; }

    /// <summary>The gradient, accumulated by backward passes; zero it with <see cref="ZeroGradient"/>.</summary>
    public Tensor Gradient { get; }

    /// <summary>Sets the gradient to zero.</summary>
    public void ZeroGradient() => Gradient.Span.Clear();

    /// <summary>
    /// Where the variables a model packs into this one parameter start and end (the model core hands its optimizer all its weights
    /// as one parameter): <c>[Variables[i], Variables[i + 1])</c> is variable <c>i</c>. Null: the parameter is one variable. Per-variable
    /// rules (Keras' <c>clipnorm</c>, <see cref="Optimizer.ClipNorm"/>) read it.
    /// </summary>
    internal int[]? Variables { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}{Value.Shape}";
}
