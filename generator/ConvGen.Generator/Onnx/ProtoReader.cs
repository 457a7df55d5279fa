using System;

namespace ConvGen.Generator.Onnx;

/// <summary>A malformed or unsupported ONNX file; the generator turns it into a diagnostic at the attribute.</summary>
internal sealed class OnnxFormatException : Exception
{
    public OnnxFormatException(string message) : base(message) { }
}

/// <summary>
/// Reads protobuf wire format (what <c>onnx.proto</c>'s messages are stored as) from a byte range, every read checked against
/// the range: a truncated field, a length past the end, a varint longer than ten bytes or a deprecated group is an
/// <see cref="OnnxFormatException"/>, never an out-of-range read. Unknown fields are skipped without being parsed, so a file
/// can nest messages only as deep as the schema the caller walks.
/// </summary>
internal struct ProtoReader
{
    private readonly byte[] _data;
    private readonly int _end;
    private int _position;

    public ProtoReader(byte[] data) : this(data, 0, data.Length) { }

    private ProtoReader(byte[] data, int start, int end)
    {
        _data = data;
        _position = start;
        _end = end;
    }

    /// <summary>Wire types: varint, 64-bit, length-delimited, 32-bit.</summary>
    public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

    /// <summary>Reads the next field's number and wire type; false at the end of the message.</summary>
    public bool Next(out int field, out int wireType)
    {
        if (_position >= _end)
        {
            field = wireType = 0;
            return false;
        }
        ulong tag = ReadVarint();
        wireType = (int)(tag & 7);
        ulong number = tag >> 3;
        if (number == 0 || number > int.MaxValue) throw new OnnxFormatException($"a field number of {number} at byte {_position}");
        field = (int)number;
        return true;
    }

    /// <summary>A varint (at most ten bytes).</summary>
    public ulong ReadVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _end) throw new OnnxFormatException($"a varint cut off at byte {_position}");
            byte b = _data[_position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new OnnxFormatException($"a varint longer than ten bytes before byte {_position}");
    }

    /// <summary>A varint field as a signed 64-bit value (int64 and int32 fields, enums).</summary>
    public long ReadInt64(int wireType)
    {
        Expect(wireType, Varint);
        return (long)ReadVarint();
    }

    /// <summary>A 32-bit float field.</summary>
    public float ReadFloat(int wireType)
    {
        Expect(wireType, Fixed32);
        if (_end - _position < 4) throw new OnnxFormatException($"a float cut off at byte {_position}");
        float value = BitConverter.ToSingle(LittleEndian(_data, _position, 4), 0);
        _position += 4;
        return value;
    }

    /// <summary>A length-delimited field's contents, as a range of the file (not copied).</summary>
    public ArraySegment<byte> ReadBytes(int wireType)
    {
        Expect(wireType, LengthDelimited);
        ulong length = ReadVarint();
        if (length > (ulong)(_end - _position))
            throw new OnnxFormatException($"a field of {length} bytes at byte {_position}, where only {_end - _position} remain");
        var segment = new ArraySegment<byte>(_data, _position, (int)length);
        _position += (int)length;
        return segment;
    }

    /// <summary>An embedded message.</summary>
    public ProtoReader ReadMessage(int wireType)
    {
        var bytes = ReadBytes(wireType);
        return new ProtoReader(_data, bytes.Offset, bytes.Offset + bytes.Count);
    }

    /// <summary>A UTF-8 string field.</summary>
    public string ReadString(int wireType)
    {
        var bytes = ReadBytes(wireType);
        return System.Text.Encoding.UTF8.GetString(bytes.Array!, bytes.Offset, bytes.Count);
    }

    /// <summary>
    /// A repeated integer field, packed (one length-delimited run of varints) or not (one varint), appended to
    /// <paramref name="values"/>; at most <paramref name="limit"/> values in all.
    /// </summary>
    public void ReadInt64s(int wireType, System.Collections.Generic.List<long> values, int limit)
    {
        if (wireType == LengthDelimited)
        {
            var packed = ReadMessage(wireType);
            while (packed._position < packed._end)
            {
                if (values.Count >= limit) throw new OnnxFormatException($"more than {limit} values in a repeated field");
                values.Add((long)packed.ReadVarint());
            }
        }
        else
        {
            if (values.Count >= limit) throw new OnnxFormatException($"more than {limit} values in a repeated field");
            values.Add(ReadInt64(wireType));
        }
    }

    /// <summary>Skips a field of any wire type but the deprecated groups.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Varint: ReadVarint(); break;
            case Fixed64: Advance(8); break;
            case LengthDelimited: ReadBytes(wireType); break;
            case Fixed32: Advance(4); break;
            default: throw new OnnxFormatException($"wire type {wireType} (a group, or not protobuf) before byte {_position}");
        }
    }

    private void Advance(int count)
    {
        if (_end - _position < count) throw new OnnxFormatException($"a field cut off at byte {_position}");
        _position += count;
    }

    private void Expect(int wireType, int expected)
    {
        if (wireType != expected) throw new OnnxFormatException($"wire type {wireType} where {expected} belongs, before byte {_position}");
    }

    /// <summary><paramref name="count"/> bytes at <paramref name="offset"/>, in this machine's order for BitConverter.</summary>
    internal static byte[] LittleEndian(byte[] data, int offset, int count)
    {
        var bytes = new byte[count];
        Array.Copy(data, offset, bytes, 0, count);
        if (!BitConverter.IsLittleEndian) Array.Reverse(bytes);
        return bytes;
    }
}
