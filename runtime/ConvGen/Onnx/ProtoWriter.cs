using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace ConvGen.Onnx;

/// <summary>
/// A protobuf message being written in the wire format (what <c>onnx.proto</c>'s messages are stored as): varint fields (wire
/// type 0), 32-bit floats (wire type 5) and length-delimited fields (wire type 2: bytes, strings, embedded messages, packed
/// repeated values). Fields are written in the order they are added; a reader accepts any order.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    /// <summary>The message's bytes so far.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.WrittenSpan;

    /// <summary>A varint field (int32, int64, enum, bool: negative values as ten bytes, as protobuf does).</summary>
    public ProtoWriter Varint(int field, long value)
    {
        Tag(field, 0);
        WriteVarint((ulong)value);
        return this;
    }

    /// <summary>A float field.</summary>
    public ProtoWriter Float(int field, float value)
    {
        Tag(field, 5);
        BinaryPrimitives.WriteSingleLittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
        return this;
    }

    /// <summary>A bytes field.</summary>
    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        WriteVarint((ulong)value.Length);
        _buffer.Write(value);
        return this;
    }

    /// <summary>A string field (UTF-8).</summary>
    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>An embedded message.</summary>
    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.WrittenSpan);

    /// <summary>A repeated int64 field, packed (one length-delimited field of varints).</summary>
    public ProtoWriter PackedVarints(int field, ReadOnlySpan<long> values)
    {
        var packed = new ProtoWriter();
        foreach (long v in values) packed.WriteVarint((ulong)v);
        return Bytes(field, packed.WrittenSpan);
    }

    private void Tag(int field, int wireType) => WriteVarint((ulong)((uint)field << 3 | (uint)wireType));

    private void WriteVarint(ulong value)
    {
        var span = _buffer.GetSpan(10);
        int n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[n++] = (byte)value;
        _buffer.Advance(n);
    }
}
