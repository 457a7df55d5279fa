namespace ConvGen;

/// <summary>How <see cref="Model.ExportOnnx(string, OnnxExportOptions?)"/> writes a model (docs/onnx.md).</summary>
public sealed class OnnxExportOptions
{
    /// <summary>The ONNX opset (default 17; 13 to 21). GELU is ONNX's <c>Gelu</c> from opset 20, its formula before.</summary>
    public int Opset { get; init; } = 17;

    /// <summary>
    /// Whether the graph's input and output keep ConvGen's channels-last layout (NHWC, NWC), with a <c>Transpose</c> after the
    /// input and before a non-flat output. By default (false) they are channels first (NCHW, NCW), what ONNX consumers expect.
    /// </summary>
    public bool ChannelsLast { get; init; }

    /// <summary>The name of the graph's input (default <c>input</c>).</summary>
    public string InputName { get; init; } = "input";

    /// <summary>The name of the graph's output (default <c>output</c>).</summary>
    public string OutputName { get; init; } = "output";
}
