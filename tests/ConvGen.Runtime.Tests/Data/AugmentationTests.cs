using System;
using System.Collections.Generic;
using System.Linq;
using ConvGen.Data;
using Xunit;

namespace ConvGen.Runtime.Tests.Data;

/// <summary>Augmentation against what a translation with zero fill and a horizontal flip are, image by image.</summary>
public sealed class AugmentationTests
{
    private const int H = 5, W = 6, C = 2;

    /// <summary>A batch whose every value is distinct and non-zero, so any move shows.</summary>
    private static Tensor Batch(int n)
    {
        var t = new Tensor(new Shape(n, H, W, C));
        for (int i = 0; i < t.Length; i++) t.Span[i] = i + 1;
        return t;
    }

    /// <summary>Image <paramref name="original"/> moved by (dy, dx), mirrored first when <paramref name="flip"/>.</summary>
    private static float[] Moved(ReadOnlySpan<float> original, int dy, int dx, bool flip)
    {
        var result = new float[H * W * C];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                int sy = y - dy, sx = (flip ? W - 1 - x : x) - dx;
                for (int k = 0; k < C; k++)
                    result[(y * W + x) * C + k] = sy < 0 || sy >= H || sx < 0 || sx >= W ? 0 : original[(sy * W + sx) * C + k];
            }
        return result;
    }

    /// <summary>Which (dy, dx, flip) turns <paramref name="original"/> into <paramref name="changed"/>, or null if none does.</summary>
    private static (int, int, bool)? Find(ReadOnlySpan<float> original, ReadOnlySpan<float> changed, int maxShift, bool flips)
    {
        for (int dy = -maxShift; dy <= maxShift; dy++)
            for (int dx = -maxShift; dx <= maxShift; dx++)
                foreach (bool flip in flips ? new[] { false, true } : new[] { false })
                    if (Moved(original, dy, dx, flip).AsSpan().SequenceEqual(changed)) return (dy, dx, flip);
        return null;
    }

    [Theory]
    [InlineData(2, false)]
    [InlineData(1, true)]
    [InlineData(0, true)]
    public void Every_image_is_moved_and_mirrored_as_drawn_and_every_draw_occurs(int maxShift, bool flips)
    {
        var augmentation = new Augmentation(maxShift, flips, seed: 3);
        var seen = new HashSet<(int, int, bool)>();
        for (int step = 0; step < 40; step++)
        {
            var original = Batch(8);
            var batch = Batch(8);
            augmentation.Apply(batch, step);
            int size = H * W * C;
            for (int i = 0; i < 8; i++)
            {
                var found = Find(original.Span.Slice(i * size, size), batch.Span.Slice(i * size, size), maxShift, flips);
                Assert.True(found is not null, $"step {step}, image {i} is not a translation of at most {maxShift} with zero fill{(flips ? " (or its mirror)" : "")}");
                seen.Add(found!.Value);
            }
        }
        int expected = (2 * maxShift + 1) * (2 * maxShift + 1) * (flips ? 2 : 1);
        Assert.Equal(expected, seen.Count);
    }

    [Fact]
    public void Draws_repeat_for_a_step_and_seed_and_change_with_either()
    {
        Tensor Run(int seed, long step) { var b = Batch(6); new Augmentation(2, seed: seed).Apply(b, step); return b; }
        Assert.Equal(Run(1, 5).ToArray(), Run(1, 5).ToArray());
        Assert.NotEqual(Run(1, 5).ToArray(), Run(1, 6).ToArray());
        Assert.NotEqual(Run(1, 5).ToArray(), Run(2, 5).ToArray());
        var untouched = Batch(6);
        new Augmentation().Apply(untouched, 3);
        Assert.Equal(Batch(6).ToArray(), untouched.ToArray());
    }

    [Fact]
    public void Applying_allocates_nothing_and_bad_input_is_refused()
    {
        var augmentation = new Augmentation(2, horizontalFlip: true, seed: 1);
        var batch = Batch(16);
        augmentation.Apply(batch, 0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int step = 1; step < 50; step++) augmentation.Apply(batch, step);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Throws<ShapeMismatchException>(() => augmentation.Apply(new Tensor(new Shape(4, 10)), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Augmentation(-1));
        var flat = new Sequential(new Dense(2)).Build(new Shape(3), 0).Compile(new SGD(), new SparseCategoricalCrossentropy(fromLogits: true));
        Assert.Contains("(height, width, channels)", Assert.Throws<ArgumentException>(() =>
            flat.Fit(new Tensor(new Shape(2, 3)), [0, 1], 1, 2, new FitOptions { Output = null, Augmentation = augmentation })).Message);
    }

    [Fact]
    public void Fit_trains_on_augmented_batches()
    {
        Model Net() => new Sequential(new Flatten(), new Dense(3)).Build(new Shape(H, W, C), seed: 2)
            .Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        var x = Batch(12);
        for (int i = 0; i < x.Length; i++) x.Span[i] /= x.Length;
        int[] y = Enumerable.Range(0, 12).Select(i => i % 3).ToArray();
        float[] Train(Augmentation? a) { var m = Net(); m.Fit(x, y, 2, 4, new FitOptions { Output = null, Augmentation = a }); return m.ParameterBuffer.ToArray(); }
        Assert.Equal(Train(null), Train(new Augmentation(0)));
        Assert.NotEqual(Train(null), Train(new Augmentation(1, seed: 4)));
        Assert.Equal(Train(new Augmentation(1, seed: 4)), Train(new Augmentation(1, seed: 4)));
    }
}
