namespace ConvGen;

/// <summary>
/// Keras' <c>Flatten</c>: each sample <c>(H, W, C)</c> (or any shape) becomes a vector <c>(H·W·C,)</c> in row-major (NHWC) order.
/// No data moves: the model gives the output the input's buffer, and the input gradient the output gradient's.
/// </summary>
public sealed class Flatten : Layer
{
    /// <inheritdoc/>
    protected override string BaseName => "flatten";

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        build.OutputIsInputView = true;
        return new Shape(build.InputShape.Size);
    }

    /// <summary>Never called: the output is the input's buffer.</summary>
    protected internal override void RunForward(in NodeContext context) { }

    /// <summary>Never called: the input gradient is the output gradient's buffer.</summary>
    protected internal override void RunBackward(in NodeContext context) { }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: Flatten()";
}
