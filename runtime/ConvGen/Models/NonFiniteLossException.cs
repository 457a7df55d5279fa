using System;

namespace ConvGen;

/// <summary>Where a training step first found a NaN or infinity; see <see cref="NonFiniteLossException.Origin"/>.</summary>
public enum NonFiniteOrigin
{
    /// <summary>A layer's weights were already NaN or infinite before the step (an earlier update overflowed, or they were set or loaded so).</summary>
    Weights = 0,

    /// <summary>A layer's forward output.</summary>
    Output = 1,

    /// <summary>The loss or its gradient, although every layer output was finite; no layer is named.</summary>
    Loss = 2,

    /// <summary>A gradient computed by a layer's backward pass: of one of its parameters, or of its input.</summary>
    Gradient = 3,
}

/// <summary>
/// Training stopped because the loss or a gradient became NaN or infinite. The failing step was not applied: the weights and
/// the optimizer's state are those after step <c><see cref="Step"/> − 1</c>.
/// </summary>
public sealed class NonFiniteLossException : ArithmeticException
{
    /// <summary>Creates the exception for a non-finite <paramref name="loss"/> at <paramref name="step"/>, without naming a layer.</summary>
    public NonFiniteLossException(float loss, long step)
        : this(loss, step, NonFiniteOrigin.Loss, layerIndex: -1, layerName: null, parameterName: null, detail: null) { }

    /// <summary>Creates the exception naming where the first non-finite value was found.</summary>
    /// <param name="loss">The step's loss (finite when only a gradient went non-finite).</param>
    /// <param name="step">The 1-based training step (the optimizer's iteration) that failed.</param>
    /// <param name="origin">What went non-finite first.</param>
    /// <param name="layerIndex">The position of that layer in the model, or -1 when no layer is to blame.</param>
    /// <param name="layerName">The layer's unique name (as in <see cref="Model.LayerNames"/>, e.g. <c>dense_1</c>), or null.</param>
    /// <param name="parameterName">The parameter (e.g. <c>kernel</c>) whose value or gradient went non-finite, or null for an output or input gradient.</param>
    /// <param name="detail">Further facts for the message, e.g. which element and whether the input batch held NaN.</param>
    public NonFiniteLossException(float loss, long step, NonFiniteOrigin origin, int layerIndex, string? layerName, string? parameterName, string? detail)
        : base(Describe(loss, step, origin, layerIndex, layerName, parameterName, detail))
    {
        Loss = loss;
        Step = step;
        Origin = origin;
        LayerIndex = layerIndex;
        LayerName = layerName;
        ParameterName = parameterName;
    }

    /// <summary>The step's loss: NaN or infinite, or finite when only a gradient went non-finite.</summary>
    public float Loss { get; }

    /// <summary>The 1-based training step (the optimizer's iteration) that failed.</summary>
    public long Step { get; }

    /// <summary>What went non-finite first.</summary>
    public NonFiniteOrigin Origin { get; }

    /// <summary>The position in the model of the first layer whose weights, output or gradient went non-finite; -1 for <see cref="NonFiniteOrigin.Loss"/>.</summary>
    public int LayerIndex { get; }

    /// <summary>That layer's unique name, e.g. <c>dense_1</c>; null for <see cref="NonFiniteOrigin.Loss"/>.</summary>
    public string? LayerName { get; }

    /// <summary>The parameter, e.g. <c>kernel</c>, whose value or gradient went non-finite; null when it was an output or input gradient.</summary>
    public string? ParameterName { get; }

    private static string Describe(float loss, long step, NonFiniteOrigin origin, int layerIndex, string? layerName, string? parameterName, string? detail)
    {
        string layer = layerName is null ? "" : $"layer {layerIndex} ({layerName})";
        string what = origin switch
        {
            NonFiniteOrigin.Weights => $"the {parameterName ?? "weights"} of {layer} were already NaN or infinite before the step (an earlier update overflowed, or they were set so)",
            NonFiniteOrigin.Output => $"the output of {layer} holds NaN or infinity",
            NonFiniteOrigin.Gradient => parameterName is null ? $"the input gradient computed by {layer} holds NaN or infinity" : $"the gradient of {layer}'s {parameterName} holds NaN or infinity",
            _ => "the loss is not finite although every layer output is",
        };
        string applied = step > 1 ? $"the weights are those after step {step - 1}" : "the weights are the initial ones";
        return $"Training step {step}: {what}{(detail is null ? "" : $" ({detail})")}; the loss is {loss}. " +
               $"The step was not applied, so {applied}. Lower the learning rate or check the data for NaN or huge values.";
    }
}
