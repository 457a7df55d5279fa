using System;

namespace ConvGen;

/// <summary>
/// The base of every network the generator compiles from stacked layer attributes (<see cref="InputAttribute"/>). It is the one
/// model core (<see cref="Model"/>) with layers whose convolution and pooling kernels the generator specialized to every size:
/// the generated constructor passes them here. Its buffers are planned once, for the <c>maxBatchSize</c> it was constructed with;
/// <c>Predict</c> and <c>Evaluate</c> split larger data into batches of at most that.
/// </summary>
/// <remarks>Layer names, initialization and weights files match a <see cref="Sequential"/> of the same layers.</remarks>
public abstract class CompiledNetwork : Model
{
    /// <summary>Plans the network for <paramref name="maxBatchSize"/> samples and initializes it from <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBatchSize"/> is less than 1, or the buffers would exceed the largest array.</exception>
    protected CompiledNetwork(Shape inputShape, int maxBatchSize, int seed, params Layer[] layers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentNullException.ThrowIfNull(layers);
        Plan(inputShape, layers, seed, maxBatchSize, fixedCapacity: true);
    }
}
