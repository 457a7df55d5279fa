using System.Collections.Generic;

namespace ConvGen;

/// <summary>One layer of a built model as the core planned it: what it reads, what it produces, and how it runs.</summary>
/// <param name="Index">The layer's position in the model (0-based).</param>
/// <param name="Name">The layer's unique name.</param>
/// <param name="Layer">The layer.</param>
/// <param name="Inputs">The names of the layers it reads, in order (<c>input</c> for the model's input).</param>
/// <param name="OutputShape">One sample of its output.</param>
/// <param name="ParameterCount">Its trainable parameters.</param>
/// <param name="StateCount">Its non-trainable state values.</param>
/// <param name="SharesInputBuffer">Whether its output is its input's buffer reinterpreted (Flatten): it runs no kernel.</param>
/// <param name="ForwardComputedBy">The name of the layer whose forward kernel also computes this layer's output (a convolution
/// with the max pool after it), or null.</param>
/// <param name="ReluAppliedBy">The name of the layer that applies this layer's ReLU to the gradient as it writes its own input
/// gradient (a max pool after a ReLU layer), or null.</param>
/// <param name="FoldedInto">For a BatchNormalization: the name of the layer before it (a convolution or Dense) that it is
/// folded into for inference, or null. <c>Predict</c> and <c>Evaluate</c> then run that layer with its kernel and bias scaled
/// and shifted by the moving statistics, writing this layer's output, and run no pass of this layer; training and
/// <c>Forward</c> run it as usual. For an element-wise activation layer that alone reads such a BatchNormalization: the same
/// layer, which then also applies the activation to its output while in cache and writes this layer's output. For a residual
/// <c>Add</c> that alone reads such a BatchNormalization (after a two-dimensional convolution): the same layer, which then adds
/// the Add's other input and applies its activation as it stores each output, and writes this layer's output.</param>
public sealed record ModelNode(int Index, string Name, Layer Layer, IReadOnlyList<string> Inputs, Shape OutputShape,
    long ParameterCount, long StateCount, bool SharesInputBuffer, string? ForwardComputedBy, string? ReluAppliedBy,
    string? FoldedInto = null);
