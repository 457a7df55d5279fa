using System;
using System.Collections.Generic;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>
/// The non-finite checks of a training step. <see cref="AllGradientsFinite"/> runs every step: one vectorized read of each
/// gradient, no allocation. <see cref="Find"/> runs only when a step has failed, to say where the first NaN or infinity came from.
/// </summary>
internal static class NonFiniteDiagnosis
{
    /// <summary>Whether every parameter gradient is finite. <c>MaxMagnitude</c> returns NaN if any element is NaN, and infinity if any is infinite.</summary>
    public static bool AllGradientsFinite(ReadOnlySpan<Parameter> parameters)
    {
        foreach (var p in parameters)
        {
            if (!float.IsFinite(TensorPrimitives.MaxMagnitude(p.Gradient.Span))) return false;
        }
        return true;
    }

    /// <summary>
    /// Builds the exception for a failed step, looking in the order the values were computed: the weights before the step,
    /// each layer's forward output, the loss and its gradient, then each layer's backward pass from the last layer to the first
    /// (parameter gradients, then the input gradient it passed back). <paramref name="lossGradient"/> is null when the loss
    /// itself was non-finite, before any backward pass ran.
    /// </summary>
    public static NonFiniteLossException Find(IReadOnlyList<ILayer> layers, IReadOnlyList<string> names,
        Tensor?[] outputs, Tensor?[] inputGradients, Tensor input, float loss, long step, Tensor? lossGradient)
    {
        string? inputNote = DescribeInput(input.Span, input.Shape);
        for (int i = 0; i < layers.Count; i++)
        {
            foreach (var p in layers[i].Parameters)
            {
                if (FirstNonFinite(p.Value.Span) is int at)
                    return new(loss, step, NonFiniteOrigin.Weights, i, names[i], p.Name, $"{p.Name}[{at}] is {p.Value.Span[at]}");
            }
        }
        for (int i = 0; i < layers.Count; i++)
        {
            if (outputs[i] is { } y && FirstNonFinite(y.Span) is int at)
                return new(loss, step, NonFiniteOrigin.Output, i, names[i], null, Join($"output element {at} is {y.Span[at]}", inputNote));
        }
        if (lossGradient is null || FirstNonFinite(lossGradient.Span) is not null)
            return new(loss, step, NonFiniteOrigin.Loss, -1, null, null, Join(lossGradient is null ? null : "the loss gradient is not finite", inputNote));
        for (int i = layers.Count - 1; i >= 0; i--)
        {
            foreach (var p in layers[i].Parameters)
            {
                if (FirstNonFinite(p.Gradient.Span) is int at)
                    return new(loss, step, NonFiniteOrigin.Gradient, i, names[i], p.Name, Join($"gradient element {at} is {p.Gradient.Span[at]}", inputNote));
            }
            if (i > 0 && inputGradients[i] is { } g && FirstNonFinite(g.Span) is int gat)
                return new(loss, step, NonFiniteOrigin.Gradient, i, names[i], null, Join($"input gradient element {gat} is {g.Span[gat]}", inputNote));
        }
        // Only reached if a caller reports a failure none of the tensors shows.
        return new(loss, step, NonFiniteOrigin.Loss, -1, null, null, inputNote);
    }

    private static int? FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i])) return i;
        }
        return null;
    }

    /// <summary>A note when the input batch itself holds NaN or infinity (null otherwise): the usual cause.</summary>
    private static string? DescribeInput(ReadOnlySpan<float> values, Shape shape)
    {
        if (FirstNonFinite(values) is not int first) return null;
        int count = 0;
        foreach (float v in values) if (!float.IsFinite(v)) count++;
        int sample = first / Math.Max(1, values.Length / shape[0]);
        return $"the input batch itself holds {count} NaN or infinite value{(count == 1 ? "" : "s")}, the first in sample {sample}";
    }

    private static string? Join(string? a, string? b) => a is null ? b : b is null ? a : $"{a}; {b}";
}
