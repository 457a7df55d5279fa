using System;

namespace ConvGen.Data;

/// <summary>
/// Random changes to a batch of NHWC images before a training step (Keras' <c>RandomTranslation</c> with
/// <c>fill_mode="constant"</c> and <c>RandomFlip("horizontal")</c>), applied in place. Each image's draw is a pure function
/// of the seed, the step and the image's index in the batch, so a run is reproducible, the same on every rank of a
/// data-parallel group, and nothing is allocated.
/// </summary>
/// <remarks>
/// A random crop after zero padding by <c>p</c> (the CIFAR recipe) is the same transform as a translation of up to
/// <c>p</c> pixels with zero fill: use <see cref="MaxShift"/> for it. Horizontal flips are off by default (they turn
/// digits into other shapes).
/// </remarks>
public sealed class Augmentation
{
    /// <summary>Creates an augmentation.</summary>
    /// <param name="maxShift">Each image moves by a whole number of pixels drawn uniformly from <c>[-maxShift, maxShift]</c> along each axis; the uncovered pixels become 0.</param>
    /// <param name="horizontalFlip">Whether each image is mirrored left to right with probability 1/2.</param>
    /// <param name="seed">The seed of every draw.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxShift"/> is negative.</exception>
    public Augmentation(int maxShift = 0, bool horizontalFlip = false, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxShift);
        (MaxShift, HorizontalFlip, Seed) = (maxShift, horizontalFlip, seed);
    }

    /// <summary>The largest shift, in pixels, along each axis.</summary>
    public int MaxShift { get; }

    /// <summary>Whether images are mirrored left to right half of the time.</summary>
    public bool HorizontalFlip { get; }

    /// <summary>The seed of every draw.</summary>
    public int Seed { get; }

    /// <summary>
    /// Changes every image of <paramref name="batch"/> (shape <c>[N, H, W, C]</c>) in place with the draws of step
    /// <paramref name="step"/>. Allocation-free.
    /// </summary>
    /// <exception cref="ShapeMismatchException"><paramref name="batch"/> is not a batch of images <c>[N, H, W, C]</c>.</exception>
    public void Apply(Tensor batch, long step)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var shape = batch.Shape;
        if (shape.Rank != 4)
            throw new ShapeMismatchException(nameof(batch), "[batch, height, width, channels]", shape.ToString(), "Augmentation.Apply moves and mirrors images");
        int n = shape[0], h = shape[1], w = shape[2], c = shape[3], size = h * w * c;
        var data = batch.Span;
        Span<float> copy = size <= 16384 ? stackalloc float[size] : new float[size]; // one image; larger than 64 KiB images allocate
        for (int i = 0; i < n; i++)
        {
            ulong draw = Mix((ulong)(uint)Seed, (ulong)step, (ulong)i);
            int span = 2 * MaxShift + 1;
            int dy = MaxShift == 0 ? 0 : (int)(draw % (ulong)span) - MaxShift;
            int dx = MaxShift == 0 ? 0 : (int)((draw >> 16) % (ulong)span) - MaxShift;
            bool flip = HorizontalFlip && ((draw >> 40) & 1) == 1;
            if (dy == 0 && dx == 0 && !flip) continue;
            var image = data.Slice(i * size, size);
            image.CopyTo(copy);
            for (int y = 0; y < h; y++)
            {
                int sy = y - dy;
                var row = image.Slice(y * w * c, w * c);
                if ((uint)sy >= (uint)h)
                {
                    row.Clear();
                    continue;
                }
                for (int x = 0; x < w; x++)
                {
                    int sx = (flip ? w - 1 - x : x) - dx;
                    var pixel = row.Slice(x * c, c);
                    if ((uint)sx >= (uint)w) pixel.Clear();
                    else copy.Slice((sy * w + sx) * c, c).CopyTo(pixel);
                }
            }
        }
    }

    /// <summary>A 64-bit hash of the draw's coordinates (splitmix64 steps), uniform enough for shifts and coin flips.</summary>
    private static ulong Mix(ulong seed, ulong step, ulong index)
    {
        ulong z = seed * 0x9E3779B97F4A7C15UL ^ step * 0xBF58476D1CE4E5B9UL ^ index * 0x94D049BB133111EBUL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Augmentation(maxShift: {MaxShift}, horizontalFlip: {HorizontalFlip}, seed: {Seed})";
}
