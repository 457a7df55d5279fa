using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using ConvGen.Data;
using ConvGen.Runtime.Tests.Support;
using Xunit;

namespace ConvGen.Runtime.Tests.Data;

public sealed class IdxTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("convgen-idx-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static byte[] Header(int magic, params int[] dims)
    {
        var header = new byte[4 + 4 * dims.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        return header;
    }

    internal static byte[] ImageFile(int count, int rows, int cols, Func<int, byte>? pixel = null)
    {
        var header = Header(Idx.ImagesMagic, count, rows, cols);
        var file = new byte[header.Length + count * rows * cols];
        header.CopyTo(file, 0);
        for (int i = 0; i < count * rows * cols; i++) file[header.Length + i] = pixel?.Invoke(i) ?? (byte)(i * 7);
        return file;
    }

    internal static byte[] LabelFile(params byte[] labels)
    {
        var header = Header(Idx.LabelsMagic, labels.Length);
        var file = new byte[header.Length + labels.Length];
        header.CopyTo(file, 0);
        labels.CopyTo(file, header.Length);
        return file;
    }

    internal static byte[] Gzip(byte[] data)
    {
        var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return output.ToArray();
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void ReadsRawImages()
    {
        string path = Write("images", ImageFile(3, 2, 4));
        var images = Idx.ReadImages(path);
        Assert.Equal((3, 2, 4), (images.Count, images.Rows, images.Columns));
        Assert.Equal(24, images.Pixels.Length);
        for (int i = 0; i < 24; i++) Assert.Equal((byte)(i * 7), images.Pixels[i]);
    }

    [Fact]
    public void ReadsGzipImagesAndLabelsRegardlessOfName()
    {
        var raw = ImageFile(5, 3, 3);
        string path = Write("images-without-gz-suffix", Gzip(raw));
        var images = Idx.ReadImages(path);
        Assert.Equal(5, images.Count);
        Assert.Equal(raw.AsSpan(16).ToArray(), images.Pixels);

        string labels = Write("labels.gz", Gzip(LabelFile(1, 2, 3, 9)));
        Assert.Equal(new byte[] { 1, 2, 3, 9 }, Idx.ReadLabels(labels));
    }

    [Fact]
    public void ReadsLargerGzipAcrossChunkBoundaries()
    {
        // 300 KB of pixels: more than the first 64 KB chunk, so the buffer has to grow.
        var raw = ImageFile(100, 50, 60, i => (byte)(i % 251));
        var images = Idx.ReadImages(new MemoryStream(Gzip(raw)), "big.gz");
        Assert.Equal(raw.AsSpan(16).ToArray(), images.Pixels);
    }

    [Fact]
    public void ReadsFromUnseekableStreams()
    {
        var raw = LabelFile(4, 5, 6);
        Assert.Equal(new byte[] { 4, 5, 6 }, Idx.ReadLabels(new UnseekableStream(raw, maxRead: 7), "pipe"));
        Assert.Equal(new byte[] { 4, 5, 6 }, Idx.ReadLabels(new UnseekableStream(Gzip(raw), maxRead: 7), "pipe.gz"));
        var truncated = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(new UnseekableStream(raw.AsSpan(0, 10).ToArray(), maxRead: 7), "pipe"));
        Assert.Contains("pipe: header says 3 = 3 bytes of data, but the file has only 2 bytes after the 8-byte header", truncated.Message);
    }

    [Fact]
    public void TruncatedDataNamesFileExpectedAndFound()
    {
        var full = ImageFile(10, 28, 28);
        string path = Write("t10k-images-idx3-ubyte", full.AsSpan(0, 16 + 1000).ToArray());
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path));
        Assert.Equal($"{path}: header says 10 x 28 x 28 = 7840 bytes of data, but the file has 1000 bytes after the 16-byte header.", e.Message);
    }

    [Fact]
    public void TrailingDataIsRejected()
    {
        var file = LabelFile(1, 2, 3);
        string path = Write("labels", [.. file, 0, 0]);
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(path));
        Assert.Contains("header says 3 = 3 bytes of data, but the file has 5 bytes after the 8-byte header", e.Message);

        string gz = Write("labels.gz", Gzip([.. file, 0, 0]));
        e = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(gz));
        Assert.Contains("the decompressed data has more than 3 bytes", e.Message);
    }

    [Fact]
    public void GzipTruncatedDataIsRejected()
    {
        string path = Write("images.gz", Gzip(ImageFile(4, 28, 28).AsSpan(0, 16 + 100).ToArray()));
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path));
        Assert.Contains($"{path}: header says 4 x 28 x 28 = 3136 bytes of data, but the decompressed data has only 100 bytes after the 16-byte header", e.Message);
    }

    [Fact]
    public void WrongMagicIsRejected()
    {
        var file = ImageFile(1, 2, 2);
        file[0] = 0x12;
        string path = Write("junk", file);
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not an IDX file: it starts with 0x12 0x00 0x08 0x03", e.Message);
    }

    [Fact]
    public void WrongElementTypeIsRejected()
    {
        var file = ImageFile(1, 2, 2);
        file[2] = 0x0D;
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(new MemoryStream(file), "floats"));
        Assert.Contains("floats: IDX element type is 0x0d (float32), expected 0x08 (unsigned byte)", e.Message);
    }

    [Fact]
    public void LabelsReadAsImagesAndViceVersaAreRejected()
    {
        string labels = Write("train-labels-idx1-ubyte", LabelFile(1, 2));
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(labels));
        Assert.Contains($"{labels}: IDX file has 1 dimension (magic 0x00000801), expected 3", e.Message);

        string images = Write("train-images-idx3-ubyte", ImageFile(1, 2, 2));
        e = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(images));
        Assert.Contains("has 3 dimensions (magic 0x00000803), expected 1", e.Message);
    }

    [Theory]
    [InlineData(0, 28, 28, 0)]
    [InlineData(10, -28, 28, 1)]
    [InlineData(10, 28, 0, 2)]
    public void NonPositiveDimensionsAreRejected(int n, int rows, int cols, int bad)
    {
        var file = Header(Idx.ImagesMagic, n, rows, cols);
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(new MemoryStream(file), "dims"));
        Assert.Contains($"dimension {bad} of images [count, rows, columns] must be positive", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(9)]
    [InlineData(15)]
    public void ShortHeadersAreRejected(int length)
    {
        var file = ImageFile(1, 1, 1).AsSpan(0, length).ToArray();
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(new MemoryStream(file), "short"));
        Assert.StartsWith("short: ", e.Message);
    }

    [Fact]
    public void EveryTruncationOfAValidFileIsRejected()
    {
        var file = ImageFile(2, 3, 3);
        for (int length = 0; length < file.Length; length++)
        {
            var cut = file.AsSpan(0, length).ToArray();
            Assert.Throws<InvalidDataException>(() => Idx.ReadImages(new MemoryStream(cut), "cut"));
            Assert.Throws<InvalidDataException>(() => Idx.ReadImages(new MemoryStream(Gzip(cut)), "cut.gz"));
        }
    }

    [Fact]
    public void HeaderClaimingMoreThanAnArrayCanHoldFailsWithoutAllocating()
    {
        var file = Header(Idx.ImagesMagic, 60000, 65536, 65536);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(new MemoryStream(file), "huge"));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        Assert.Contains("huge: header says 60000 x 65536 x 65536 = 257698037760000 bytes of data, more than the", e.Message);
    }

    [Fact]
    public void RawHeaderClaimingBillionsFailsBeforeAllocating()
    {
        // 2,000,000,000 labels claimed, 100 present.
        var file = new byte[8 + 100];
        Header(Idx.LabelsMagic, 2_000_000_000).CopyTo(file, 0);
        string path = Write("liar", file);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "allocated too much");
        Assert.Contains("header says 2000000000 = 2000000000 bytes of data, but the file has 100 bytes after the 8-byte header", e.Message);
    }

    [Fact]
    public void GzipHeaderClaimingBillionsFailsAfterReadingOnlyWhatIsThere()
    {
        var raw = new byte[8 + 1000];
        Header(Idx.ImagesMagic - 2, 2_000_000_000).CopyTo(raw, 0); // 0x00000801: labels
        var gz = Gzip(raw);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(new MemoryStream(gz), "liar.gz"));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "allocated too much");
        Assert.Contains("but the decompressed data has only 1000 bytes after the 8-byte header", e.Message);
    }

    [Fact]
    public void GzipBombIsCutOffAtTheClaimedSize()
    {
        // Header claims 10 labels; the stream decompresses to 10 MB.
        var raw = new byte[8 + 10_000_000];
        Header(Idx.LabelsMagic, 10).CopyTo(raw, 0);
        var gz = Gzip(raw);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(new MemoryStream(gz), "bomb.gz"));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 2 << 20, "allocated too much");
        Assert.Contains("has more than 10 bytes", e.Message);
    }

    [Fact]
    public void CorruptGzipIsReportedWithTheFileName()
    {
        var gz = Gzip(ImageFile(20, 10, 10));
        for (int i = 12; i < gz.Length - 8; i++) gz[i] ^= 0x5A;
        var e = Assert.ThrowsAny<InvalidDataException>(() => Idx.ReadImages(new MemoryStream(gz), "mangled.gz"));
        Assert.StartsWith("mangled.gz: ", e.Message);
    }

    [Fact]
    public void MissingFileThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => Idx.ReadLabels(Path.Combine(_dir, "nope")));
    }
}
