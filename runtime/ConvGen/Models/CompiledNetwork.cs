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

    /// <summary>
    /// Sets every weight and state value, in the order of <see cref="Model.NamedWeights"/> (each layer's parameters, then its
    /// state): the initial weights an <see cref="OnnxModelAttribute"/> network carries from its file. Each float is two chars of
    /// <paramref name="floats"/>, its low 16 bits, then its high 16 bits: one string constant in the generated source compiles
    /// far faster than a byte array of the same values.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="floats"/> does not hold exactly the model's values.</exception>
    protected void SetWeights(string floats)
    {
        ArgumentNullException.ThrowIfNull(floats);
        long count = 0;
        foreach (var (_, tensor) in NamedWeights()) count += tensor.Length;
        if (floats.Length != count * 2)
            throw new ArgumentException($"{GetType().Name} holds {count} weight and state values ({count * 2} chars); the data has {floats.Length}.", nameof(floats));
        int offset = 0;
        foreach (var (_, tensor) in NamedWeights())
        {
            var span = tensor.Span;
            for (int i = 0; i < span.Length; i++, offset += 2)
                span[i] = BitConverter.UInt32BitsToSingle(floats[offset] | (uint)floats[offset + 1] << 16);
        }
    }
}
