using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using DiffPlex;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ConvGen.Generator.Tests.Helpers;

/// <summary>
/// Snapshot testing in the manner of Verify.SourceGenerators, on plain xunit (the Verify packages are not available here).
/// <list type="bullet">
/// <item>Generated sources: <c>Snapshots/{TestClass}.{TestMethod}#{HintName}.verified.cs</c>, each starting with <c>//HintName: ...</c>.</item>
/// <item>Diagnostics: <c>Snapshots/{TestClass}.{TestMethod}.verified.txt</c>, one diagnostic a line, sorted by location.</item>
/// <item>On a mismatch or a missing file, <c>.received.*</c> is written beside the verified file and the test fails with a line diff;
/// with <c>CONVGEN_ACCEPT_SNAPSHOTS=1</c> the verified file is overwritten instead.</item>
/// </list>
/// {TestClass} is the name of the file that calls, which must be the name of the test class (checked, so a renamed file or
/// class cannot silently write snapshots no test reads).
/// </summary>
public static partial class Snapshot
{
    public const string AcceptVariable = "CONVGEN_ACCEPT_SNAPSHOTS";
    public const string VerifiedSourceSuffix = ".verified.cs";
    public const string VerifiedDiagnosticsSuffix = ".verified.txt";
    private const int DiffContextLines = 3;
    private const int MaxDiffLines = 200;

    /// <summary>
    /// The <c>Snapshots</c> folder in the source tree (not the build output), found from this file's path at compile time;
    /// if that path was mapped away (PathMap, ContinuousIntegrationBuild), from the output folder upwards.
    /// </summary>
    public static string Directory { get; } = FindDirectory();

    private static bool Accept => Environment.GetEnvironmentVariable(AcceptVariable) == "1";

