using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using ConvGen.Data;
using ConvGen.Runtime.Tests.Data;
using ConvGen.Runtime.Tests.Layers;
using ConvGen.Runtime.Tests.Support;
using ConvGen.Serialization;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Runtime.Tests.Fuzz;

/// <summary>
/// Seeded fuzzing of the two file readers. Every corrupted, truncated or hostile file must either load exactly what it holds
/// (only possible when the mutation left a valid file: for weights, one whose CRC-32 matches) or throw
/// <see cref="InvalidDataException"/> with a message that starts with the file's name. Nothing else is allowed: no
/// IndexOutOfRange, NullReference, Overflow, OutOfMemory, EndOfStream. Each load's managed allocation is measured and must stay
/// within a bound proportional to the bytes the file really holds (stated on each reader's bound below).
/// </summary>
public sealed class FileFuzzTests(ITestOutputHelper output)
{
    private const string Name = "fuzzed";

    /// <summary>Fixed overhead of one load: the exception, its message and stack trace, the reader's small objects.</summary>
    private const long FixedOverhead = 32 * 1024;

    /// <summary>
    /// Weights files: at most <c>24 × file length + 32 KiB</c>. Tensor data is at most the file's length; the 24 covers the
    /// per-tensor objects (name, shape, tensor, list and set entries) of a file made of many one-float tensors (13-byte records).
    /// </summary>
    private const long WeightsBytesPerFileByte = 24;

    /// <summary>
    /// IDX files: raw and seekable, <c>file length + 32 KiB</c> (the data array is allocated only once the file's length
    /// matches the header); unseekable or gzip, <c>2 × bytes actually read + 64 KiB first chunk + 32 KiB</c>, plus GZipStream's buffers.
    /// </summary>
    private const long IdxChunkOverhead = 64 * 1024 + 16 * 1024;

    // ------------------------------------------------------------------ weights files

    [Fact]
    public void Thousands_of_corrupted_weights_files_load_exactly_or_fail_cleanly_within_the_allocation_bound()
    {
        var stats = new Stats(output);
        var rng = new Random(7_2024);
        foreach (var (baseName, good) in WeightsBases())
        {
            for (int length = 0; length < good.Length; length++)
                CheckWeights(stats, "truncate", good[..length]);

            for (int i = 0; i < 600; i++)
            {
                var bad = (byte[])good.Clone();
                bad[rng.Next(bad.Length)] ^= (byte)(1 << rng.Next(8));
                CheckWeights(stats, "flip bit", bad);
            }
            for (int i = 0; i < 300; i++)
            {
                var bad = (byte[])good.Clone();
                int flips = 2 + rng.Next(8);
                for (int f = 0; f < flips; f++) bad[rng.Next(bad.Length)] = (byte)rng.Next(256);
                CheckWeights(stats, "random bytes", bad);
            }

            // Every header field (magic, version, count, name lengths, ranks, dimensions) set to hostile values, both with the
            // stale checksum and with the checksum recomputed, so the structural checks, not the CRC, have to catch it.
            foreach (var (offset, field) in WeightsFields(good))
            {
                foreach (int value in HostileInts)
                {
                    var bad = (byte[])good.Clone();
                    if (BinaryPrimitives.ReadInt32LittleEndian(bad.AsSpan(offset)) == value) continue;
                    BinaryPrimitives.WriteInt32LittleEndian(bad.AsSpan(offset), value);
                    CheckWeights(stats, $"header field ({field})", bad);
                    CheckWeights(stats, $"header field, CRC fixed ({field})", FixCrc(bad));
                }
            }

            for (int i = 0; i < 100; i++)
            {
                int at = rng.Next(good.Length + 1);
                CheckWeights(stats, "insert", [.. good[..at], .. RandomBytes(rng, 1 + rng.Next(16)), .. good[at..]]);
                int cut = rng.Next(good.Length);
                CheckWeights(stats, "delete", [.. good[..cut], .. good[Math.Min(good.Length, cut + 1 + rng.Next(16))..]]);
                CheckWeights(stats, "append", [.. good, .. RandomBytes(rng, 1 + rng.Next(64))]);
            }
            output.WriteLine($"base {baseName}: {good.Length} bytes");
        }

        foreach (var (why, bytes) in HostileWeights())
            CheckWeights(stats, $"hostile: {why}", bytes);

        stats.Report("weights");
        Assert.True(stats.Total >= 5000, $"only {stats.Total} weights files fuzzed");
        Assert.True(stats.Loaded > 0, "no harmless mutation loaded: the fuzz should include some");
    }

