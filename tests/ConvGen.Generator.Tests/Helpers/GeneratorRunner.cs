using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace ConvGen.Generator.Tests.Helpers;

/// <summary>One run of <see cref="ConvGenerator"/> over an in-memory compilation.</summary>
public sealed class GeneratorResult
{
    private readonly Lazy<ImmutableArray<Diagnostic>> _outputDiagnostics;

    public GeneratorResult(GeneratorDriver driver, Compilation input, Compilation output, GeneratorRunResult runResult, ImmutableArray<Diagnostic> generatorDiagnostics)
    {
        Driver = driver;
        Input = input;
        Output = output;
        RunResult = runResult;
        GeneratorDiagnostics = generatorDiagnostics;
        _outputDiagnostics = new(() => output.GetDiagnostics());
    }

    /// <summary>The driver after the run; run it again on an edited compilation to test caching.</summary>
    public GeneratorDriver Driver { get; }

    /// <summary>The compilation the generator saw.</summary>
    public Compilation Input { get; }

    /// <summary>The input plus the generated trees.</summary>
    public Compilation Output { get; }

    /// <summary>The generator's own result: sources, diagnostics, exception and tracked steps.</summary>
    public GeneratorRunResult RunResult { get; }

    /// <summary>Diagnostics the generator reported (the driver's, including CS8785 if the generator threw).</summary>
    public ImmutableArray<Diagnostic> GeneratorDiagnostics { get; }

    /// <summary>Compiler diagnostics of <see cref="Output"/> (a full compile, so computed only when asked for).</summary>
    public ImmutableArray<Diagnostic> OutputDiagnostics => _outputDiagnostics.Value;

    /// <summary>The generated sources, ordered by hint name.</summary>
    public IReadOnlyList<GeneratedSourceResult> Sources => RunResult.GeneratedSources.OrderBy(s => s.HintName, StringComparer.Ordinal).ToList();

    /// <summary>Errors and warnings of the output compilation located in a generated tree.</summary>
    public IReadOnlyList<Diagnostic> GeneratedCodeProblems => OutputDiagnostics
        .Where(d => d.Severity >= DiagnosticSeverity.Warning)
        .Where(d => d.Location.SourceTree is { } tree && RunResult.GeneratedSources.Any(s => s.SyntaxTree == tree))
        .ToList();
}

/// <summary>Builds a compilation from C# text and drives the generator over it, tracking incremental steps.</summary>
public static class GeneratorRunner
{
    /// <summary>File path of the first user tree; more trees are Source1.cs, Source2.cs, ...</summary>
    public const string SourcePath = "Source.cs";

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview, DocumentationMode.Parse);

    private static readonly CSharpCompilationOptions CompilationOptions = new CSharpCompilationOptions(
            OutputKind.DynamicallyLinkedLibrary,
            nullableContextOptions: NullableContextOptions.Enable,
            allowUnsafe: false)
        // A referenced assembly's version may differ from the one the runtime binds; that is no concern here.
        .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic> { ["CS1701"] = ReportDiagnostic.Suppress, ["CS1702"] = ReportDiagnostic.Suppress });

    /// <summary>Every trusted platform assembly of the test host, plus the runtime (ConvGen.dll) that holds the attribute.</summary>
    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append(typeof(Conv2DAttribute).Assembly.Location);
        return paths
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .GroupBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase)
            .Select(g => (MetadataReference)MetadataReference.CreateFromFile(g.First()))
            .ToImmutableArray();
    });

    /// <summary>Parses <paramref name="source"/> as <see cref="SourcePath"/> (and each of <paramref name="moreSources"/> as SourceN.cs).</summary>
    public static CSharpCompilation CreateCompilation(string source, params string[] moreSources)
    {
        var trees = new[] { source }.Concat(moreSources)
            .Select((text, i) => CSharpSyntaxTree.ParseText(text, ParseOptions, i == 0 ? SourcePath : $"Source{i}.cs"));
        return CSharpCompilation.Create("ConvGen.Generator.Tests.Input", trees, References.Value, CompilationOptions);
    }

    /// <summary>A fresh driver with step tracking on, the way the caching tests need it.</summary>
    public static GeneratorDriver CreateDriver() => CSharpGeneratorDriver.Create(
        new[] { new ConvGenerator().AsSourceGenerator() },
        parseOptions: ParseOptions,
        driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Compiles <paramref name="source"/> and runs the generator once.</summary>
    public static GeneratorResult Run(string source, params string[] moreSources) => Run(CreateDriver(), CreateCompilation(source, moreSources));

    /// <summary>Runs <paramref name="driver"/> (fresh or from an earlier run) over <paramref name="compilation"/>.</summary>
    public static GeneratorResult Run(GeneratorDriver driver, Compilation compilation)
    {
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var runResult = driver.GetRunResult().Results.Single();
        return new GeneratorResult(driver, compilation, output, runResult, generatorDiagnostics);
    }
}

public static class DiagnosticExtensions
{
    /// <summary>
    /// The source text a diagnostic points at, or null when it has no source location. The generator reports locations
    /// as file path + span (<c>Location.Create</c>, no syntax tree, so no tree is held in the pipeline); such a location is
    /// resolved through the tree of <paramref name="compilation"/> with the same path.
    /// </summary>
    public static string? LocatedText(this Diagnostic diagnostic, Compilation? compilation = null)
    {
        var location = diagnostic.Location;
        if (location == Location.None) return null;
        string path = location.GetLineSpan().Path;
        var tree = location.SourceTree ?? compilation?.SyntaxTrees.FirstOrDefault(t => t.FilePath == path);
        return tree?.GetText().ToString(location.SourceSpan);
    }
}