    private static string FindDirectory([CallerFilePath] string helperPath = "")
    {
        string fromSource = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(helperPath)) ?? "", "Snapshots");
        if (System.IO.Directory.Exists(fromSource)) return fromSource;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ConvGen.Generator.Tests.csproj")))
                return Path.Combine(dir.FullName, "Snapshots");
        }
        return fromSource;
    }

    /// <summary>Verifies every source the generator produced, and that no verified source of this test was left unproduced.</summary>
    public static void VerifySources(GeneratorResult result, [CallerFilePath] string testFile = "", [CallerMemberName] string testMethod = "")
    {
        string prefix = Prefix(testFile, testMethod);
        Assert.True(result.Sources.Count > 0, $"{prefix}: the generator produced no source; diagnostics:\n{Format(result.GeneratorDiagnostics)}");
        var failures = new List<string>();
        var expectedFiles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in result.Sources)
        {
            string name = $"{prefix}#{source.HintName}";
            expectedFiles.Add(name + VerifiedSourceSuffix);
            string text = $"//HintName: {source.HintName}\n{Scrub(source.SourceText.ToString())}";
            Compare(Path.Combine(Directory, name), ".cs", text, failures);
        }

        // A verified source of this test that the generator no longer produces (e.g. after a hint-name change) is stale.
        foreach (var stale in System.IO.Directory.EnumerateFiles(Directory, $"{prefix}#*{VerifiedSourceSuffix}")
                     .Where(path => !expectedFiles.Contains(Path.GetFileName(path))))
        {
            if (Accept) File.Delete(stale);
            else failures.Add($"{Path.GetFileName(stale)} is verified but was not generated; delete it or rerun with {AcceptVariable}=1.");
        }
        if (failures.Count > 0) Assert.Fail(string.Join("\n\n", failures));
    }

    /// <summary>Verifies the generator's diagnostics as text, one a line: id, severity, location, the located text and the message.</summary>
    public static void VerifyDiagnostics(GeneratorResult result, [CallerFilePath] string testFile = "", [CallerMemberName] string testMethod = "")
    {
        var failures = new List<string>();
        Compare(Path.Combine(Directory, Prefix(testFile, testMethod)), ".txt", Format(result.GeneratorDiagnostics, result.Input), failures);
        if (failures.Count > 0) Assert.Fail(string.Join("\n\n", failures));
    }

    /// <summary>
    /// Diagnostics as stable text: sorted by file and position, then id; <c>(none)</c> when there are none. The located
    /// text is looked up in <paramref name="compilation"/> for locations that carry no syntax tree.
    /// </summary>
    public static string Format(IEnumerable<Diagnostic> diagnostics, Compilation? compilation = null)
    {
        var lines = diagnostics
            .OrderBy(d => d.Location.GetLineSpan().Path ?? "", StringComparer.Ordinal)
            .ThenBy(d => d.Location.SourceSpan.Start)
            .ThenBy(d => d.Location.SourceSpan.End)
            .ThenBy(d => d.Id, StringComparer.Ordinal)
            .ThenBy(d => d.GetMessage(CultureInfo.InvariantCulture), StringComparer.Ordinal)
            .Select(d => FormatOne(d, compilation))
            .ToList();
        return lines.Count == 0 ? "(none)\n" : string.Join("\n", lines) + "\n";
    }

    private static string FormatOne(Diagnostic d, Compilation? compilation)
    {
        string where = "(no location)";
        if (d.Location != Location.None)
        {
            var span = d.Location.GetLineSpan();
            where = string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(span.Path)}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1})");
            if (d.LocatedText(compilation) is { } text)
            {
                string located = WhitespaceRun().Replace(text, " ");
                if (located.Length > 80) located = located[..77] + "...";
                where += $" '{located}'";
            }
        }
        return $"{d.Id} {d.Severity} {where}: {d.GetMessage(CultureInfo.InvariantCulture)}";
    }

    /// <summary>LF line ends, and the generator's assembly version replaced so a version bump does not touch every snapshot.</summary>
    public static string Scrub(string text)
        => GeneratedCodeVersion().Replace(text.Replace("\r\n", "\n").Replace('\r', '\n'), "GeneratedCode(\"ConvGen.Generator\", \"{version}\")");

    /// <summary><c>{TestClass}.{TestMethod}</c>, after checking that such a test exists, so every snapshot belongs to a test.</summary>
    private static string Prefix(string testFile, string testMethod)
    {
        string testClass = Path.GetFileNameWithoutExtension(testFile);
        bool exists = SnapshotTestMethods().Contains($"{testClass}.{testMethod}");
        Assert.True(exists, $"No [Fact] or [Theory] '{testMethod}' in a class named '{testClass}' (the snapshot helper names snapshots by the calling file, which must match its test class).");
        return $"{testClass}.{testMethod}";
    }

    /// <summary><c>{Class}.{Method}</c> of every [Fact]/[Theory] in this assembly (a Theory is a Fact too).</summary>
    public static IReadOnlySet<string> SnapshotTestMethods() => TestMethods.Value;

    private static readonly Lazy<IReadOnlySet<string>> TestMethods = new(() => typeof(Snapshot).Assembly.GetTypes()
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Where(m => m.GetCustomAttributes<FactAttribute>(inherit: true).Any())
            .Select(m => $"{t.Name}.{m.Name}"))
        .ToHashSet(StringComparer.Ordinal));

    private static void Compare(string basePath, string extension, string received, List<string> failures)
    {
        string verifiedPath = basePath + ".verified" + extension, receivedPath = basePath + ".received" + extension;
        string? verified = File.Exists(verifiedPath) ? Scrub(File.ReadAllText(verifiedPath)) : null;
        if (verified == received)
        {
            File.Delete(receivedPath);
            return;
        }
        if (Accept)
        {
            File.WriteAllText(verifiedPath, received, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Delete(receivedPath);
            return;
        }
        File.WriteAllText(receivedPath, received, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        string name = Path.GetFileName(verifiedPath);
        string hint = $"Received output is in {Path.GetFileName(receivedPath)}; if it is right, rerun with {AcceptVariable}=1 (or rename it) and review the change.";
        failures.Add(verified is null
            ? $"{name} does not exist yet. {hint}\n{Excerpt(received)}"
            : $"{name} differs from the received output (- verified, + received). {hint}\n{Diff(verified, received)}");
    }

    private static string Excerpt(string text)
    {
        var lines = text.Split('\n');
        return string.Join("\n", lines.Take(40)) + (lines.Length > 40 ? $"\n... ({lines.Length - 40} more lines)" : "");
    }

    /// <summary>A unified-style line diff: changed lines with <see cref="DiffContextLines"/> lines of context, hunks headed by line numbers.</summary>
    public static string Diff(string verified, string received)
    {
        var lines = new InlineDiffBuilder(new Differ()).BuildDiffModel(verified, received, ignoreWhitespace: false).Lines;
        var show = new bool[lines.Count];
        for (int i = 0; i < lines.Count; i++)
        {
            if (lines[i].Type is ChangeType.Unchanged) continue;
            for (int j = Math.Max(0, i - DiffContextLines); j <= Math.Min(lines.Count - 1, i + DiffContextLines); j++) show[j] = true;
        }

        var sb = new StringBuilder();
        int written = 0, verifiedLine = 0, receivedLine = 0;
        bool gap = true;
        for (int i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.Type != ChangeType.Inserted) verifiedLine++;
            if (line.Type != ChangeType.Deleted) receivedLine++;
            if (!show[i])
            {
                gap = true;
                continue;
            }
            if (written >= MaxDiffLines)
            {
                sb.Append("... (diff cut; compare the files)\n");
                break;
            }
            if (gap) sb.Append(CultureInfo.InvariantCulture, $"@@ verified line {verifiedLine}, received line {receivedLine} @@\n");
            gap = false;
            char mark = line.Type switch { ChangeType.Inserted => '+', ChangeType.Deleted => '-', _ => ' ' };
            sb.Append(mark).Append(' ').Append(line.Text).Append('\n');
            written++;
        }
        return sb.ToString();
    }

    [GeneratedRegex("GeneratedCode\\(\"ConvGen\\.Generator\", \"[^\"]*\"\\)")]
    private static partial Regex GeneratedCodeVersion();

    [GeneratedRegex("\\s+")]
    private static partial Regex WhitespaceRun();
}
