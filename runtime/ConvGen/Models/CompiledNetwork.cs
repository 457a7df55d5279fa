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
    /// Plans the network for <paramref name="maxBatchSize"/> samples and reads every weight and state value from the weights file
    /// at <paramref name="weightsPath"/> (as <see cref="Model.SaveWeights"/> writes it), straight into the buffers, with no
    /// initialization first and no copy of the file in memory: the cold start of a trained model (the NativeAOT sample's first
    /// prediction came 90-98 ms after the process started, where initializing and then loading took 162-179 ms in the same
    /// runs; docs/performance.md). Layer seeds (dropout) are seed 0's.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBatchSize"/> is less than 1, or the buffers would exceed the largest array.</exception>
    /// <exception cref="System.IO.FileNotFoundException">There is no file at <paramref name="weightsPath"/>.</exception>
    /// <exception cref="System.IO.InvalidDataException">The file is not a valid weights file (corrupt, truncated, wrong checksum).</exception>
    /// <exception cref="Serialization.WeightsMismatchException">The file is for a different architecture; the message names the first tensor that differs and both shapes.</exception>
    protected CompiledNetwork(Shape inputShape, int maxBatchSize, string weightsPath, params Layer[] layers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentException.ThrowIfNullOrEmpty(weightsPath);
        ArgumentNullException.ThrowIfNull(layers);
        Plan(inputShape, layers, seed: 0, maxBatchSize, fixedCapacity: true, initialize: false);
        // Nothing else holds this model yet, and a failed read fails the constructor: the file can go straight into the buffers.
        Serialization.WeightsFile.ReadInto(weightsPath, NamedWeights());
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
            var span = tensor.Written;
            for (int i = 0; i < span.Length; i++, offset += 2)
                span[i] = BitConverter.UInt32BitsToSingle(floats[offset] | (uint)floats[offset + 1] << 16);
        }
    }
}
