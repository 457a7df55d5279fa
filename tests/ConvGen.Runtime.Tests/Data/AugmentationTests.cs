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

    /// <summary>The window of image <paramref name="image"/> of <paramref name="images"/> at (top, left), by plain indexing.</summary>
    private static float[] Window(Tensor images, int image, int top, int left, int height, int width)
    {
        int h = images.Shape[1], w = images.Shape[2], c = images.Shape[3];
        var result = new float[height * width * c];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int k = 0; k < c; k++)
                    result[(y * width + x) * c + k] = images.Span[((image * h + top + y) * w + left + x) * c + k];
        return result;
    }

    [Theory]
    [InlineData(3, 4)]
    [InlineData(5, 6)] // the whole image: one place
    [InlineData(1, 1)]
    public void Every_crop_is_a_window_of_its_image_and_every_place_occurs(int height, int width)
    {
        var images = Batch(10);
        var augmentation = new Augmentation(cropHeight: height, cropWidth: width, seed: 7);
        int[] indices = [9, 0, 4, 4, 2, 7];
        var batch = new Tensor(new Shape(indices.Length, height, width, C));
        var seen = new HashSet<(int, int)>();
        int size = height * width * C;
        for (int step = 0; step < 60; step++)
        {
            augmentation.CropInto(images, indices, batch, step);
            for (int i = 0; i < indices.Length; i++)
            {
                var crop = batch.Span.Slice(i * size, size);
                (int, int)? place = null;
                for (int top = 0; top <= H - height && place is null; top++)
                    for (int left = 0; left <= W - width && place is null; left++)
                        if (Window(images, indices[i], top, left, height, width).AsSpan().SequenceEqual(crop)) place = (top, left);
                Assert.True(place is not null, $"step {step}, sample {i} is not a {height}x{width} window of image {indices[i]}");
                seen.Add(place!.Value);
            }
        }
        Assert.Equal((H - height + 1) * (W - width + 1), seen.Count);
    }

    [Fact]
    public void Crops_repeat_for_a_step_and_seed_change_with_either_and_allocate_nothing()
    {
        var images = Batch(4);
        float[] Run(int seed, long step)
        {
            var b = new Tensor(new Shape(4, 3, 3, C));
            new Augmentation(cropHeight: 3, cropWidth: 3, seed: seed).CropInto(images, [0, 1, 2, 3], b, step);
            return b.ToArray();
        }
        Assert.Equal(Run(1, 5), Run(1, 5));
        Assert.NotEqual(Run(1, 5), Run(1, 6));
        Assert.NotEqual(Run(1, 5), Run(2, 5));

        var augmentation = new Augmentation(2, horizontalFlip: true, seed: 1, cropHeight: 3, cropWidth: 4);
        var batch = new Tensor(new Shape(3, 3, 4, C));
        int[] indices = [3, 1, 2];
        augmentation.CropInto(images, indices, batch, 0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int step = 1; step < 50; step++) augmentation.CropInto(images, indices, batch, step);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(5, 6, 0, 0)]
    [InlineData(3, 3, 1, 1)] // an odd margin (6 - 3): the extra column after the window, as tf.image.resize_with_crop_or_pad
    [InlineData(2, 4, 1, 1)]
    [InlineData(4, 1, 0, 2)]
    public void Center_crop_is_the_middle_window(int height, int width, int top, int left)
    {
        var images = Batch(3);
        var cropped = new Augmentation(cropHeight: height, cropWidth: width).CenterCrop(images);
        Assert.Equal(new Shape(3, height, width, C), cropped.Shape);
        for (int i = 0; i < 3; i++)
            Assert.Equal(Window(images, i, top, left, height, width), cropped.Span.Slice(i * height * width * C, height * width * C).ToArray());
        Assert.Same(images, new Augmentation(1).CenterCrop(images));
    }

    [Fact]
    public void Fit_trains_on_random_windows_and_validates_on_centered_ones()
    {
        const int height = 3, width = 4;
        Model Net() => new Sequential(new Flatten(), new Dense(3)).Build(new Shape(height, width, C), seed: 2)
            .Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        var x = Batch(6);
        for (int i = 0; i < x.Length; i++) x.Span[i] /= x.Length;
        int[] y = [0, 1, 2, 0, 1, 2];
        var validation = Batch(4);
        for (int i = 0; i < validation.Length; i++) validation.Span[i] = 1 - validation.Span[i] / validation.Length;
        int[] validationLabels = [2, 1, 0, 2];
        var augmentation = new Augmentation(1, seed: 5, cropHeight: height, cropWidth: width);

        // Fit: one step a batch of the whole set in order.
        var fitted = Net();
        var history = fitted.Fit(x, y, 1, 6, new FitOptions { Output = null, Shuffle = false, Augmentation = augmentation, ValidationData = (validation, validationLabels) });

        // The same by hand: crop, shift, train; validate on the centered windows.
        var manual = Net();
        var batch = new Tensor(new Shape(6, height, width, C));
        augmentation.CropInto(x, [0, 1, 2, 3, 4, 5], batch, 0);
        augmentation.Apply(batch, 0);
        manual.TrainStep(batch, y);
        Assert.Equal(manual.ParameterBuffer.ToArray(), fitted.ParameterBuffer.ToArray());
        var (loss, accuracy) = manual.Evaluate(augmentation.CenterCrop(validation), validationLabels);
        Assert.Equal(loss, history[0].ValidationLoss);
        Assert.Equal(accuracy, history[0].ValidationAccuracy);
    }

    [Fact]
    public void Crop_sizes_that_do_not_fit_are_refused_naming_what_would()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Augmentation(cropHeight: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Augmentation(cropHeight: -1, cropWidth: 2));
        var crop = new Augmentation(cropHeight: 3, cropWidth: 4);
        var images = Batch(2);
        var small = new Tensor(new Shape(2, 2, 8, C));
        Assert.Equal("images", Assert.Throws<ShapeMismatchException>(() => crop.CenterCrop(small)).ParamName);
        Assert.Equal("batch", Assert.Throws<ShapeMismatchException>(() => crop.CropInto(images, [0, 1], new Tensor(new Shape(2, 3, 3, C)), 0)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => crop.CropInto(images, [0, 2], new Tensor(new Shape(2, 3, 4, C)), 0));
        Assert.Throws<InvalidOperationException>(() => new Augmentation(1).CropInto(images, [0], new Tensor(new Shape(1, 3, 4, C)), 0));

        Model Net(Shape input) => new Sequential(new Flatten(), new Dense(3)).Build(input, seed: 2)
            .Compile(new SGD(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        var options = new FitOptions { Output = null, Augmentation = crop };
        var wrongInput = Assert.Throws<ShapeMismatchException>(() => Net(new Shape(H, W, C)).Fit(images, [0, 1], 1, 2, options));
        Assert.Equal("options", wrongInput.ParamName);
        Assert.Contains("(3, 4, 2)", wrongInput.Message);
        Assert.Equal("images", Assert.Throws<ShapeMismatchException>(() => Net(new Shape(3, 4, C)).Fit(small, [0, 1], 1, 2, options)).ParamName);
        Assert.Equal("labels", Assert.Throws<ShapeMismatchException>(() => Net(new Shape(3, 4, C)).Fit(images, [0], 1, 2, options)).ParamName);
        Assert.Equal("options.ValidationData.Images", Assert.Throws<ShapeMismatchException>(() => Net(new Shape(3, 4, C)).Fit(images, [0, 1], 1, 2,
            new FitOptions { Output = null, Augmentation = crop, ValidationData = (small, [0, 1]) })).ParamName);
    }
}
