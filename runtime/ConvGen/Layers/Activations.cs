using System;
using System.Numerics;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>Element-wise activation kernels shared by layers.</summary>
internal static class Activations
{
    public static void ReluInPlace(Span<float> values) => TensorPrimitives.Max(values, 0f, values);

    /// <summary><c>dx = dy where y &gt; 0, else 0</c>.</summary>
    public static void ReluBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        for (int i = 0; i < output.Length; i++) dInput[i] = output[i] > 0f ? dOutput[i] : 0f;
    }
    /// <summary><c>dx = dy * y * (1 - y)</c> for <c>y = sigmoid(x)</c>.</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        int vc = Vector<float>.Count, i = 0;
        for (; i + vc <= output.Length; i += vc)
        {
            var y = new Vector<float>(output.Slice(i, vc));
            (new Vector<float>(dOutput.Slice(i, vc)) * y * (Vector<float>.One - y)).CopyTo(dInput.Slice(i, vc));
        }
        for (; i < output.Length; i++) dInput[i] = dOutput[i] * output[i] * (1f - output[i]);
    }

    /// <summary><c>dx = dy * (1 - y²)</c> for <c>y = tanh(x)</c>.</summary>
    public static void TanhBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        int vc = Vector<float>.Count, i = 0;
        for (; i + vc <= output.Length; i += vc)
        {
            var y = new Vector<float>(output.Slice(i, vc));
            (new Vector<float>(dOutput.Slice(i, vc)) * (Vector<float>.One - y * y)).CopyTo(dInput.Slice(i, vc));
        }
        for (; i < output.Length; i++) dInput[i] = dOutput[i] * (1f - output[i] * output[i]);
    }

    /// <summary>Numerically stable softmax of one row: <c>y = exp(x - max x) / Σ exp(x - max x)</c>.</summary>
    public static void SoftmaxRow(ReadOnlySpan<float> input, Span<float> output)
    {
        float max = TensorPrimitives.Max(input);
        TensorPrimitives.Subtract(input, max, output);
        TensorPrimitives.Exp(output, output);
        float sum = TensorPrimitives.Sum(output);
        TensorPrimitives.Divide(output, sum, output);
    }

    /// <summary>Softmax backward for one row: <c>dx = y * (dy - Σ dy·y)</c>.</summary>
    public static void SoftmaxBackwardRow(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        float dot = TensorPrimitives.Dot(output, dOutput);
        TensorPrimitives.Subtract(dOutput, dot, dInput);
        TensorPrimitives.Multiply(dInput, output, dInput);
    }
}
