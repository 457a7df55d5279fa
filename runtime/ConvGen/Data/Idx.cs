using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Numerics;

namespace ConvGen.Data;

/// <summary>
/// Images read from an IDX file of unsigned bytes with three dimensions <c>[count, rows, columns]</c>
/// (magic number <c>0x00000803</c>), such as <c>train-images-idx3-ubyte</c>.
/// </summary>
public sealed class IdxImages
{
    /// <summary>Wraps already-validated pixel data; <paramref name="pixels"/> must hold <c>count * rows * columns</c> bytes.</summary>
    /// <exception cref="ArgumentException">A dimension is not positive or the pixel array has the wrong length.</exception>
    public IdxImages(int count, int rows, int columns, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if ((long)count * rows * columns != pixels.Length)
            throw new ArgumentException($"{count} x {rows} x {columns} images need {(long)count * rows * columns} bytes, but the array has {pixels.Length}.", nameof(pixels));
        Count = count;
        Rows = rows;
        Columns = columns;
        Pixels = pixels;
    }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Height of each image in pixels.</summary>
    public int Rows { get; }

    /// <summary>Width of each image in pixels.</summary>
    public int Columns { get; }

    /// <summary>The pixels, image after image, each image row-major; <c>Count * Rows * Columns</c> bytes.</summary>
    public byte[] Pixels { get; }
}

/// <summary>
/// Reader for the IDX format used by MNIST: a big-endian header (two zero bytes, a type byte, a dimension count,
/// then one big-endian int32 per dimension) followed by the elements. Only unsigned-byte data (type <c>0x08</c>) is supported.
/// Files may be raw or gzip-compressed; gzip is recognised by its <c>1f 8b</c> header, not by the file name.
/// </summary>
/// <remarks>
/// Every malformed input is reported as an <see cref="InvalidDataException"/> whose message names the file, what was expected and what was found.
/// The reader never trusts the header's sizes for allocation: a raw file's data length is checked against the file length before
/// any buffer is allocated, and compressed (or unseekable) data is read in growing chunks capped at the size the header claims,
/// so a header claiming billions of elements fails after reading only what the file actually holds.
/// </remarks>
public static class Idx
{
    /// <summary>Magic number of an IDX file of unsigned bytes with three dimensions (images).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an IDX file of unsigned bytes with one dimension (labels).</summary>
    public const int LabelsMagic = 0x00000801;

    private const byte UnsignedByteType = 0x08;
    private const int FirstChunk = 64 * 1024;

