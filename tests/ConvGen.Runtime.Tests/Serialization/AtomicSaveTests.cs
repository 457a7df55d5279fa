using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ConvGen.Serialization;
using Xunit;

namespace ConvGen.Runtime.Tests.Serialization;

/// <summary>
/// A save that fails at any point leaves the previous file byte for byte as it was, and no temporary file behind. Each fault
/// is injected into a real save to disk, and the test checks on disk that the save had really got that far when it failed.
/// </summary>
public sealed class AtomicSaveTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("convgen-atomic-save-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<(string Name, Tensor Tensor)> Tensors(int seed) =>
    [
        ("conv2d/kernel", TestTensor(seed, 3, 3, 1, 4)),
        ("conv2d/bias", TestTensor(seed + 1, 4)),
        ("dense/kernel", TestTensor(seed + 2, 36, 10)),
        ("dense/bias", TestTensor(seed + 3, 10)),
    ];

    private static Tensor TestTensor(int seed, params int[] dims) => Layers.TestData.Tensor(seed, dims);

    /// <summary>Saves the "previous" file, and returns its path and bytes.</summary>
    private (string Path, byte[] Bytes) SavePrevious()
    {
        string path = Path.Combine(_dir, "model.cgw");
        WeightsFile.Save(path, Tensors(1));
        return (path, File.ReadAllBytes(path));
    }

    private static byte[] Bytes(IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        var stream = new MemoryStream();
        WeightsFile.Save(stream, tensors);
        return stream.ToArray();
    }

    public static TheoryData<string, int> WriteFaults()
    {
        int length = Bytes(Tensors(0)).Length;
        return new()
        {
            { "before the first byte", 0 },
            { "inside the magic", 1 },
            { "after the header", 12 },
            { "inside the first name", 18 },
            { "halfway through the data", length / 2 },
            { "before the checksum", length - 4 },
            { "inside the checksum", length - 1 },
        };
    }

    [Theory]
    [MemberData(nameof(WriteFaults))]
    public void A_write_that_fails_midway_leaves_the_previous_file_intact(string where, int budget)
    {
        _ = where;
        var (path, before) = SavePrevious();

        FaultyStream? faulty = null;
        var e = Assert.Throws<IOException>(() => WeightsFile.Save(path, Tensors(2), s => faulty = new FaultyStream((FileStream)s, budget)));
        Assert.Equal("injected write failure", e.Message);

        // The fault really came mid-save: exactly `budget` bytes of the new file had reached the temporary file on disk.
        Assert.NotNull(faulty);
        Assert.Equal(budget, faulty!.TemporaryLengthAtFault);
        AssertPreviousFileIntact(path, before);
    }

    [Fact]
    public void A_flush_that_fails_after_every_byte_was_written_leaves_the_previous_file_intact()
    {
        var (path, before) = SavePrevious();
        var replacement = Tensors(2);

        FaultyStream? faulty = null;
        var e = Assert.Throws<IOException>(() => WeightsFile.Save(path, replacement, s => faulty = new FaultyStream((FileStream)s, int.MaxValue, failFlush: true)));
        Assert.Equal("injected flush failure", e.Message);
        Assert.Equal(Bytes(replacement).Length, faulty!.TemporaryLengthAtFault);
        AssertPreviousFileIntact(path, before);
    }

    [Fact]
    public void A_failure_at_the_rename_after_the_new_file_is_complete_leaves_the_previous_file_intact()
    {
        var (path, before) = SavePrevious();
        var replacement = Tensors(2);

        byte[]? temporaryAtFault = null;
        var e = Assert.Throws<IOException>(() => WeightsFile.Save(path, replacement, wrap: null, beforeRename: temporary =>
        {
            temporaryAtFault = File.ReadAllBytes(temporary);
            throw new IOException("injected rename failure");
        }));
        Assert.Equal("injected rename failure", e.Message);
        Assert.Equal(Bytes(replacement), temporaryAtFault); // the new file was complete: only the rename was left
        AssertPreviousFileIntact(path, before);
    }

    [Fact]
    public void A_real_rename_failure_cleans_up_the_temporary_file()
    {
        // The destination is a directory, so the final rename fails in the file system itself.
        string path = Path.Combine(_dir, "model.cgw");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "inside.txt"), "keep");
        var e = Record.Exception(() => WeightsFile.Save(path, Tensors(1)));
        Assert.True(e is IOException or UnauthorizedAccessException, $"expected an I/O error, got {e}");
        Assert.Equal("keep", File.ReadAllText(Path.Combine(path, "inside.txt")));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));
    }

    [Fact]
    public void Sequential_SaveWeights_that_fails_leaves_no_temporary_file_and_the_model_unchanged()
    {
        var model = new Sequential(new Flatten(), new Dense(3)).Build(new Shape(2, 2), seed: 1);
        var weights = model.Parameters.SelectMany(p => p.Value.ToArray()).ToArray();
        string path = Path.Combine(_dir, "model.cgw");
        Directory.CreateDirectory(path);
        Assert.ThrowsAny<Exception>(() => model.SaveWeights(path));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));
        Assert.Equal(weights, model.Parameters.SelectMany(p => p.Value.ToArray()).ToArray());
    }

    private void AssertPreviousFileIntact(string path, byte[] before)
    {
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(_dir)); // no temporary file left behind

        // And the next save goes through.
        var next = Tensors(3);
        WeightsFile.Save(path, next);
        Assert.Equal(Bytes(next), File.ReadAllBytes(path));
    }

    /// <summary>Passes <c>budget</c> bytes to the temporary file, pushes them to disk, then fails (or fails at the flush).</summary>
    private sealed class FaultyStream(FileStream file, int budget, bool failFlush = false) : Stream
    {
        private int _left = budget;

        public long TemporaryLengthAtFault { get; private set; } = -1;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            int n = Math.Min(_left, buffer.Length);
            file.Write(buffer[..n]);
            _left -= n;
            if (n < buffer.Length) Fail("injected write failure");
        }

        public override void Flush()
        {
            if (failFlush) Fail("injected flush failure");
            file.Flush();
        }

        private void Fail(string message)
        {
            file.Flush();
            TemporaryLengthAtFault = new FileInfo(file.Name).Length;
            throw new IOException(message);
        }
    }
}
