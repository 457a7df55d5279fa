namespace ConvGen;

/// <summary>
/// Keras' <c>Flatten</c>: each sample <c>(H, W, C)</c> (or any shape) becomes a vector <c>(H·W·C,)</c> in row-major (NHWC) order.
/// No data moves: the model gives the output the input's buffer, and the input gradient the output gradient's.
/// </summary>
public sealed class Flatten : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <summary>
    /// ONNX's <c>Flatten</c> takes channels-first order: read only by Dense layers, it is written as is and they permute their
    /// rows; otherwise the channels move last first, so the values keep ConvGen's order.
    /// </summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        var input = onnx.InputShape();
        if (input.Rank <= 1) onnx.Node("Identity", [onnx.Input()], onnx.Output);
        else if (onnx.AllReadersAre<Dense>())
        {
            onnx.Node("Flatten", [onnx.Input()], onnx.Output, Onnx.OnnxExport.Int("axis", 1));
            onnx.MarkFlattenedChannelsFirst(input);
        }
        else
        {
            string last = onnx.Temporary("channels_last");
            onnx.Node("Transpose", [onnx.Input()], last, Onnx.OnnxExport.Ints("perm", Onnx.OnnxExport.ToChannelsLast(input.Rank + 1)));
            onnx.Node("Flatten", [last], onnx.Output, Onnx.OnnxExport.Int("axis", 1));
        }
    }

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
