using System;
using System.IO;

namespace ConvGen.Runtime.Tests.Support;

/// <summary>
/// A read-only stream over bytes that cannot seek or tell its length, like a pipe or a decompression stream. Each read
/// returns at most <paramref name="maxRead"/> bytes, so readers must loop over short reads as they would on a pipe.
/// </summary>
internal sealed class UnseekableStream(byte[] data, int maxRead = int.MaxValue) : Stream
{
    private readonly MemoryStream _inner = new(data, writable: false);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, maxRead));
    public override int Read(Span<byte> buffer) => _inner.Read(buffer[..Math.Min(buffer.Length, maxRead)]); // the base version rents a pooled copy, which would count as allocation
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
