extern alias generator;

using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Threading;
using generator::ConvGen.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace ConvGen.Onnx.Tests;

/// <summary>Runs the generator in memory on a class with <c>[OnnxModel]</c> and an ONNX file, the way a consumer build does.</summary>
internal static class InMemoryImport
{
    private static readonly Lazy<MetadataReference[]> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Append(typeof(OnnxModelAttribute).Assembly.Location)
            .Distinct()
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToArray());

    private static int s_count;

    /// <summary>An additional file on disk (the generator reads an ONNX file's bytes from its path).</summary>
    private sealed class FileText(string path) : AdditionalText
    {
        public override string Path { get; } = path;

        public override SourceText? GetText(CancellationToken cancellationToken = default) => SourceText.From(File.ReadAllText(Path));
    }

    private const string Source = """
        using ConvGen;

        namespace Imported;

        [OnnxModel("model.onnx")]
        public partial class Net;
        """;

    /// <summary>The generator's diagnostics and the compilation after it, for <paramref name="bytes"/> as <c>model.onnx</c>.</summary>
    public static (ImmutableArray<Diagnostic> Diagnostics, Compilation Output) Generate(byte[] bytes)
    {
        string directory = Path.Combine(Path.GetTempPath(), $"convgen-import-{Environment.ProcessId}-{Interlocked.Increment(ref s_count)}");
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "model.onnx");
        File.WriteAllBytes(path, bytes);
        try
        {
            var parse = new CSharpParseOptions(LanguageVersion.Latest);
            var compilation = CSharpCompilation.Create($"Imported{s_count}", [CSharpSyntaxTree.ParseText(Source, parse)], References.Value,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, nullableContextOptions: NullableContextOptions.Enable));
            GeneratorDriver driver = CSharpGeneratorDriver.Create([new ConvGenerator().AsSourceGenerator()], [new FileText(path)], parse);
            driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
            return (diagnostics, output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// The importer alone, without the compiler (thousands of files a second): <paramref name="bytes"/> as the file of a class
    /// <c>Net</c>, the network model it becomes (null when it does not) and the diagnostics.
    /// </summary>
    public static generator::ConvGen.Generator.Models.NetworkParseResult ImportDirectly(byte[] bytes) => ConvGenerator.Parser.ImportOnnx(
        new OnnxTarget(new generator::ConvGen.Generator.Models.TypeTarget(null, generator::ConvGen.Generator.Helpers.EquatableArray<generator::ConvGen.Generator.Models.ContainingType>.Empty, "Net", "Net", "Net.g.cs"),
            "Net", "model.onnx", null, generator::ConvGen.Generator.Helpers.EquatableArray<generator::ConvGen.Generator.Models.DiagnosticInfo>.Empty),
        [new OnnxFileData("/models/model.onnx", new generator::ConvGen.Generator.Helpers.EquatableArray<byte>(bytes), null)]);

    /// <summary>Imports <paramref name="bytes"/>, compiles, loads, and builds the network for <paramref name="maxBatchSize"/>; fails on any error.</summary>
    public static Model Import(byte[] bytes, int maxBatchSize = 16)
    {
        var (diagnostics, output) = Generate(bytes);
        var errors = diagnostics.Concat(output.GetDiagnostics()).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0) throw new InvalidOperationException("Import failed:\n" + string.Join("\n", errors.Take(10)));
        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        if (!emit.Success) throw new InvalidOperationException("Emit failed:\n" + string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(10)));
        stream.Position = 0;
        var assembly = new AssemblyLoadContext($"imported-{s_count}", isCollectible: true).LoadFromStream(stream);
        var type = assembly.GetType("Imported.Net")!;
        return (Model)Activator.CreateInstance(type, maxBatchSize, 0)!;
    }
}
