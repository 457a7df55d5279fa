using System;
using System.Numerics;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>Element-wise activation kernels shared by layers.</summary>
internal static class Activations
{
    public static void ReluInPlace(Span<float> values) => TensorPrimitives.Max(values, 0f, values);

    /// <summary>The ReLU's backward in place: <c>gradient[i] = output[i] &gt; 0 ? gradient[i] : 0</c>.</summary>
    public static void ReluMask(ReadOnlySpan<float> output, Span<float> gradient)
    {
        int vc = Vector<float>.Count, i = 0;
        for (; i + vc <= gradient.Length; i += vc)
        {
            var keep = Vector.GreaterThan(new Vector<float>(output.Slice(i, vc)), Vector<float>.Zero);
            Vector.ConditionalSelect(keep, new Vector<float>(gradient.Slice(i, vc)), Vector<float>.Zero).CopyTo(gradient.Slice(i, vc));
        }
        for (; i < gradient.Length; i++)
            if (!(output[i] > 0f)) gradient[i] = 0f;
    }

    /// <summary>An input gradient: <paramref name="gradient"/> written into <paramref name="destination"/>, or added to it when <paramref name="accumulate"/>.</summary>
    public static void Route(ReadOnlySpan<float> gradient, Span<float> destination, bool accumulate)
    {
        if (accumulate) TensorPrimitives.Add(destination, gradient, destination);
        else gradient.CopyTo(destination);
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
