using System;
using System.Linq;
using ConvGen.Generator.Tests.Helpers;
using ConvGen.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace ConvGen.Generator.Tests;

/// <summary>
/// Incremental caching at project scale (issue #7): 100 annotated layers in ten files (<see cref="LayerProject"/>).
/// An edit that touches no attribute must re-run nothing: every tracked step Cached or Unchanged and no file regenerated
/// (checked by <see cref="IncrementalTests.AssertAllCached"/>). Changing one attribute must regenerate that layer only,
/// which also shows the checks can see a change. benchmarks/ConvGen.Generator.Benchmarks times the same runs.
/// </summary>
public sealed class IncrementalScaleTests
{
    private const int Layers = 100;

    /// <summary>The first (cold) run, shared: drivers and compilations are immutable, so every test starts from it.</summary>
    private static readonly Lazy<GeneratorResult> First = new(() =>
    {
        var trees = LayerProject.Files(Layers).Select(f => CSharpSyntaxTree.ParseText(f.Text, GeneratorRunner.ParseOptions, f.Path));
        return GeneratorRunner.Run(GeneratorRunner.CreateDriver(), GeneratorRunner.CreateCompilation("").RemoveAllSyntaxTrees().AddSyntaxTrees(trees));
    });

    [Fact]
    public void EveryLayerIsGenerated()
    {
        var first = First.Value;
        Assert.Null(first.RunResult.Exception);
        Assert.Equal(Layers, first.Sources.Count);
        Assert.Equal(Layers, IncrementalTests.Outputs(first, ConvGenerator.TrackingNames.Models).Count);
        // Only the Infos of the four looped 9x9 layers (24, 49, 74, 99).
        Assert.Equal(4, first.GeneratorDiagnostics.Count(d => d.Id == "CONVGEN012"));
        Assert.All(first.GeneratorDiagnostics, d => Assert.Equal("CONVGEN012", d.Id));
    }

    [Fact]
    public void AddingAMethodToAnUnrelatedFileRerunsNothing() => AssertNothingReruns(LayerProject.AddMethodToUnrelatedFile);

    [Fact]
    public void EditingAMethodBodyInALayerFileRerunsNothing() => AssertNothingReruns(LayerProject.EditMethodBodyOfLayer(3));

    [Fact]
    public void EditingAMethodBodyNextToALoopedLayerRerunsNothing() => AssertNothingReruns(LayerProject.EditMethodBodyOfLayer(24)); // its file has a CONVGEN012

    [Fact]
    public void ChangingOneAttributeRegeneratesThatLayerOnly()
    {
        var first = First.Value;
        var second = Run(first, LayerProject.ChangeAttributeOfLayer(3));

        var models = IncrementalTests.Outputs(second, ConvGenerator.TrackingNames.Models);
        Assert.Equal(Layers, models.Count);
        Assert.Single(models, o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Equal(Layers - 1, models.Count(o => IncrementalTests.CachedReasons.Contains(o.Reason)));

        var changed = first.Sources.Zip(second.Sources)
            .Where(pair => pair.First.SourceText.ToString() != pair.Second.SourceText.ToString())
            .Select(pair => pair.Second.HintName)
            .ToList();
        Assert.Equal(["Zoo.Block0.Layer3.g.cs"], changed);
    }

    private static void AssertNothingReruns(LayerProject.Edit edit)
    {
        var first = First.Value;
        IncrementalTests.AssertAllCached(first, Run(first, edit));
    }

    private static GeneratorResult Run(GeneratorResult previous, LayerProject.Edit edit)
        => GeneratorRunner.Run(previous.Driver, IncrementalTests.ReplaceText(previous.Input, edit.Path, edit.OldText, edit.NewText));
}
