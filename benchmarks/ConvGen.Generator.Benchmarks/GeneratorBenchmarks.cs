using System;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Attributes;
using ConvGen.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace ConvGen.Generator.Benchmarks;

/// <summary>
/// The generator over a project of 100 [Conv2D] layers in ten files (<see cref="LayerProject"/>), the way a build and an
/// IDE run it:
/// <list type="bullet">
/// <item><see cref="ColdRun"/>: a new driver over the whole project, as a command-line build does (generating and
/// parsing 100 files).</item>
/// <item><see cref="EditTouchingNoAttribute"/>: the driver of a previous run, after a method and a comment were added to a
/// file without attributes, as an IDE does on a keystroke. Nothing should run again (IncrementalScaleTests checks that).</item>
/// <item><see cref="EditTouchingNoAttributeInALayerFile"/>: the same, after a method body was edited in a file of ten
/// layers: their attributes are read again, into equal models, and nothing is emitted.</item>
/// <item><see cref="EditChangingOneAttribute"/>: one layer's filter count changed: that layer alone is generated again.</item>
/// </list>
/// Each iteration runs on a fresh <see cref="Compilation.Clone"/>, so no symbol or bound attribute is cached from the
/// iteration before, as after a real edit.
/// </summary>
[MemoryDiagnoser]
public class GeneratorBenchmarks
{
    private const int Layers = 100;

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview, DocumentationMode.Parse);

    private CSharpCompilation _project = null!;
    private CSharpCompilation _unrelatedEdit = null!, _layerFileEdit = null!, _attributeEdit = null!;
    private GeneratorDriver _afterFirstRun = null!;

    [GlobalSetup]
    public void Setup()
    {
        // The references of a .NET app: the platform assemblies, and the runtime that holds the attribute.
        var references = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append(typeof(Conv2DAttribute).Assembly.Location)
            .Where(path => path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .DistinctBy(Path.GetFileName)
            .Select(path => MetadataReference.CreateFromFile(path));
        var trees = LayerProject.Files(Layers).Select(f => CSharpSyntaxTree.ParseText(f.Text, ParseOptions, f.Path));
        _project = CSharpCompilation.Create("Zoo", trees, references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));

        _afterFirstRun = NewDriver().RunGenerators(_project);
        int generated = _afterFirstRun.GetRunResult().GeneratedTrees.Length;
        if (generated != Layers) throw new InvalidOperationException($"The first run generated {generated} files, not {Layers}.");

        _unrelatedEdit = Apply(_project, LayerProject.AddMethodToUnrelatedFile);
        _layerFileEdit = Apply(_project, LayerProject.EditMethodBodyOfLayer(3));
        _attributeEdit = Apply(_project, LayerProject.ChangeAttributeOfLayer(3));
    }

    [Benchmark(Baseline = true)]
    public GeneratorDriver ColdRun() => NewDriver().RunGenerators(_project.Clone());

    [Benchmark]
    public GeneratorDriver EditTouchingNoAttribute() => _afterFirstRun.RunGenerators(_unrelatedEdit.Clone());

    [Benchmark]
    public GeneratorDriver EditTouchingNoAttributeInALayerFile() => _afterFirstRun.RunGenerators(_layerFileEdit.Clone());

    [Benchmark]
    public GeneratorDriver EditChangingOneAttribute() => _afterFirstRun.RunGenerators(_attributeEdit.Clone());

    private static GeneratorDriver NewDriver()
        => CSharpGeneratorDriver.Create([new ConvGenerator().AsSourceGenerator()], parseOptions: ParseOptions);

    /// <summary>The project after <paramref name="edit"/>, as an editor produces it: the one tree replaced by its edited text.</summary>
    private static CSharpCompilation Apply(CSharpCompilation compilation, LayerProject.Edit edit)
    {
        var tree = compilation.SyntaxTrees.Single(t => t.FilePath == edit.Path);
        var text = tree.GetText();
        return compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(SourceText.From(edit.Apply(text.ToString()))));
    }
}
