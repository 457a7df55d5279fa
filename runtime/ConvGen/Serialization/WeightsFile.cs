using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace ConvGen.Serialization;

/// <summary>
/// Reads and writes named float32 tensors in the ConvGen weights format (<c>.cgw</c>): the magic <c>CGWT</c>, a version,
/// a tensor count, then each tensor's UTF-8 name, rank, dimensions and little-endian float32 data, and finally a CRC-32 (System.IO.Hashing.Crc32) of
/// everything before it. See <c>docs/weights-format.md</c> for the byte layout.
/// </summary>
/// <remarks>
/// Saving is atomic: the data goes to a temporary file next to the destination, is flushed to disk, and only then renamed over
/// the destination, so a crash or error during a save leaves any previous file intact.
/// Loading treats the file as untrusted: every count and dimension is checked against the bytes actually left in the file
/// before anything is allocated, and the checksum is verified before any tensor is returned. Every problem with the file's
/// contents is an <see cref="InvalidDataException"/>.
/// </remarks>
public static class WeightsFile
{
    /// <summary>The four bytes every weights file starts with: ASCII <c>CGWT</c>.</summary>
    public static ReadOnlySpan<byte> Magic => "CGWT"u8;

    /// <summary>The format version this library writes and reads.</summary>
    public const uint Version = 1;

    /// <summary>Maximum length of a tensor name in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 1024;

    /// <summary>Maximum rank of a stored tensor.</summary>
    public const int MaxRank = 16;

    private const int HeaderBytes = 12;   // magic, version, count
    private const int ChecksumBytes = 4;
    private const int MinRecordBytes = 4 + 1 + 4 + 4; // name length, 1-byte name, rank 0, one float

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> atomically, replacing any existing file only once the new one is complete on disk.
    /// Names must be non-empty, unique, and at most <see cref="MaxNameBytes"/> UTF-8 bytes.
    /// </summary>
    /// <exception cref="ArgumentException">A name is empty, duplicated or too long, or a tensor is null or has rank above <see cref="MaxRank"/>.</exception>
    /// <exception cref="IOException">Writing or renaming failed; the previous file, if any, is unchanged.</exception>
    public static void Save(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors) => Save(path, tensors, wrap: null);

    /// <summary>
    /// Save with fault hooks for tests: <paramref name="wrap"/> wraps the temporary file's stream (to fail a write or the flush
    /// midway), and <paramref name="beforeRename"/> runs with the temporary file's path once it is complete and flushed to disk,
    /// just before it is renamed over the destination (to fail at the rename).
    /// </summary>
    internal static void Save(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, Func<Stream, Stream>? wrap, Action<string>? beforeRename = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        Validate(tensors);
        AtomicFile.Write(path, stream => WriteTo(stream, tensors), wrap, beforeRename);
    }

    /// <summary>Writes <paramref name="tensors"/> in the weights format to <paramref name="stream"/> (not atomically; for files prefer the overload taking a path).</summary>
    /// <exception cref="ArgumentException">The stream is not writable, or a name is empty, duplicated or too long, or a tensor is null or has rank above <see cref="MaxRank"/>.</exception>
    public static void Save(Stream stream, IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        if (!stream.CanWrite) throw new ArgumentException("Saving weights needs a writable stream.", nameof(stream));
        Validate(tensors);
        WriteTo(stream, tensors);
        stream.Flush();
    }