    /// <summary>Reads an image file (<c>[count, rows, columns]</c> unsigned bytes), raw or gzip-compressed.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid IDX image file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IdxImages ReadImages(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = OpenRead(path);
        return ReadImages(stream, path);
    }

    /// <summary>Reads an image IDX file (raw or gzip-compressed) from <paramref name="stream"/>; <paramref name="name"/> is used in error messages.</summary>
    /// <exception cref="InvalidDataException">The data is not a valid IDX image file.</exception>
    public static IdxImages ReadImages(Stream stream, string name)
    {
        var (dims, data) = Read(stream, name, expectedRank: 3, "images [count, rows, columns]");
        return new IdxImages(dims[0], dims[1], dims[2], data);
    }

    /// <summary>Reads a label file (<c>[count]</c> unsigned bytes), raw or gzip-compressed.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid IDX label file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static byte[] ReadLabels(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = OpenRead(path);
        return ReadLabels(stream, path);
    }

    /// <summary>Reads a label IDX file (raw or gzip-compressed) from <paramref name="stream"/>; <paramref name="name"/> is used in error messages.</summary>
    /// <exception cref="InvalidDataException">The data is not a valid IDX label file.</exception>
    public static byte[] ReadLabels(Stream stream, string name)
    {
        var (_, data) = Read(stream, name, expectedRank: 1, "labels [count]");
        return data;
    }

    private static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);

    private static (int[] Dims, byte[] Data) Read(Stream stream, string name, int expectedRank, string layout)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (!stream.CanRead) throw new ArgumentException("The stream is not readable.", nameof(stream));

        // Sniff the first two bytes for the gzip signature without requiring a seekable stream.
        Span<byte> sniff = stackalloc byte[2];
        int sniffed = ReadAtMost(stream, sniff);
        byte[] prefix = sniff[..sniffed].ToArray();
        bool gzip = sniffed == 2 && prefix[0] == 0x1f && prefix[1] == 0x8b;

        Stream source = new PrefixedStream(prefix, stream);
        if (gzip) source = new GZipStream(source, CompressionMode.Decompress, leaveOpen: false);
        string what = gzip ? "the decompressed data" : "the file";

        try
        {
            return ReadBody(source, name, expectedRank, layout, gzip, what, stream);
        }
        catch (InvalidDataException e) when (gzip && !e.Message.StartsWith(name, StringComparison.Ordinal))
        {
            // GZipStream reports a corrupt deflate stream without naming the file.
            throw new InvalidDataException($"{name}: the gzip data is corrupt: {e.Message}", e);
        }
        finally
        {
            if (gzip) source.Dispose(); // PrefixedStream does not dispose the caller's stream.
        }
    }

    private static (int[] Dims, byte[] Data) ReadBody(Stream source, string name, int expectedRank, string layout, bool gzip, string what, Stream original)
    {
        Span<byte> magic = stackalloc byte[4];
        int got = ReadAtMost(source, magic);
        if (got < 4)
            throw new InvalidDataException($"{name}: expected a 4-byte IDX magic number, but {what} has only {got} byte{(got == 1 ? "" : "s")}.");
        if (magic[0] != 0 || magic[1] != 0)
            throw new InvalidDataException($"{name}: not an IDX file: it starts with 0x{magic[0]:x2} 0x{magic[1]:x2} 0x{magic[2]:x2} 0x{magic[3]:x2}, expected 0x00 0x00 then a type byte and a dimension count (or the gzip signature 0x1f 0x8b).");
        if (magic[2] != UnsignedByteType)
            throw new InvalidDataException($"{name}: IDX element type is 0x{magic[2]:x2} ({TypeName(magic[2])}), expected 0x08 (unsigned byte).");
        int rank = magic[3];
        if (rank != expectedRank)
            throw new InvalidDataException($"{name}: IDX file has {rank} dimension{(rank == 1 ? "" : "s")} (magic 0x{BinaryPrimitives.ReadInt32BigEndian(magic):x8}), expected {expectedRank} for {layout} (magic 0x{(UnsignedByteType << 8) | expectedRank:x8}).");

        int headerBytes = 4 + 4 * rank;
        Span<byte> dimBytes = stackalloc byte[4 * rank];
        got = ReadAtMost(source, dimBytes);
        if (got < dimBytes.Length)
            throw new InvalidDataException($"{name}: header declares {rank} dimension{(rank == 1 ? "" : "s")}, which needs a {headerBytes}-byte header, but {what} ends after {4 + got} bytes.");

        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(dimBytes.Slice(4 * i, 4));
        for (int i = 0; i < rank; i++)
        {
            if (dims[i] <= 0)
                throw new InvalidDataException($"{name}: header says {string.Join(" x ", dims)}, but dimension {i} of {layout} must be positive, not {dims[i]}.");
        }
        BigInteger product = BigInteger.One;
        foreach (int d in dims) product *= d;
        if (product > Array.MaxLength)
            throw new InvalidDataException($"{name}: header says {string.Join(" x ", dims)} = {product} bytes of data, more than the {Array.MaxLength} bytes an array can hold.");
        long size = (long)product;

        int claimed = (int)size;
        string claim = $"header says {string.Join(" x ", dims)} = {claimed} bytes of data";

        if (!gzip && original.CanSeek)
        {
            // Raw seekable file: compare with the real length before allocating anything.
            long remaining;
            try { remaining = original.Length - original.Position; }
            catch (NotSupportedException) { remaining = -1; }
            if (remaining >= 0 && remaining != claimed)
                throw new InvalidDataException($"{name}: {claim}, but the file has {remaining} bytes after the {headerBytes}-byte header.");
            if (remaining >= 0)
            {
                var exact = new byte[claimed];
                int n = ReadAtMost(source, exact);
                if (n != claimed)
                    throw new InvalidDataException($"{name}: {claim}, but only {n} bytes could be read after the {headerBytes}-byte header.");
                return (dims, exact);
            }
        }

        // Compressed or unseekable: grow the buffer as data actually arrives, never beyond the claim.
        byte[] buffer = new byte[Math.Min(claimed, FirstChunk)];
        int filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                if (filled == claimed) break;
                int next = (int)Math.Min(claimed, Math.Max((long)buffer.Length * 2, FirstChunk));
                Array.Resize(ref buffer, next);
            }
            int n = source.Read(buffer, filled, buffer.Length - filled);
            if (n == 0)
                throw new InvalidDataException($"{name}: {claim}, but {what} has only {filled} bytes after the {headerBytes}-byte header.");
            filled += n;
        }
        Span<byte> probe = stackalloc byte[1];
        if (ReadAtMost(source, probe) != 0)
            throw new InvalidDataException($"{name}: {claim}, but {what} has more than {claimed} bytes after the {headerBytes}-byte header.");
        return (dims, buffer);
    }

    private static string TypeName(byte type) => type switch
    {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "unknown type",
    };

    private static int ReadAtMost(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>A read-only stream that yields a few already-consumed bytes and then the rest of the inner stream (which it does not dispose).</summary>
    private sealed class PrefixedStream : Stream
    {
        private readonly byte[] _prefix;
        private readonly Stream _inner;
        private int _prefixPosition;

        public PrefixedStream(byte[] prefix, Stream inner)
        {
            _prefix = prefix;
            _inner = inner;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (buffer.IsEmpty) return 0;
            if (_prefixPosition < _prefix.Length)
            {
                int n = Math.Min(buffer.Length, _prefix.Length - _prefixPosition);
                _prefix.AsSpan(_prefixPosition, n).CopyTo(buffer);
                _prefixPosition += n;
                return n;
            }
            return _inner.Read(buffer);
        }
    }
}
