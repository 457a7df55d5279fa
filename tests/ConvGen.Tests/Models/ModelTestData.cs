using System;
using System.Linq;

namespace ConvGen.Tests.Models;

/// <summary>Seeded random images and bit-exact views of weights and outputs, for the model tests.</summary>
internal static class ModelTestData
{
    /// <summary><paramref name="count"/> random 28x28x1 images in [0, 1) with labels 0-3.</summary>
    public static (Tensor Images, int[] Labels) RandomImages(int count, int seed)
    {
        var rng = new Random(seed);
        var images = new Tensor(new Shape(count, 28, 28, 1));
        var span = images.Span;
        for (int i = 0; i < span.Length; i++) span[i] = rng.NextSingle();
        return (images, Enumerable.Range(0, count).Select(_ => rng.Next(4)).ToArray());
    }

    /// <summary>The bit patterns of every weight, so comparisons tell -0 from 0 and NaN payloads apart.</summary>
    public static int[] WeightBits(Sequential model) => model.Parameters.SelectMany(p => Bits(p.Value)).ToArray();

    /// <summary>The bit patterns of a tensor's elements.</summary>
    public static int[] Bits(Tensor tensor) => tensor.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();
}
