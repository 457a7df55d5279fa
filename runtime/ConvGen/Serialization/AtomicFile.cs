using System;
using System.IO;

namespace ConvGen.Serialization;

/// <summary>Writes a file so that a reader sees the old file or the complete new one, never a part (weights, ONNX models).</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Writes through <paramref name="write"/> into a temporary file beside <paramref name="path"/>, flushes it to disk, then
    /// renames it over <paramref name="path"/>; on any failure the temporary file is removed and the old file is unchanged.
    /// <paramref name="wrap"/> wraps the temporary file's stream and <paramref name="beforeRename"/> runs just before the
    /// rename: fault hooks for tests.
    /// </summary>
    /// <exception cref="IOException">Writing or renaming failed; the previous file, if any, is unchanged.</exception>
    public static void Write(string path, Action<Stream> write, Func<Stream, Stream>? wrap = null, Action<string>? beforeRename = null)
    {
        string full = Path.GetFullPath(path);
        string temporary = $"{full}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                Stream stream = wrap is null ? file : wrap(file);
                write(stream);
                stream.Flush();
                file.Flush(flushToDisk: true);
            }
            beforeRename?.Invoke(temporary);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            try { if (File.Exists(temporary)) File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
