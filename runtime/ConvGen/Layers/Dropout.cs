using System;
using System.Collections.Generic;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>
/// Keras' <c>Dropout</c>: while training, zeroes each element with probability <see cref="Rate"/> and scales the rest by
/// <c>1 / (1 − rate)</c> (inverted dropout), so inference needs no rescaling; outside training it is the identity.
/// </summary>
/// <remarks>
/// The mask is a pure function of the seed, a per-call counter and the element index (a counter-based hash), so it is
/// reproducible and independent of <see cref="Parallelism.Threads"/>; the counter advances with every training forward
/// pass, so consecutive batches get different masks. <see cref="Build"/> restarts the sequence.
/// </remarks>
public sealed class Dropout : ILayer
{
    private readonly int? _fixedSeed;
    private ulong _seed;
    private ulong _calls;
    private float[] _output = [];
    private float[] _mask = [];
    private float[] _inputGradient = [];
    private Tensor? _outputView, _inputGradientView, _lastOutput;
    private bool _lastWasTraining;

    /// <summary>Creates the layer.</summary>
    /// <param name="rate">Fraction of the elements to drop, in <c>[0, 1)</c>.</param>
    /// <param name="seed">The mask seed; when null, the seed passed to <see cref="Build"/> is used.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside <c>[0, 1)</c> or not a number.</exception>
    public Dropout(float rate, int? seed = null)
    {
        if (!(rate >= 0f && rate < 1f))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The dropout rate must be in [0, 1).");
        Rate = rate;
        _fixedSeed = seed;
        _seed = (ulong)(uint)(seed ?? 0);
    }

    /// <inheritdoc/>
    public string Name { get; init; } = "dropout";

    /// <summary>Fraction of the elements dropped while training.</summary>
    public float Rate { get; }

    /// <summary>The seed given to the constructor, or null when the layer takes the <see cref="Build"/> seed.</summary>
    public int? Seed => _fixedSeed;

    /// <summary>None: dropout has no trainable parameters.</summary>
    public IReadOnlyList<Parameter> Parameters => [];

    /// <summary>The input shape: dropout is element-wise.</summary>
    public Shape GetOutputShape(Shape inputShape) => inputShape;

    /// <summary>Takes <paramref name="seed"/> as the mask seed unless the constructor fixed one, and restarts the mask sequence.</summary>
    public Shape Build(Shape inputShape, int seed)
    {
        _seed = (ulong)(uint)(_fixedSeed ?? seed);
        _calls = 0;
        return inputShape;
    }

    /// <summary>
    /// When <paramref name="training"/>, returns <c>x·mask</c> with a fresh mask of zeros and <c>1 / (1 − rate)</c>;
    /// otherwise returns <paramref name="input"/> itself.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The input has no batch dimension.</exception>
    public Tensor Forward(Tensor input, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Shape.Rank < 1)
            throw new ShapeMismatchException(nameof(input), "(batch, ...)", input.Shape.ToString(), $"{Name} takes a batch");
        _lastWasTraining = training && Rate > 0f;
        if (!_lastWasTraining)
        {
            _lastOutput = input;
            return input;
        }
        var output = LayerBuffers.View(ref _output, ref _outputView, input.Shape);
        var mask = LayerBuffers.Ensure(ref _mask, input.Length);
        float scale = 1f / (1f - Rate);
        // Keep an element when a uniform draw in [0, 1) is at least the rate; 24-bit draws compare exactly in float.
        uint threshold = (uint)Math.Ceiling(Rate * (double)(1 << 24));
        ulong stream = Mix(_seed ^ Mix(++_calls * 0x9E3779B97F4A7C15UL));
        int batch = input.Shape[0], row = input.Length / batch;
        LayerBuffers.ForChunks(batch, row, (s, e) =>
        {
            var m = mask.AsSpan(s * row, (e - s) * row);
            ulong first = (ulong)s * (ulong)row;
            for (int i = 0; i < m.Length; i++)
                m[i] = (uint)(Mix(stream + first + (ulong)i) >> 40) >= threshold ? scale : 0f;
            TensorPrimitives.Multiply(input.Span.Slice(s * row, (e - s) * row), m, output.Span.Slice(s * row, (e - s) * row));
        });
        _lastOutput = output;
        return output;
    }

    /// <summary>Returns <c>dy·mask</c> after a training pass, or <paramref name="outputGradient"/> itself after an inference pass (null when <paramref name="computeInputGradient"/> is false).</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="outputGradient"/> is not shaped like the last output.</exception>
    public Tensor? Backward(Tensor outputGradient, bool computeInputGradient = true)
    {
        LayerBuffers.CheckOutputGradient(outputGradient, _lastOutput, Name);
        if (!computeInputGradient) return null;
        if (!_lastWasTraining) return outputGradient;
        var inputGradient = LayerBuffers.View(ref _inputGradient, ref _inputGradientView, outputGradient.Shape);
        TensorPrimitives.Multiply(outputGradient.Span, _mask.AsSpan(0, outputGradient.Length), inputGradient.Span);
        return inputGradient;
    }

    /// <summary>SplitMix64's finalizer: a bijective 64-bit mix with good avalanche.</summary>
    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: Dropout({Rate})";
}
