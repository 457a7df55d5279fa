using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using ConvGen.Serialization;
using Xunit;

namespace ConvGen.Runtime.Tests.Serialization;

public sealed class WeightsFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("convgen-weights-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static Tensor Filled(int seed, params int[] dims)
    {
        var shape = new Shape(dims);
        var rng = new Random(seed);
        var data = new float[shape.Size];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return new Tensor(shape, data);
    }

    private static List<(string Name, Tensor Tensor)> Model(int denseUnits = 8) =>
    [
        ("conv2d/kernel", Filled(1, 3, 3, 1, 4)),
        ("conv2d/bias", Filled(2, 4)),
        ("dense_1/kernel", Filled(3, 36, denseUnits)),
        ("dense_1/bias", Filled(4, denseUnits)),
    ];

    private static byte[] Bytes(IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        var stream = new MemoryStream();
        WeightsFile.Save(stream, tensors);
        return stream.ToArray();
    }

    private static void AssertSame(IReadOnlyList<(string Name, Tensor Tensor)> expected, IReadOnlyList<(string Name, Tensor Tensor)> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Name, actual[i].Name);
            Assert.Equal(expected[i].Tensor.Shape, actual[i].Tensor.Shape);
            var e = expected[i].Tensor.ToArray().Select(BitConverter.SingleToInt32Bits);
            var a = actual[i].Tensor.ToArray().Select(BitConverter.SingleToInt32Bits);
            Assert.Equal(e, a); // bit-exact, including NaN payloads and -0
        }
    }

    [Fact]
    public void RoundTripsNamesShapesAndExactBits()
    {
        var special = new Tensor(new Shape(2, 4), [float.NaN, -0f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, float.MaxValue, BitConverter.Int32BitsToSingle(0x7FC0_1234), 1e-40f]);
        var scalar = new Tensor(new Shape(Array.Empty<int>()));
        scalar.Span[0] = 42f;
        var tensors = Model().Concat([("spéciale/été ✓", special), ("scalar", scalar)]).ToList();

        string path = PathOf("model.cgw");
        WeightsFile.Save(path, tensors);
        AssertSame(tensors, WeightsFile.Load(path));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));
    }

    [Fact]
    public void RoundTripsAnEmptyList()
    {
        string path = PathOf("empty.cgw");
        WeightsFile.Save(path, []);
        Assert.Equal(16, new FileInfo(path).Length);
        Assert.Empty(WeightsFile.Load(path));
    }

    [Fact]
    public void SavesViewsWithoutTheRestOfTheirBuffer()
    {
        var buffer = Enumerable.Range(0, 20).Select(i => (float)i).ToArray();
        var view = new Tensor(new Shape(2, 3), buffer, 5);
        var loaded = WeightsFile.Load(new MemoryStream(Bytes([("v", view)])), "mem");
        Assert.Equal(new float[] { 5, 6, 7, 8, 9, 10 }, loaded[0].Tensor.ToArray());
    }

    [Fact]
    public void LayoutMatchesTheDocumentedExample()
    {
        var bytes = Bytes([("b", new Tensor(new Shape(2), [1f, -2f]))]);
        byte[] expectedPrefix =
        [
            0x43, 0x47, 0x57, 0x54, 1, 0, 0, 0, 1, 0, 0, 0,
            1, 0, 0, 0, 0x62, 1, 0, 0, 0, 2, 0, 0, 0,
            0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,
        ];
        Assert.Equal(37, bytes.Length);
        Assert.Equal(expectedPrefix, bytes[..33]);
        Assert.Equal(System.IO.Hashing.Crc32.HashToUInt32(bytes.AsSpan(0, 33)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(33)));
    }

    [Fact]
    public void Crc32MatchesTheStandardCheckValue()
    {
        Assert.Equal(0xCBF43926u, System.IO.Hashing.Crc32.HashToUInt32("123456789"u8));
        Assert.Equal(0u, System.IO.Hashing.Crc32.HashToUInt32([]));
        Assert.Equal(0x414FA339u, System.IO.Hashing.Crc32.HashToUInt32("The quick brown fox jumps over the lazy dog"u8));
    }

    [Fact]
    public void Crc32MatchesTheBitwiseDefinitionAtEveryLengthAndSplit()
    {
        static uint Bitwise(ReadOnlySpan<byte> bytes)
        {
            uint crc = 0xFFFFFFFFu;
            foreach (byte b in bytes)
            {
                crc ^= b;
                for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
            return ~crc;
        }
        var rng = new Random(5);
        var data = new byte[1100]; // past the 64-byte folding steps, with every tail
        rng.NextBytes(data);
        for (int length = 0; length <= data.Length; length += length < 40 ? 1 : 37)
        {
            var bytes = data.AsSpan(0, length);
            uint expected = Bitwise(bytes);
            Assert.Equal(expected, System.IO.Hashing.Crc32.HashToUInt32(bytes));
            int split = length / 3; // a running CRC continued across calls, each with a tail, as the weights reader and writer run it
            var running = new System.IO.Hashing.Crc32();
            running.Append(bytes[..split]);
            running.Append(bytes[split..]);
            Assert.Equal(expected, running.GetCurrentHashAsUInt32());
        }
    }

    [Fact]
    public void LoadIntoCopiesValuesIntoMatchingTensors()
    {
        string path = PathOf("model.cgw");
        var saved = Model();
        WeightsFile.Save(path, saved);

        var target = Model().Select(t => (t.Name, new Tensor(t.Tensor.Shape))).ToList();
        WeightsFile.LoadInto(path, target);
        AssertSame(saved, target);
    }

    [Fact]
    public void ReadIntoReadsStraightIntoMatchingTensorsAndRejectsWhatLoadIntoRejects()
    {
        string path = PathOf("model.cgw");
        var saved = Model(denseUnits: 16);
        WeightsFile.Save(path, saved);
        var target = Model(denseUnits: 16).Select(t => (t.Name, new Tensor(t.Tensor.Shape))).ToList();
        WeightsFile.ReadInto(path, target);
        AssertSame(saved, target);

        var shape = Assert.Throws<WeightsMismatchException>(() => WeightsFile.ReadInto(path, Model(denseUnits: 8)));
        Assert.StartsWith("dense_1/kernel: file has (36, 16), model has (36, 8)", shape.Message);
        Assert.Equal("dense_1/kernel", shape.TensorName);
        Assert.Contains("file has 4 tensors, model has 3", Assert.Throws<WeightsMismatchException>(() => WeightsFile.ReadInto(path, Model().Take(3).ToList())).Message);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);
        Assert.Contains("'dense_1/bias'", Assert.Throws<InvalidDataException>(() => WeightsFile.ReadInto(path, target)).Message); // its data is cut short
        bytes[^6] ^= 1;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("checksum mismatch", Assert.Throws<InvalidDataException>(() => WeightsFile.ReadInto(path, target)).Message);
    }

    [Fact]
    public void LoadIntoRejectsAnotherShapeNamingTensorAndBothShapes()
    {
        string path = PathOf("model.cgw");
        WeightsFile.Save(path, Model(denseUnits: 16));
        var target = Model(denseUnits: 8);
        var before = target.Select(t => t.Tensor.ToArray()).ToList();

        var e = Assert.Throws<WeightsMismatchException>(() => WeightsFile.LoadInto(path, target));
        Assert.StartsWith("dense_1/kernel: file has (36, 16), model has (36, 8)", e.Message);
        Assert.Equal("dense_1/kernel", e.TensorName);
        Assert.Equal(new Shape(36, 16), e.FileShape);
        Assert.Equal(new Shape(36, 8), e.ModelShape);
        for (int i = 0; i < target.Count; i++) Assert.Equal(before[i], target[i].Tensor.ToArray()); // untouched, not even the tensors before it
    }

    [Fact]
    public void LoadIntoRejectsAnotherCountOrName()
    {
        string path = PathOf("model.cgw");
        WeightsFile.Save(path, Model());

        var fewer = Model().Take(3).ToList();
        var e = Assert.Throws<WeightsMismatchException>(() => WeightsFile.LoadInto(path, fewer));
        Assert.Contains("file has 4 tensors, model has 3", e.Message);
        Assert.Contains("dense_1/bias (8,)", e.Message);

        var renamed = Model();
        renamed[1] = ("conv2d_1/bias", renamed[1].Tensor);
        e = Assert.Throws<WeightsMismatchException>(() => WeightsFile.LoadInto(path, renamed));
        Assert.Contains("tensor 1 is 'conv2d/bias' (4,) in the file but 'conv2d_1/bias' (4,) in the model", e.Message);
    }

    [Fact]
    public void SaveRejectsBadNames()
    {
        var t = new Tensor(new Shape(1));
        Assert.Throws<ArgumentException>(() => WeightsFile.Save(PathOf("a"), [("", t)]));
        Assert.Throws<ArgumentException>(() => WeightsFile.Save(PathOf("a"), [("x", t), ("x", t)]));
        Assert.Throws<ArgumentException>(() => WeightsFile.Save(PathOf("a"), [(new string('n', WeightsFile.MaxNameBytes + 1), t)]));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void FailedSaveLeavesThePreviousFileIntact()
    {
        string path = PathOf("model.cgw");
        var original = Model();
        WeightsFile.Save(path, original);
        byte[] before = File.ReadAllBytes(path);

        var replacement = Model().Select(t => (t.Name, Filled(99, t.Tensor.Shape.Dimensions.ToArray()))).ToList();
        foreach (int budget in new[] { 0, 3, 20, 200, before.Length - 5, before.Length - 1 })
        {
            var e = Assert.Throws<IOException>(() => WeightsFile.Save(path, replacement, s => new FailingStream(s, budget)));
            Assert.Equal("simulated disk failure", e.Message);
            Assert.Equal(before, File.ReadAllBytes(path));
            AssertSame(original, WeightsFile.Load(path));
            Assert.Equal(new[] { path }, Directory.GetFiles(_dir)); // temporary file cleaned up
        }

        // A stale temporary file from a crashed save does not disturb the next one.
        File.WriteAllBytes(path + ".tmp-0123456789abcdef0123456789abcdef", [1, 2, 3]);
        WeightsFile.Save(path, replacement);
        AssertSame(replacement, WeightsFile.Load(path));
    }

    [Fact]
    public void SaveReplacesAnExistingFile()
    {
        string path = PathOf("model.cgw");
        WeightsFile.Save(path, Model(denseUnits: 16));
        var second = Model(denseUnits: 4);
        WeightsFile.Save(path, second);
        AssertSame(second, WeightsFile.Load(path));
    }

    // ---- Corrupt, truncated and hostile files ----

    private static InvalidDataException Rejects(byte[] bytes) =>
        Assert.Throws<InvalidDataException>(() => WeightsFile.Load(new MemoryStream(bytes), "bad.cgw"));

    [Fact]
    public void WrongMagicIsRejected()
    {
        var bytes = Bytes(Model());
        bytes[0] = (byte)'X';
        Assert.Contains("bad.cgw: not a ConvGen weights file: it starts with 58 47 57 54, expected 43 47 57 54 (\"CGWT\")", Rejects(bytes).Message);
        Assert.Contains("needs at least 16 bytes", Rejects([]).Message);
        Assert.Contains("not a ConvGen weights file", Rejects(Encoding.ASCII.GetBytes("PK\u0003\u0004 this is a zip file")).Message);
    }

    [Fact]
    public void UnknownVersionIsRejected()
    {
        var bytes = Bytes(Model());
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 2);
        Assert.Contains("format version is 2, but this library reads only version 1", Rejects(bytes).Message);
    }

    [Fact]
    public void FlippedDataByteFailsTheChecksum()
    {
        var bytes = Bytes(Model());
        bytes[100] ^= 0x01;
        Assert.Contains("checksum mismatch", Rejects(bytes).Message);
    }

    [Fact]
    public void TrailingDataIsRejected()
    {
        var bytes = Bytes(Model());
        Assert.Contains("expected exactly the 4-byte checksum", Rejects([.. bytes, 0, 0, 0, 0]).Message);
    }

    [Fact]
    public void EveryTruncationIsRejected()
    {
        var bytes = Bytes(Model());
        for (int length = 0; length < bytes.Length; length++)
            Rejects(bytes[..length]);
    }

    /// <summary>A header with one tensor record written by hand, then <paramref name="tail"/> bytes of filler and a (wrong) checksum.</summary>
    private static byte[] Hostile(int count, int nameLength, string name, int rank, int[] dims, int tail)
    {
        var s = new MemoryStream();
        var w = new BinaryWriter(s);
        w.Write("CGWT"u8);
        w.Write(1u);
        w.Write(count);
        w.Write(nameLength);
        w.Write(Encoding.UTF8.GetBytes(name));
        w.Write(rank);
        foreach (int d in dims) w.Write(d);
        w.Write(new byte[tail]);
        w.Write(0u);
        return s.ToArray();
    }

    public static TheoryData<string, byte[], string> HostileFiles => new()
    {
        { "negative count", Hostile(-1, 1, "a", 1, [1], 4), "header says -1 tensors" },
        { "huge count", Hostile(int.MaxValue, 1, "a", 1, [1], 4), $"header says {int.MaxValue} tensors, but the remaining" },
        { "huge name", Hostile(1, int.MaxValue, "a", 1, [1], 4), $"has a name length of {int.MaxValue}, expected 1 to" },
        { "negative name", Hostile(1, -5, "", 1, [1], 4), "has a name length of -5" },
        { "name past end", Hostile(1, 900, "abc", 0, [], 20), "has a name length of 900" },
        { "huge rank", Hostile(1, 1, "a", 1_000_000, [1], 4), "tensor 'a' has rank 1000000, expected 0 to 16" },
        { "negative rank", Hostile(1, 1, "a", -1, [], 4), "tensor 'a' has rank -1" },
        { "zero dimension", Hostile(1, 1, "a", 2, [3, 0], 4), "dimension 1 of 'a' is 0" },
        { "negative dimension", Hostile(1, 1, "a", 1, [-7], 4), "dimension 0 of 'a' is -7" },
        { "more than an array", Hostile(1, 1, "a", 3, [65536, 65536, 65536], 4), "more than the" },
        { "data past end", Hostile(1, 1, "a", 2, [10000, 10000], 64), "needs 400000000 bytes of float32 data, but only 64 bytes remain before the checksum" },
        { "invalid utf8", Hostile(1, 2, "\u00e9", 1, [1], 4) is var b ? Patch(b, 16, 0xC3, 0x28) : [], "not valid UTF-8" },
    };

    private static byte[] Patch(byte[] bytes, int at, params byte[] values)
    {
        values.CopyTo(bytes, at);
        return bytes;
    }

    [Theory]
    [MemberData(nameof(HostileFiles))]
    public void HostileHeadersFailWithoutAllocatingMoreThanTheFile(string why, byte[] bytes, string message)
    {
        _ = why;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => WeightsFile.Load(new MemoryStream(bytes), "bad.cgw"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(message, e.Message);
        Assert.StartsWith("bad.cgw: ", e.Message);
        Assert.True(allocated < 256 * 1024, $"allocated {allocated} bytes for a {bytes.Length}-byte file");
    }

    [Fact]
    public void HostileFileOnDiskFailsToo()
    {
        string path = PathOf("hostile.cgw");
        File.WriteAllBytes(path, Hostile(1, 1, "a", 2, [20000, 20000], 16));
        var e = Assert.Throws<InvalidDataException>(() => WeightsFile.Load(path));
        Assert.StartsWith($"{path}: tensor 'a' has shape (20000, 20000), which needs 1600000000 bytes", e.Message);
        Assert.Throws<InvalidDataException>(() => WeightsFile.LoadInto(path, Model()));
    }

    [Fact]
    public void HundredsOfRandomCorruptionsAreAllRejected()
    {
        var good = Bytes(Model());
        var rng = new Random(20240607);
        var kinds = new int[8];
        for (int iteration = 0; iteration < 400; iteration++)
        {
            byte[] bad;
            int kind = rng.Next(8);
            kinds[kind]++;
            switch (kind)
            {
                case 0: // flip one bit
                    bad = (byte[])good.Clone();
                    bad[rng.Next(bad.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1: // replace one byte with a different value
                {
                    bad = (byte[])good.Clone();
                    int at = rng.Next(bad.Length);
                    bad[at] = (byte)(bad[at] + 1 + rng.Next(255));
                    break;
                }
                case 2: // truncate
                    bad = good[..rng.Next(good.Length)];
                    break;
                case 3: // append garbage
                    bad = [.. good, .. RandomBytes(rng, 1 + rng.Next(64))];
                    break;
                case 4: // delete a run
                {
                    int at = rng.Next(good.Length);
                    int n = 1 + rng.Next(Math.Min(16, good.Length - at));
                    bad = [.. good[..at], .. good[(at + n)..]];
                    break;
                }
                case 5: // insert a run
                {
                    int at = rng.Next(good.Length + 1);
                    bad = [.. good[..at], .. RandomBytes(rng, 1 + rng.Next(16)), .. good[at..]];
                    break;
                }
                case 6: // overwrite an aligned word with an extreme integer (a header field, dimension or float)
                {
                    bad = (byte[])good.Clone();
                    int at = 4 * rng.Next(bad.Length / 4);
                    int value = new[] { int.MaxValue, int.MinValue, -1, 0, 0x10000, 1 << 30 }[rng.Next(6)];
                    if (BinaryPrimitives.ReadInt32LittleEndian(bad.AsSpan(at)) == value) value ^= 0x55;
                    BinaryPrimitives.WriteInt32LittleEndian(bad.AsSpan(at), value);
                    break;
                }
                default: // scramble a run of bytes
                {
                    bad = (byte[])good.Clone();
                    int at = rng.Next(bad.Length);
                    int n = 1 + rng.Next(Math.Min(32, bad.Length - at));
                    var noise = RandomBytes(rng, n);
                    if (noise.AsSpan().SequenceEqual(bad.AsSpan(at, n))) noise[0] ^= 0xFF;
                    noise.CopyTo(bad, at);
                    break;
                }
            }
            try
            {
                WeightsFile.Load(new MemoryStream(bad), "corrupt.cgw");
                Assert.Fail($"corruption {iteration} (kind {kind}) was accepted");
            }
            catch (InvalidDataException e)
            {
                Assert.StartsWith("corrupt.cgw: ", e.Message);
            }
        }
        Assert.All(kinds, k => Assert.True(k > 20, "every kind of corruption should be exercised"));
    }

    private static byte[] RandomBytes(Random rng, int n)
    {
        var bytes = new byte[n];
        rng.NextBytes(bytes);
        return bytes;
    }

    private sealed class FailingStream(Stream inner, int budget) : Stream
    {
        private int _left = budget;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            int n = Math.Min(_left, buffer.Length);
            inner.Write(buffer[..n]);
            _left -= n;
            if (n < buffer.Length)
            {
                inner.Flush();
                throw new IOException("simulated disk failure");
            }
        }
    }
}
