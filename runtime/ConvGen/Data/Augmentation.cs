using System;

namespace ConvGen.Data;

/// <summary>
/// Random changes to a batch of NHWC images before a training step: Keras' <c>RandomCrop(height, width)</c> (a window of the
/// model's input size at a random place in each larger image; <see cref="CropInto"/>), then <c>RandomTranslation</c> with
/// <c>fill_mode="constant"</c> and <c>RandomFlip("horizontal")</c> in place (<see cref="Apply"/>). Each image's draws are a
/// pure function of the seed, the step and the image's index in the batch, so a run is reproducible, the same on every rank
/// of a data-parallel group, and nothing is allocated.
/// </summary>
/// <remarks>
/// With a crop, the training images are larger than the model's input: <c>Fit</c> crops every batch, and evaluates its
/// validation data on the centered windows (<see cref="CenterCrop"/>, which does the same for a test set; torchvision's
/// <c>CenterCrop</c>, the usual evaluation of a model trained on random crops, where Keras' layer instead resizes the image
/// at inference). A random crop
/// after zero padding by <c>p</c> (torchvision's <c>RandomCrop(size, padding=p)</c>, the CIFAR recipe) keeps the size: that is
/// a translation of up to <c>p</c> pixels with zero fill, <see cref="MaxShift"/>. Horizontal flips are off by default (they
/// turn digits into other shapes).
/// </remarks>
public sealed class Augmentation
{
    /// <summary>Creates an augmentation.</summary>
    /// <param name="maxShift">Each image moves by a whole number of pixels drawn uniformly from <c>[-maxShift, maxShift]</c> along each axis; the uncovered pixels become 0.</param>
    /// <param name="horizontalFlip">Whether each image is mirrored left to right with probability 1/2.</param>
    /// <param name="seed">The seed of every draw.</param>
    /// <param name="cropHeight">The height of the random window each training image is cropped to (the model's input height), or 0 for no crop.</param>
    /// <param name="cropWidth">The width of that window; 0 exactly when <paramref name="cropHeight"/> is.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxShift"/> or a crop size is negative, or one crop size is 0 and the other not.</exception>
    public Augmentation(int maxShift = 0, bool horizontalFlip = false, int seed = 0, int cropHeight = 0, int cropWidth = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxShift);
        ArgumentOutOfRangeException.ThrowIfNegative(cropHeight);
        ArgumentOutOfRangeException.ThrowIfNegative(cropWidth);
        if ((cropHeight == 0) != (cropWidth == 0))
            throw new ArgumentOutOfRangeException(cropHeight == 0 ? nameof(cropHeight) : nameof(cropWidth),
                $"cropHeight is {cropHeight} and cropWidth {cropWidth}; give both (the window's size) or neither (no crop).");
        (MaxShift, HorizontalFlip, Seed, CropHeight, CropWidth) = (maxShift, horizontalFlip, seed, cropHeight, cropWidth);
    }

    /// <summary>The largest shift, in pixels, along each axis.</summary>
    public int MaxShift { get; }

    /// <summary>Whether images are mirrored left to right half of the time.</summary>
    public bool HorizontalFlip { get; }

    /// <summary>The seed of every draw.</summary>
    public int Seed { get; }

    /// <summary>The height of the random crop window, 0 without a crop.</summary>
    public int CropHeight { get; }

    /// <summary>The width of the random crop window, 0 without a crop.</summary>
    public int CropWidth { get; }

    /// <summary>Whether training images are cropped to a random window (<see cref="CropHeight"/> by <see cref="CropWidth"/>).</summary>
    public bool Crops => CropHeight > 0;

    /// <summary>
    /// Fills every sample <c>i</c> of <paramref name="batch"/> (shape <c>[N, CropHeight, CropWidth, C]</c>) with a window of
    /// image <c>indices[i]</c> of <paramref name="images"/> (shape <c>[M, H, W, C]</c>, at least the window's size), at the
    /// place drawn for step <paramref name="step"/> and index <c>i</c>, every place equally likely. Allocation-free.
    /// </summary>
    /// <exception cref="InvalidOperationException">This augmentation does not crop.</exception>
    /// <exception cref="ShapeMismatchException">The shapes are not as above, or <paramref name="indices"/> has not one index per sample.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is not an image of <paramref name="images"/>.</exception>
    public void CropInto(Tensor images, ReadOnlySpan<int> indices, Tensor batch, long step)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(batch);
        if (!Crops) throw new InvalidOperationException($"{this} does not crop: give cropHeight and cropWidth.");
        CheckCroppable(images.Shape, nameof(images));
        var shape = images.Shape;
        int h = shape[1], w = shape[2], c = shape[3];
        var given = batch.Shape;
        if (given.Rank != 4 || given[0] != indices.Length || given[1] != CropHeight || given[2] != CropWidth || given[3] != c)
            throw new ShapeMismatchException(nameof(batch), new Shape(indices.Length, CropHeight, CropWidth, c).ToString(), given.ToString(),
                "Augmentation.CropInto writes one window per index");
        int row = CropWidth * c, size = h * w * c;
        var source = images.Span;
        var destination = batch.Span;
        for (int i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)shape[0])
                throw new ArgumentOutOfRangeException(nameof(indices), indices[i], $"indices[{i}] is {indices[i]}; expected an image of images, in [0, {shape[0] - 1}].");
            ulong draw = Mix((ulong)(uint)Seed ^ CropSalt, (ulong)step, (ulong)i);
            int top = (int)(draw % (ulong)(h - CropHeight + 1)), left = (int)((draw >> 32) % (ulong)(w - CropWidth + 1));
            var image = source.Slice(indices[i] * size, size);
            for (int y = 0; y < CropHeight; y++)
                image.Slice(((top + y) * w + left) * c, row).CopyTo(destination.Slice((i * CropHeight + y) * row, row));
        }
    }

    /// <summary>
    /// The centered window of every image (shape <c>[N, H, W, C]</c>, at least the window's size; an odd margin leaves its extra
    /// row or column after the window, as <c>tf.image.resize_with_crop_or_pad</c>): what a model trained with this crop is
    /// evaluated on. Without a crop, <paramref name="images"/> itself.
    /// </summary>
    /// <exception cref="ShapeMismatchException"><paramref name="images"/> is not a batch of images at least the window's size.</exception>
    public Tensor CenterCrop(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (!Crops) return images;
        CheckCroppable(images.Shape, nameof(images));
        var shape = images.Shape;
        int n = shape[0], h = shape[1], w = shape[2], c = shape[3];
        int top = (h - CropHeight) / 2, left = (w - CropWidth) / 2, row = CropWidth * c;
        var result = new Tensor(new Shape(n, CropHeight, CropWidth, c));
        var source = images.Span;
        var destination = result.Span;
        for (int i = 0; i < n; i++)
            for (int y = 0; y < CropHeight; y++)
                source.Slice(((i * h + top + y) * w + left) * c, row).CopyTo(destination.Slice((i * CropHeight + y) * row, row));
        return result;
    }

    /// <summary>Fails unless <paramref name="shape"/> is a batch of images <c>[N, H, W, C]</c> with <c>H, W</c> at least the window's.</summary>
    internal void CheckCroppable(Shape shape, string paramName)
    {
        if (shape.Rank != 4 || shape[1] < CropHeight || shape[2] < CropWidth)
            throw new ShapeMismatchException(paramName, $"[batch, height >= {CropHeight}, width >= {CropWidth}, channels]", shape.ToString(),
                $"{this} crops {CropHeight}x{CropWidth} windows out of larger images");
    }

    // Crop places come from a hash of their own, so adding a crop leaves a run's shifts and flips as they were.
    private const ulong CropSalt = 0xC3A5C85C97CB3127UL;

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
    public override string ToString() =>
        $"Augmentation(maxShift: {MaxShift}, horizontalFlip: {HorizontalFlip}, seed: {Seed}{(Crops ? $", cropHeight: {CropHeight}, cropWidth: {CropWidth}" : "")})";
}
