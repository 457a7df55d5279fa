using System;
using System.Collections.Generic;

namespace ConvGen;

/// <summary>
/// A trainable classifier: what <see cref="Sequential"/> (layers composed at run time) and <see cref="CompiledNetwork"/>
/// (layers compiled from attributes) have in common, so training loops, reports and tools take either.
/// </summary>
public interface IModel
{
    /// <summary>One input sample, without the batch dimension.</summary>
    Shape InputShape { get; }

    /// <summary>One output sample, without the batch dimension.</summary>
    Shape OutputShape { get; }

    /// <summary>Total trainable parameters.</summary>
    long ParameterCount { get; }

    /// <summary>The trainable parameters, layer by layer (kernel before bias).</summary>
    IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Every parameter as <c>layer/parameter</c>, e.g. <c>conv2d/kernel</c>; the names of a saved weights file.</summary>
    IReadOnlyList<(string Name, Tensor Tensor)> NamedParameters();

    /// <summary>A Keras-like table of layers, output shapes and parameter counts.</summary>
    string Summary();

    /// <summary>One training step on a batch with the compiled optimizer and loss; returns the loss and the number of correct predictions.</summary>
    float TrainStep(Tensor images, ReadOnlySpan<int> labels, out int correct);

    /// <summary>Trains for <paramref name="epochs"/> shuffled passes in batches of <paramref name="batchSize"/>.</summary>
    IReadOnlyList<EpochResult> Fit(Tensor images, int[] labels, int epochs, int batchSize, FitOptions? options = null);

    /// <summary>Mean loss and accuracy over every sample, computed in batches.</summary>
    (float Loss, float Accuracy) Evaluate(Tensor images, int[] labels, int batchSize = 500);

    /// <summary>The outputs for every sample, computed in batches; a new tensor.</summary>
    Tensor Predict(Tensor images, int batchSize = 500);

    /// <summary>Saves every parameter by name, atomically.</summary>
    void SaveWeights(string path);

    /// <summary>Loads parameters saved by a model with the same layers.</summary>
    void LoadWeights(string path);
}
