using System;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace ConvGen.Onnx.Tests;

/// <summary>Runs exported models in ONNX Runtime (CPU, all graph optimizations) and compares them with ConvGen.</summary>
internal static class OnnxRuntime
{
    /// <summary>
    /// The model's ONNX Runtime output on channels-last <paramref name="images"/>, as a channels-last tensor; all graph
    /// optimizations on (ONNX Runtime's default), or none.
    /// </summary>
    public static float[] Run(byte[] onnx, Tensor images, bool channelsLast, bool optimize = true)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = optimize ? GraphOptimizationLevel.ORT_ENABLE_ALL : GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(onnx, options);
        var shape = images.Shape;
        int n = shape[0], c = shape[shape.Rank - 1], positions = shape.Size / (n * c);
        float[] data = images.ToArray();
        long[] dims;
        if (channelsLast || shape.Rank == 2)
        {
            dims = [.. shape.Dimensions.ToArray().Select(d => (long)d)];
        }
        else
        {
            data = Permute(data, n, positions, c);
            dims = [n, c, .. shape.Dimensions[1..^1].ToArray().Select(d => (long)d)];
        }
        using var input = OrtValue.CreateTensorValueFromMemory(data, dims);
        using var outputs = session.Run(new RunOptions(), [session.InputMetadata.Keys.Single()], [input], [session.OutputMetadata.Keys.Single()]);
        var result = outputs[0];
        var outShape = result.GetTensorTypeAndShape().Shape;
        var values = result.GetTensorDataAsSpan<float>().ToArray();
        if (channelsLast || outShape.Length <= 2) return values;
        int oc = (int)outShape[1], opositions = values.Length / (n * oc);
        return Permute(values, n, oc, opositions); // (N, C, positions) to (N, positions, C)
    }

    /// <summary><c>[n, a, b]</c> to <c>[n, b, a]</c>.</summary>
    private static float[] Permute(float[] x, int n, int a, int b)
    {
        var y = new float[x.Length];
        for (int s = 0; s < n; s++)
            for (int i = 0; i < a; i++)
                for (int j = 0; j < b; j++)
                    y[(s * b + j) * a + i] = x[(s * a + i) * b + j];
        return y;
    }

    /// <summary>Exports <paramref name="model"/> and checks that ONNX Runtime's outputs equal <c>Predict</c>'s to 1e-4 of the largest.</summary>
    public static void AssertSame(Model model, OnnxExportOptions options, Tensor images, string what, bool optimize = true)
    {
        var expected = model.Predict(images).ToArray();
        var actual = Run(model.ExportOnnx(options), images, options.ChannelsLast, optimize);
        Assert.True(expected.Length == actual.Length, $"{what}: ONNX Runtime gave {actual.Length} values, Predict {expected.Length}");
        double scale = Math.Max(expected.Max(v => Math.Abs(v)), 1e-6), worst = 0;
        int at = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs(expected[i] - actual[i]);
            if (!(d <= worst)) (worst, at) = (d, i);
        }
        Assert.True(worst <= 1e-4 * scale, $"{what}: value {at} is {actual[at]:R} in ONNX Runtime, {expected[at]:R} in Predict (largest |output| {scale:G4})");
    }
}