    /// <summary>Reads every tensor in the weights file at <paramref name="path"/>, in file order.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid weights file: wrong magic, unsupported version, impossible counts or sizes, truncated, trailing data, or a checksum mismatch.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IReadOnlyList<(string Name, Tensor Tensor)> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);
        return Load(stream, path);
    }

    /// <summary>Reads every tensor from a seekable <paramref name="stream"/> holding exactly one weights file from its current position to its end; <paramref name="name"/> is used in error messages.</summary>
    /// <exception cref="ArgumentException">The stream is not readable and seekable.</exception>
    /// <exception cref="InvalidDataException">The data is not a valid weights file.</exception>
    public static IReadOnlyList<(string Name, Tensor Tensor)> Load(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (!stream.CanRead || !stream.CanSeek)
            throw new ArgumentException("Loading weights needs a readable, seekable stream (its length bounds every allocation).", nameof(stream));
        var reader = new CheckedReader(stream, name, stream.Length - stream.Position);
        return Read(reader);
    }

    /// <summary>
    /// Loads the weights file at <paramref name="path"/> into <paramref name="targets"/>: the file must hold the same number of tensors,
    /// with the same names and shapes, in the same order. Nothing is copied unless the whole file is valid and matches.
    /// </summary>
    /// <exception cref="WeightsMismatchException">The file's tensors differ from the targets in count, name or shape; the message names the tensor and both shapes.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid weights file.</exception>
    public static void LoadInto(string path, IReadOnlyList<(string Name, Tensor Tensor)> targets)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(targets);
        for (int i = 0; i < targets.Count; i++)
        {
            if (targets[i].Tensor is null)
                throw new ArgumentException($"Target tensor {i} ('{targets[i].Name}') is null.", nameof(targets));
        }
        var loaded = Load(path);
        Match(path, loaded, targets);
        for (int i = 0; i < loaded.Count; i++)
            loaded[i].Tensor.Values.CopyTo(targets[i].Tensor.Written);
    }

    /// <summary>
    /// Reads the weights file at <paramref name="path"/> straight into <paramref name="targets"/> (same count, names, shapes and
    /// order as <see cref="LoadInto"/> requires), with no copy of the file in memory: for targets that hold nothing worth keeping
    /// yet (a network being constructed from the file), since a file found wrong partway leaves the tensors before that point
    /// overwritten. The checks and exceptions are <see cref="LoadInto"/>'s.
    /// </summary>
    public static void ReadInto(string path, IReadOnlyList<(string Name, Tensor Tensor)> targets)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(targets);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);
        Read(new CheckedReader(stream, path, stream.Length), targets);
    }

    private static void Match(string path, IReadOnlyList<(string Name, Tensor Tensor)> file, IReadOnlyList<(string Name, Tensor Tensor)> model)
    {
        if (file.Count != model.Count)
        {
            throw new WeightsMismatchException(
                $"{path}: file has {file.Count} tensor{(file.Count == 1 ? "" : "s")}, model has {model.Count}. " +
                $"File: [{Describe(file)}]; model: [{Describe(model)}].",
                tensorName: null, fileShape: null, modelShape: null);
        }
        for (int i = 0; i < file.Count; i++) MatchTensor(path, i, file[i].Name, file[i].Tensor.Shape, model[i]);
    }

    /// <summary>Fails unless tensor <paramref name="i"/> of the file (<paramref name="name"/>, <paramref name="shape"/>) is the model's tensor at that index.</summary>
    private static void MatchTensor(string path, int i, string name, Shape shape, (string Name, Tensor Tensor) model)
    {
        var (modelName, modelTensor) = model;
        if (!string.Equals(name, modelName, StringComparison.Ordinal))
        {
            throw new WeightsMismatchException(
                $"{path}: tensor {i} is '{name}' {shape} in the file but '{modelName}' {modelTensor.Shape} in the model.",
                modelName, shape, modelTensor.Shape);
        }
        if (shape != modelTensor.Shape)
        {
            throw new WeightsMismatchException(
                $"{modelName}: file has {shape}, model has {modelTensor.Shape} (tensor {i} of {path}).",
                modelName, shape, modelTensor.Shape);
        }
    }

    private static string Describe(IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < tensors.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            if (i == 8 && tensors.Count > 9)
            {
                sb.Append("... ").Append(tensors.Count - 8).Append(" more");
                break;
            }
            sb.Append(tensors[i].Name).Append(' ').Append(tensors[i].Tensor?.Shape.ToString() ?? "null");
        }
        return sb.ToString();
    }

    private static void Validate(IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < tensors.Count; i++)
        {
            var (name, tensor) = tensors[i];
            if (string.IsNullOrEmpty(name))
                throw new ArgumentException($"Tensor {i} has an empty name; every saved tensor needs a name.", nameof(tensors));
            int bytes = Encoding.UTF8.GetByteCount(name);
            if (bytes > MaxNameBytes)
                throw new ArgumentException($"Tensor {i} name is {bytes} UTF-8 bytes, more than the {MaxNameBytes} allowed.", nameof(tensors));
            if (!seen.Add(name))
                throw new ArgumentException($"Two tensors are named '{name}'; names in a weights file must be unique.", nameof(tensors));
            if (tensor is null)
                throw new ArgumentException($"Tensor '{name}' is null.", nameof(tensors));
            if (tensor.Shape.Rank > MaxRank)
                throw new ArgumentException($"Tensor '{name}' has rank {tensor.Shape.Rank}; the format allows at most {MaxRank}.", nameof(tensors));
        }
    }

    private static void WriteTo(Stream stream, IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        var writer = new CheckedWriter(stream);
        Span<byte> word = stackalloc byte[4];

        writer.Write(Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(word, Version);
        writer.Write(word);
        BinaryPrimitives.WriteInt32LittleEndian(word, tensors.Count);
        writer.Write(word);

        byte[] scratch = new byte[1 << 16];
        foreach (var (name, tensor) in tensors)
        {
            byte[] nameBytes = Encoding.UTF8.GetBytes(name);
            BinaryPrimitives.WriteInt32LittleEndian(word, nameBytes.Length);
            writer.Write(word);
            writer.Write(nameBytes);
            BinaryPrimitives.WriteInt32LittleEndian(word, tensor.Shape.Rank);
            writer.Write(word);
            foreach (int d in tensor.Shape.Dimensions)
            {
                BinaryPrimitives.WriteInt32LittleEndian(word, d);
                writer.Write(word);
            }

            ReadOnlySpan<float> data = tensor.Values;
            if (BitConverter.IsLittleEndian)
            {
                writer.Write(MemoryMarshal.AsBytes(data));
            }
            else
            {
                int perChunk = scratch.Length / 4;
                for (int start = 0; start < data.Length; start += perChunk)
                {
                    int n = Math.Min(perChunk, data.Length - start);
                    for (int j = 0; j < n; j++)
                        BinaryPrimitives.WriteSingleLittleEndian(scratch.AsSpan(4 * j), data[start + j]);
                    writer.Write(scratch.AsSpan(0, 4 * n));
                }
            }
        }

        BinaryPrimitives.WriteUInt32LittleEndian(word, writer.Checksum);
        stream.Write(word);
    }

    /// <summary>
    /// Reads and checks every record. With <paramref name="into"/>, each tensor's name and shape must be the target's at its
    /// index (checked before its data is read) and the data goes straight into the target, with no copy of the file in memory.
    /// </summary>
    private static List<(string Name, Tensor Tensor)> Read(CheckedReader reader, IReadOnlyList<(string Name, Tensor Tensor)>? into = null)
    {
        string file = reader.Name;
        if (reader.Remaining < HeaderBytes + ChecksumBytes)
            throw new InvalidDataException($"{file}: a weights file needs at least {HeaderBytes + ChecksumBytes} bytes (header and checksum), but this one has {reader.Remaining}.");

        Span<byte> magic = stackalloc byte[4];
        reader.ReadExactly(magic, new("magic"));
        if (!magic.SequenceEqual(Magic))
            throw new InvalidDataException($"{file}: not a ConvGen weights file: it starts with {Hex(magic)}, expected 43 47 57 54 (\"CGWT\").");

        uint version = reader.ReadUInt32(new("version"));
        if (version != Version)
            throw new InvalidDataException($"{file}: format version is {version}, but this library reads only version {Version}.");

        int count = reader.ReadInt32(new("tensor count"));
        long maxCount = (reader.Remaining - ChecksumBytes) / MinRecordBytes;
        if (count < 0 || count > maxCount)
            throw new InvalidDataException($"{file}: header says {count} tensors, but the remaining {reader.Remaining - ChecksumBytes} bytes before the checksum can hold at most {maxCount}.");

        if (into is not null && count != into.Count)
            throw new WeightsMismatchException($"{file}: file has {count} tensor{(count == 1 ? "" : "s")}, model has {into.Count}. Model: [{Describe(into)}].",
                tensorName: null, fileShape: null, modelShape: null);
        // count is bounded by the file's length above, so these allocations are too.
        var tensors = new List<(string Name, Tensor Tensor)>(count);
        var seen = new HashSet<string>(count, StringComparer.Ordinal);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        Span<byte> nameBuffer = stackalloc byte[MaxNameBytes];
        for (int i = 0; i < count; i++)
        {
            long at = reader.Offset;
            int nameLength = reader.ReadInt32(new("name length", i));
            if (nameLength < 1 || nameLength > MaxNameBytes || nameLength > reader.Remaining - ChecksumBytes)
                throw new InvalidDataException($"{file}: tensor {i} (at byte {at}) has a name length of {nameLength}, expected 1 to {Math.Min(MaxNameBytes, Math.Max(0, reader.Remaining - ChecksumBytes))} bytes.");
            var nameBytes = nameBuffer[..nameLength];
            reader.ReadExactly(nameBytes, new("name", i));
            string name;
            try { name = utf8.GetString(nameBytes); }
            catch (DecoderFallbackException) { throw new InvalidDataException($"{file}: the name of tensor {i} (at byte {at}) is not valid UTF-8."); }
            if (!seen.Add(name))
                throw new InvalidDataException($"{file}: tensor {i} is named '{name}', like an earlier tensor; names must be unique.");

            int rank = reader.ReadInt32(new("rank", i, name));
            if (rank < 0 || rank > MaxRank)
                throw new InvalidDataException($"{file}: tensor '{name}' has rank {rank}, expected 0 to {MaxRank}.");
            var dims = new int[rank];
            long size = 1;
            for (int d = 0; d < rank; d++)
            {
                dims[d] = reader.ReadInt32(new("dimension", i, name, d));
                if (dims[d] < 1)
                    throw new InvalidDataException($"{file}: dimension {d} of '{name}' is {dims[d]}; every dimension must be at least 1.");
                size *= dims[d]; // each factor < 2^31 and size stays <= Array.MaxLength, so this cannot overflow
                if (size > Array.MaxLength)
                    throw new InvalidDataException($"{file}: tensor '{name}' claims dimensions ({string.Join(", ", dims[..(d + 1)])}{(d + 1 < rank ? ", ..." : "")}), more than the {Array.MaxLength} elements a tensor can hold.");
            }
            long available = reader.Remaining - ChecksumBytes;
            if (size * 4 > available)
                throw new InvalidDataException($"{file}: tensor '{name}' has shape ({string.Join(", ", dims)}), which needs {size * 4} bytes of float32 data, but only {Math.Max(0, available)} bytes remain before the checksum.");

            if (into is not null)
            {
                MatchTensor(file, i, name, new Shape(dims), into[i]);
                reader.ReadFloats(into[i].Tensor.Written, new("data", i, name));
                tensors.Add((name, into[i].Tensor));
                continue;
            }
            var data = new float[size];
            reader.ReadFloats(data, new("data", i, name));
            tensors.Add((name, new Tensor(new Shape(dims), data)));
        }

        if (reader.Remaining != ChecksumBytes)
            throw new InvalidDataException($"{file}: after {count} tensors there are {reader.Remaining} bytes left, expected exactly the {ChecksumBytes}-byte checksum (the file is corrupt or has trailing data).");
        uint computed = reader.Checksum;
        uint stored = reader.ReadUInt32(new("checksum"));
        if (stored != computed)
            throw new InvalidDataException($"{file}: checksum mismatch: the file stores CRC-32 0x{stored:x8}, but its contents give 0x{computed:x8}; the file is corrupt.");
        return tensors;
    }

    private static string Hex(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder();
        foreach (byte b in bytes)
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Writes through to a stream while accumulating the CRC-32 of everything written.</summary>
    private sealed class CheckedWriter(Stream stream)
    {
        private readonly System.IO.Hashing.Crc32 _crc = new();

        public uint Checksum => _crc.GetCurrentHashAsUInt32();

        public void Write(ReadOnlySpan<byte> bytes)
        {
            _crc.Append(bytes);
            stream.Write(bytes);
        }
    }

    /// <summary>
    /// What a read is for, e.g. dimension 1 of tensor 'dense/kernel'. A struct formatted only into an error message, so
    /// reading a valid file spends no allocation on describing its fields.
    /// </summary>
    private readonly struct Field(string kind, int tensor = -1, string? name = null, int dimension = -1)
    {
        public override string ToString() =>
            dimension >= 0 ? $"dimension {dimension} of '{name}'"
            : name is not null ? $"{kind} of '{name}'"
            : tensor >= 0 ? $"{kind} of tensor {tensor}"
            : kind;
    }

    /// <summary>Reads exact byte counts from a stream of known length, accumulating the CRC-32 and reporting truncation by offset.</summary>
    private sealed class CheckedReader(Stream stream, string name, long length)
    {
        private readonly System.IO.Hashing.Crc32 _crc = new();

        public string Name => name;

        public long Offset { get; private set; }

        public long Remaining => length - Offset;

        public uint Checksum => _crc.GetCurrentHashAsUInt32();

        public void ReadExactly(Span<byte> buffer, Field what)
        {
            if (buffer.Length > Remaining)
                throw Truncated(buffer.Length, what);
            int total = 0;
            while (total < buffer.Length)
            {
                int n = stream.Read(buffer[total..]);
                if (n == 0) throw Truncated(buffer.Length, what);
                total += n;
            }
            _crc.Append(buffer);
            Offset += buffer.Length;
        }

        public int ReadInt32(Field what)
        {
            Span<byte> word = stackalloc byte[4];
            ReadExactly(word, what);
            return BinaryPrimitives.ReadInt32LittleEndian(word);
        }

        public uint ReadUInt32(Field what)
        {
            Span<byte> word = stackalloc byte[4];
            ReadExactly(word, what);
            return BinaryPrimitives.ReadUInt32LittleEndian(word);
        }

        public void ReadFloats(Span<float> data, Field what)
        {
            Span<byte> bytes = MemoryMarshal.AsBytes(data);
            const int chunk = 1 << 20;
            for (int start = 0; start < bytes.Length; start += chunk)
                ReadExactly(bytes.Slice(start, Math.Min(chunk, bytes.Length - start)), what);
            if (!BitConverter.IsLittleEndian)
            {
                Span<int> words = MemoryMarshal.Cast<float, int>(data);
                BinaryPrimitives.ReverseEndianness(words, words);
            }
        }

        private InvalidDataException Truncated(int needed, Field what) =>
            new($"{name}: the file is truncated: reading the {what} at byte {Offset} needs {needed} bytes, but the file ends at byte {length}.");
    }
}

/// <summary>A weights file is valid but does not fit the model it is loaded into: a different number of tensors, another name, or another shape.</summary>
public sealed class WeightsMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception; the names and shapes are null when the mismatch is in the tensor count.</summary>
    public WeightsMismatchException(string message, string? tensorName, Shape? fileShape, Shape? modelShape)
        : base(message)
    {
        TensorName = tensorName;
        FileShape = fileShape;
        ModelShape = modelShape;
    }

    /// <summary>The model's name for the mismatched tensor, or null for a count mismatch.</summary>
    public string? TensorName { get; }

    /// <summary>The tensor's shape in the file, or null for a count mismatch.</summary>
    public Shape? FileShape { get; }

    /// <summary>The tensor's shape in the model, or null for a count mismatch.</summary>
    public Shape? ModelShape { get; }
}