    private static readonly int[] HostileInts = [0, -1, int.MinValue, int.MaxValue, 2_000_000_000, 1 << 30, 65536, 17, 1];

    private static IEnumerable<(string Name, byte[] Bytes)> WeightsBases()
    {
        yield return ("small model", WeightsBytes(
        [
            ("conv2d/kernel", TestData.Tensor(1, 3, 3, 1, 4)),
            ("conv2d/bias", TestData.Tensor(2, 4)),
            ("dense/kernel", TestData.Tensor(3, 12, 8)),
            ("dense/bias", TestData.Tensor(4, 8)),
        ]));
        // Many one-float tensors: the most objects per byte a valid file can ask for.
        yield return ("many scalars", WeightsBytes(Enumerable.Range(0, 40)
            .Select(i => (((char)('A' + i % 26)).ToString() + (i / 26 == 0 ? "" : "1"), i % 2 == 0 ? TestData.Tensor(i, 1) : TestData.Tensor(i, Array.Empty<int>())))
            .ToList()));
        yield return ("empty", WeightsBytes([]));
    }

    /// <summary>Hand-built files whose headers lie: billions of elements, overflowing products, wrong magic and version.</summary>
    private static IEnumerable<(string Why, byte[] Bytes)> HostileWeights()
    {
        yield return ("wrong magic", [.. "CGWX"u8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        yield return ("zip file", [.. "PK\u0003\u0004"u8, .. new byte[40]]);
        yield return ("version 2", WithHeader(2, 0, []));
        foreach (int[] dims in new[] { new[] { 50_000, 50_000 }, new[] { 65536, 65536, 65536 }, new[] { int.MaxValue, int.MaxValue, int.MaxValue, 2 }, new[] { 1 << 30, 4 }, new[] { 2_000_000_000 } })
        {
            yield return ($"dims {string.Join("x", dims)}", FixCrc(WithHeader(1, 1, Record("a", dims, floats: 3))));
            yield return ($"dims {string.Join("x", dims)}, stale CRC", WithHeader(1, 1, Record("a", dims, floats: 3)));
        }
        yield return ("a billion tensors", FixCrc(WithHeader(1, 1_000_000_000, Record("a", [1], floats: 1))));
        yield return ("rank 1000", FixCrc(WithHeader(1, 1, Record("a", new int[1000], floats: 0))));
        yield return ("name of 2 GB", FixCrc(WithHeader(1, 1, [.. BitConverter.GetBytes(int.MaxValue), .. "abc"u8])));
        // Valid, and the most objects per byte a file can ask for: 5,000 rank-0 tensors of one float each.
        yield return ("5,000 one-float tensors", WeightsBytes(Enumerable.Range(0, 5000).Select(i => (i.ToString("x", System.Globalization.CultureInfo.InvariantCulture), TestData.Tensor(i, Array.Empty<int>()))).ToList()));
    }

    private static byte[] WithHeader(uint version, int count, byte[] body)
    {
        var s = new MemoryStream();
        var w = new BinaryWriter(s);
        w.Write("CGWT"u8);
        w.Write(version);
        w.Write(count);
        w.Write(body);
        w.Write(0u);
        return s.ToArray();
    }

    private static byte[] Record(string name, int[] dims, int floats)
    {
        var s = new MemoryStream();
        var w = new BinaryWriter(s);
        w.Write(Encoding.UTF8.GetByteCount(name));
        w.Write(Encoding.UTF8.GetBytes(name));
        w.Write(dims.Length);
        foreach (int d in dims) w.Write(d);
        for (int i = 0; i < floats; i++) w.Write(1f);
        return s.ToArray();
    }

    /// <summary>The offsets of every structural int32 of a valid weights file, found by walking its layout.</summary>
    private static IEnumerable<(int Offset, string Field)> WeightsFields(byte[] file)
    {
        yield return (0, "magic");
        yield return (4, "version");
        yield return (8, "count");
        int count = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(8));
        int at = 12;
        for (int i = 0; i < count; i++)
        {
            yield return (at, "name length");
            at += 4 + BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at));
            yield return (at, "rank");
            int rank = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at));
            at += 4;
            long size = 1;
            for (int d = 0; d < rank; d++, at += 4)
            {
                yield return (at, "dimension");
                size *= BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at));
            }
            at += (int)size * 4;
        }
        yield return (at, "checksum");
    }

    private static byte[] FixCrc(byte[] file)
    {
        if (file.Length < 4) return file;
        var fixedFile = (byte[])file.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(fixedFile.AsSpan(file.Length - 4), System.IO.Hashing.Crc32.HashToUInt32(file.AsSpan(0, file.Length - 4)));
        return fixedFile;
    }

    private static void CheckWeights(Stats stats, string kind, byte[] bytes)
    {
        Exception? error = null;
        IReadOnlyList<(string Name, Tensor Tensor)>? loaded = null;
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            loaded = WeightsFile.Load(new MemoryStream(bytes, writable: false), Name);
        }
        catch (Exception e)
        {
            error = e;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long bound = WeightsBytesPerFileByte * bytes.Length + FixedOverhead;
        stats.Add(kind, bytes, loaded is not null, allocated, bound);

        if (error is not null)
        {
            // The one documented failure: InvalidDataException, naming the file.
            if (error is not InvalidDataException || !error.Message.StartsWith(Name + ": ", StringComparison.Ordinal))
                stats.Fail(kind, bytes, $"threw {error.GetType().Name}: {error.Message}");
        }
        else if (!WeightsBytes(loaded!).AsSpan().SequenceEqual(bytes))
        {
            // It loaded: then the file must be exactly what those tensors save to.
            stats.Fail(kind, bytes, "loaded, but the tensors do not save back to the same bytes");
        }
        if (allocated > bound)
            stats.Fail(kind, bytes, $"allocated {allocated} bytes for a {bytes.Length}-byte file, more than the bound {bound}");
    }

    // ------------------------------------------------------------------ IDX files

    [Fact]
    public void Thousands_of_corrupted_IDX_files_load_exactly_or_fail_cleanly_within_the_allocation_bound()
    {
        var stats = new Stats(output);
        var rng = new Random(11_2024);
        var bases = new (string Name, byte[] Raw, bool Images)[]
        {
            ("images 3x4x5", IdxTests.ImageFile(3, 4, 5), true),
            ("labels 12", IdxTests.LabelFile([.. Enumerable.Range(0, 12).Select(i => (byte)i)]), false),
        };
        foreach (var (_, raw, images) in bases)
        {
            var gz = IdxTests.Gzip(raw);
            for (int length = 0; length < raw.Length; length++) CheckIdx(stats, "truncate raw", raw[..length], images);
            for (int length = 0; length < gz.Length; length++) CheckIdx(stats, "truncate gzip", gz[..length], images);

            for (int i = 0; i < 400; i++)
            {
                var bad = (byte[])raw.Clone();
                bad[rng.Next(bad.Length)] ^= (byte)(1 << rng.Next(8));
                CheckIdx(stats, "flip bit raw", bad, images);
                var badGz = (byte[])gz.Clone();
                badGz[rng.Next(badGz.Length)] ^= (byte)(1 << rng.Next(8));
                CheckIdx(stats, "flip bit gzip", badGz, images);
            }

            // Every header byte of the magic (zero bytes, type, rank) set to every value.
            for (int at = 0; at < 4; at++)
            {
                for (int value = 0; value < 256; value++)
                {
                    if (raw[at] == value) continue;
                    var bad = (byte[])raw.Clone();
                    bad[at] = (byte)value;
                    CheckIdx(stats, "magic byte", bad, images);
                }
            }

            // Every dimension set to hostile values, raw and recompressed: negative, zero, billions, overflowing products.
            int rank = raw[3];
            for (int d = 0; d < rank; d++)
            {
                foreach (int value in HostileInts.Concat([int.MaxValue / 2, 3 * 65536]))
                {
                    var bad = (byte[])raw.Clone();
                    BinaryPrimitives.WriteInt32BigEndian(bad.AsSpan(4 + 4 * d), value);
                    CheckIdx(stats, "dimension", bad, images);
                    CheckIdx(stats, "dimension, gzip", IdxTests.Gzip(bad), images);
                }
            }

            for (int i = 0; i < 100; i++)
            {
                int at = rng.Next(raw.Length + 1);
                CheckIdx(stats, "insert", [.. raw[..at], .. RandomBytes(rng, 1 + rng.Next(8)), .. raw[at..]], images);
                CheckIdx(stats, "append gzip", IdxTests.Gzip([.. raw, .. RandomBytes(rng, 1 + rng.Next(8))]), images);
                CheckIdx(stats, "random bytes gzip", [0x1f, 0x8b, .. RandomBytes(rng, 1 + rng.Next(64))], images);
            }
        }

        foreach (var (why, bytes, images) in HostileIdx())
            CheckIdx(stats, $"hostile: {why}", bytes, images);

        stats.Report("IDX");
        Assert.True(stats.Total >= 3000, $"only {stats.Total} IDX files fuzzed");
        Assert.True(stats.Loaded > 0, "no harmless mutation loaded: the fuzz should include some");
    }

    private static IEnumerable<(string Why, byte[] Bytes, bool Images)> HostileIdx()
    {
        foreach (int[] dims in new[] { new[] { 60000, 65536, 65536 }, new[] { int.MaxValue, int.MaxValue, int.MaxValue }, new[] { 2_000_000_000, 1, 1 }, new[] { 1, 46341, 46341 } })
        {
            var header = IdxTests.Header(Idx.ImagesMagic, dims);
            yield return ($"images {string.Join("x", dims)}", [.. header, .. new byte[100]], true);
            yield return ($"images {string.Join("x", dims)}, gzip", IdxTests.Gzip([.. header, .. new byte[100]]), true);
        }
        yield return ("2e9 labels", [.. IdxTests.Header(Idx.LabelsMagic, 2_000_000_000), .. new byte[100]], false);
        yield return ("2e9 labels, gzip", IdxTests.Gzip([.. IdxTests.Header(Idx.LabelsMagic, 2_000_000_000), .. new byte[100]]), false);
        yield return ("rank 255", [0, 0, 8, 255, .. new byte[64]], true);
        yield return ("gzip bomb: 1 MB for 10 labels", IdxTests.Gzip([.. IdxTests.Header(Idx.LabelsMagic, 10), .. new byte[1_000_000]]), false);
        yield return ("empty gzip member", IdxTests.Gzip([]), false);
    }

    private static void CheckIdx(Stats stats, string kind, byte[] bytes, bool images)
    {
        var expected = ReferenceIdx(bytes, images ? 3 : 1);
        CheckIdxOnce(stats, kind, bytes, images, expected, new MemoryStream(bytes, writable: false));
        CheckIdxOnce(stats, kind + ", unseekable", bytes, images, expected, new UnseekableStream(bytes));
    }

    private static void CheckIdxOnce(Stats stats, string kind, byte[] bytes, bool images, byte[]? expected, Stream stream)
    {
        Exception? error = null;
        byte[]? data = null;
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            data = images ? Idx.ReadImages(stream, Name).Pixels : Idx.ReadLabels(stream, Name);
        }
        catch (Exception e)
        {
            error = e;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        bool gzip = bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
        bool seekableRaw = !gzip && stream.CanSeek;
        long read = gzip ? DecompressedLength(bytes) : bytes.Length;
        long bound = seekableRaw ? bytes.Length + FixedOverhead : 2 * read + IdxChunkOverhead + FixedOverhead + (gzip ? 64 * 1024 : 0);
        stats.Add(kind, bytes, data is not null, allocated, bound);

        if (error is not null)
        {
            if (error is not InvalidDataException || !error.Message.StartsWith(Name + ": ", StringComparison.Ordinal))
                stats.Fail(kind, bytes, $"threw {error.GetType().Name}: {error.Message}");
            else if (expected is not null)
                stats.Fail(kind, bytes, $"rejected a valid file: {error.Message}");
        }
        else if (expected is null)
        {
            stats.Fail(kind, bytes, "loaded a file the reference parser rejects");
        }
        else if (!data!.AsSpan().SequenceEqual(expected))
        {
            stats.Fail(kind, bytes, "loaded different data than the file holds");
        }
        if (allocated > bound)
            stats.Fail(kind, bytes, $"allocated {allocated} bytes for a {bytes.Length}-byte file ({read} bytes of content), more than the bound {bound}");
    }

    /// <summary>An independent IDX parser: the data if <paramref name="bytes"/> is a valid unsigned-byte IDX file of <paramref name="rank"/> dimensions (raw or gzip), else null.</summary>
    private static byte[]? ReferenceIdx(byte[] bytes, int rank)
    {
        if (bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            try
            {
                using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                var raw = new MemoryStream();
                gz.CopyTo(raw);
                bytes = raw.ToArray();
            }
            catch (InvalidDataException)
            {
                return null;
            }
        }
        int header = 4 + 4 * rank;
        if (bytes.Length < header || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 8 || bytes[3] != rank) return null;
        long size = 1;
        for (int d = 0; d < rank; d++)
        {
            int dim = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            if (dim < 1) return null;
            size *= dim;
            if (size > bytes.Length) return null;
        }
        return bytes.Length - header == size ? bytes[header..] : null;
    }

    /// <summary>How many bytes a gzip stream yields before it ends or turns out corrupt (at most 64 MB).</summary>
    private static long DecompressedLength(byte[] gzip)
    {
        long total = 0;
        var buffer = new byte[8192];
        try
        {
            using var gz = new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress);
            int n;
            while ((n = gz.Read(buffer)) > 0 && total < 64 << 20) total += n;
        }
        catch (InvalidDataException)
        {
        }
        return total;
    }

    // ------------------------------------------------------------------ helpers

    private static byte[] WeightsBytes(IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        var stream = new MemoryStream();
        WeightsFile.Save(stream, tensors);
        return stream.ToArray();
    }

    private static byte[] RandomBytes(Random rng, int n)
    {
        var bytes = new byte[n];
        rng.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Counts cases by mutation kind, records failures (reported together), and tracks the allocation headroom.</summary>
    private sealed class Stats(ITestOutputHelper output)
    {
        private readonly SortedDictionary<string, int> _kinds = new(StringComparer.Ordinal);
        private readonly List<string> _failures = [];
        private double _worstRatio;
        private string _worst = "";

        public int Total { get; private set; }

        public int Loaded { get; private set; }

        public void Add(string kind, byte[] bytes, bool loaded, long allocated, long bound)
        {
            string group = kind.Contains(" (") ? kind[..kind.IndexOf(" (", StringComparison.Ordinal)] : kind;
            _kinds[group] = _kinds.GetValueOrDefault(group) + 1;
            Total++;
            if (loaded) Loaded++;
            double ratio = (double)allocated / bound;
            if (ratio > _worstRatio) (_worstRatio, _worst) = (ratio, $"{kind}: {allocated} bytes allocated for {bytes.Length} file bytes, bound {bound}");
        }

        public void Fail(string kind, byte[] bytes, string what)
        {
            if (_failures.Count < 20) _failures.Add($"{kind} ({bytes.Length} bytes: {Convert.ToHexString(bytes.AsSpan(0, Math.Min(48, bytes.Length)))}): {what}");
            else if (_failures.Count == 20) _failures.Add("...");
        }

        public void Report(string what)
        {
            output.WriteLine($"{what}: {Total} files fuzzed, {Loaded} loaded (harmless mutations), {Total - Loaded} rejected");
            foreach (var (kind, n) in _kinds) output.WriteLine($"  {kind}: {n}");
            output.WriteLine($"  closest to the allocation bound: {_worstRatio:P1} of it ({_worst})");
            Assert.True(_failures.Count == 0, string.Join(Environment.NewLine, _failures));
        }
    }
}
