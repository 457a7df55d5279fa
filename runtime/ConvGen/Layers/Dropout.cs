using System;

namespace ConvGen;

/// <summary>
/// Keras' <c>Dropout</c>: while training, zeroes each element with probability <see cref="Rate"/> and scales the rest by
/// <c>1 / (1 − rate)</c> (inverted dropout), so inference needs no rescaling; outside training it copies its input.
/// </summary>
/// <remarks>
/// The mask is a pure function of the seed, the model's training-pass count and the element index (a counter-based hash), so
/// it is reproducible, independent of <see cref="Parallelism.Threads"/>, recomputed by the backward pass rather than stored, and
/// different for every batch. Initializing the model (<see cref="Model.Initialize"/>, building it) restarts the sequence.
/// </remarks>
public sealed class Dropout : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <summary>Inference only: <c>Identity</c>.</summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx) => onnx.Node("Identity", [onnx.Input()], onnx.Output);

    private readonly int? _fixedSeed;

    /// <summary>Creates the layer.</summary>
    /// <param name="rate">Fraction of the elements to drop, in <c>[0, 1)</c>.</param>
    /// <param name="seed">The mask seed; when null, the layer's seed in the model (<c>seed * 1_000_003 + layer index</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside <c>[0, 1)</c> or not a number.</exception>
    public Dropout(float rate, int? seed = null)
    {
        if (!(rate >= 0f && rate < 1f))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The dropout rate must be in [0, 1).");
        Rate = rate;
        _fixedSeed = seed;
    }

    /// <inheritdoc/>
    protected override string BaseName => "dropout";

    /// <summary>Fraction of the elements dropped while training.</summary>
    public float Rate { get; }

    /// <summary>The seed given to the constructor, or null when the layer takes its seed from the model.</summary>
    public int? Seed => _fixedSeed;

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build) => build.InputShape;

    /// <summary>In training, <c>x · mask</c> with this pass's mask of zeros and <c>1 / (1 − rate)</c>; otherwise a copy of <c>x</c>.</summary>
    protected internal override void RunForward(in NodeContext c)
    {
        var (s, e) = c.Rows;
        int row = c.OutputShape.Size;
        var x = c.Input().Slice(s * row, (e - s) * row);
        var y = c.Output.Slice(s * row, (e - s) * row);
        if (!Active(c)) x.CopyTo(y);
        else Apply(c, x, y, s * row);
    }

    /// <summary>The output gradient times the same mask (or as it is, after an inference pass).</summary>
    protected internal override void RunBackward(in NodeContext c)
    {
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        int row = c.OutputShape.Size;
        var dy = c.OutputGradient.Slice(s * row, (e - s) * row);
        if (Active(c)) Apply(c, dy, dy, s * row);
        Activations.Route(dy, c.InputGradient().Slice(s * row, (e - s) * row), c.AccumulatesInputGradient());
    }

    private bool Active(in NodeContext c) => c.Training && Rate > 0f;

    /// <summary><c>destination[i] = source[i] · mask[first + i]</c>; keeps an element when a 24-bit uniform draw is at least the rate.</summary>
    private void Apply(in NodeContext c, ReadOnlySpan<float> source, Span<float> destination, int first)
    {
        float scale = 1f / (1f - Rate);
        uint threshold = (uint)Math.Ceiling(Rate * (double)(1 << 24));
        ulong seed = (ulong)(uint)(_fixedSeed ?? c.Seed);
        ulong stream = Mix(seed ^ Mix((ulong)c.TrainingPass * 0x9E3779B97F4A7C15UL));
        for (int i = 0; i < source.Length; i++)
            destination[i] = (uint)(Mix(stream + (ulong)(first + i)) >> 40) >= threshold ? source[i] * scale : 0f;
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
