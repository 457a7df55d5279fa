using System;
using System.Collections.Generic;

namespace ConvGen;

public abstract partial class Model
{
    /// <summary>
    /// Writes a checkpoint to <paramref name="path"/>, atomically: everything <see cref="SaveWeights"/> writes, then the optimizer's
    /// state (<c>optimizer/parameters/m</c>, ... see <see cref="IOptimizer.State"/>) and its step count
    /// (<c>optimizer/iterations</c>), in the weights format (docs/weights-format.md). <see cref="LoadCheckpoint"/> restores it, so
    /// training resumes exactly where it stopped.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not built or compiled, or another thread is using it.</exception>
    /// <exception cref="System.IO.IOException">Writing failed; the previous file, if any, is unchanged.</exception>
    public void SaveCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var scope = _gate.EnterExclusive(nameof(SaveCheckpoint));
        var (optimizer, _) = Compiled();
        var tensors = CheckpointTensors(optimizer, out var iterations);
        long t = optimizer.Iterations;
        iterations.Span[0] = t >> IterationBits;
        iterations.Span[1] = t & ((1L << IterationBits) - 1);
        Serialization.WeightsFile.Save(path, tensors);
    }

    /// <summary>
    /// Restores a checkpoint written by <see cref="SaveCheckpoint"/> from a model of the same layers compiled with the same kind of
    /// optimizer: weights, state, optimizer state and step count. If the file does not match, nothing changes and the exception
    /// names the first tensor that differs.
    /// </summary>
    /// <exception cref="System.IO.InvalidDataException">The file is not a valid weights file, or its step count is not a whole number.</exception>
    /// <exception cref="Serialization.WeightsMismatchException">The file is for a different architecture or optimizer.</exception>
    /// <exception cref="InvalidOperationException">The model is not built or compiled, or another thread is using it.</exception>
    public void LoadCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var scope = _gate.EnterExclusive(nameof(LoadCheckpoint));
        var (optimizer, _) = Compiled();
        var tensors = CheckpointTensors(optimizer, out var iterations);
        // Read into copies first, so a file that fails any check leaves the model and optimizer as they were.
        var copies = new (string Name, Tensor Tensor)[tensors.Count];
        for (int i = 0; i < copies.Length; i++) copies[i] = (tensors[i].Name, new Tensor(tensors[i].Tensor.Shape));
        Serialization.WeightsFile.LoadInto(path, copies);
        var (hi, lo) = (copies[^1].Tensor.Values[0], copies[^1].Tensor.Values[1]);
        if (!(hi >= 0 && lo >= 0 && lo < (1L << IterationBits) && hi == MathF.Floor(hi) && lo == MathF.Floor(lo)))
            throw new System.IO.InvalidDataException($"{path}: optimizer/iterations is ({hi}, {lo}); expected two whole numbers, the step count's high and low {IterationBits} bits.");
        for (int i = 0; i < copies.Length - 1; i++) copies[i].Tensor.Values.CopyTo(tensors[i].Tensor.Written);
        optimizer.Iterations = ((long)hi << IterationBits) | (long)lo;
    }

    /// <summary>Bits of the step count in each of the two floats that hold it (both exact in a float's 24-bit significand).</summary>
    private const int IterationBits = 20;

    /// <summary>The checkpoint's tensors in order: the weights, the optimizer's state per trainable buffer, and the step count.</summary>
    private List<(string Name, Tensor Tensor)> CheckpointTensors(IOptimizer optimizer, out Tensor iterations)
    {
        var tensors = new List<(string Name, Tensor Tensor)>(_namedWeights);
        foreach (var parameter in _whole)
        {
            foreach (var (name, values) in optimizer.State(parameter))
                tensors.Add(($"optimizer/{parameter.Name}/{name}", new Tensor(parameter.Value.Shape, values)));
        }
        iterations = new Tensor(new Shape(2));
        tensors.Add(("optimizer/iterations", iterations));
        return tensors;
    }
}
