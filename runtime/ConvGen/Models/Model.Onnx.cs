using System;
using System.IO;

namespace ConvGen;

public abstract partial class Model
{
    /// <summary>
    /// Writes this model, with its current weights and moving statistics, as an ONNX model to <paramref name="path"/>
    /// (atomically: the old file stays whole until the new one is). The graph takes a channels-first batch
    /// (<c>[N, C, H, W]</c>, <c>[N, C, steps]</c> or <c>[N, features]</c>; the batch axis is dynamic) and computes what
    /// <see cref="Predict(Tensor, int)"/> does; <see cref="OnnxExportOptions.ChannelsLast"/> keeps ConvGen's layout instead
    /// (docs/onnx.md).
    /// </summary>
    /// <exception cref="NotSupportedException">A layer has no ONNX form (one of your own); the message names it.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options' opset is not between 13 and 21.</exception>
    /// <exception cref="ArgumentException">The options' input or output name is empty, or the same, or a layer's name.</exception>
    /// <exception cref="InvalidOperationException">The model is not built, or another thread is training it.</exception>
    /// <exception cref="IOException">Writing failed; the previous file, if any, is unchanged.</exception>
    public void ExportOnnx(string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = ExportOnnx(options);
        Serialization.AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>This model as the bytes of an ONNX model (see <see cref="ExportOnnx(string, OnnxExportOptions?)"/>).</summary>
    /// <exception cref="NotSupportedException">A layer has no ONNX form (one of your own); the message names it.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options' opset is not between 13 and 21.</exception>
    /// <exception cref="ArgumentException">The options' input or output name is empty, or the same, or a layer's name.</exception>
    /// <exception cref="InvalidOperationException">The model is not built, or another thread is training it.</exception>
    public byte[] ExportOnnx(OnnxExportOptions? options = null)
    {
        using var scope = _gate.EnterShared(nameof(ExportOnnx));
        if (!IsBuilt) throw NotBuilt();
        return Onnx.OnnxExport.Write(this, options ?? new OnnxExportOptions());
    }
}
