using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using ConvGen.Generator.Tests.Helpers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace ConvGen.Generator.Tests;

/// <summary>
/// The generator's incremental pipeline: edits that cannot change the output must hit the cache at every tracked step
/// (after andrewlock/NetEscapades.EnumGenerators' TestHelpers), real changes must flow through, and no step may hold
/// compilation objects, which would keep whole compilations alive and defeat caching.
/// </summary>
public sealed class IncrementalTests
{
    private static readonly string[] TrackingNames =
    [
        ConvGenerator.TrackingNames.Parse,
        ConvGenerator.TrackingNames.Diagnostics,
        ConvGenerator.TrackingNames.Models,
    ];

    // Two annotated classes: the 9x9 one also sends a CONVGEN012 info through the Diagnostics step.
    private const string Source = """
        using ConvGen;

        namespace Samples;

        [Conv2D(3, 3, Filters = 8, Padding = Padding.Same)]
        public partial class Small;

        [Conv2D(9, 9)]
        public partial class Large;

        public class Helper
        {
            public int Compute() => 1;
        }
        """;

    private const string Other = """
        namespace Samples;

        public static class Unrelated
        {
            public static int Value() => 1;
        }
        """;

    [Fact]
    public void EveryStepIsTrackedAndProducesOutput()
    {
        var result = GeneratorRunner.Run(Source, Other);
        foreach (var name in TrackingNames)
        {
            Assert.True(result.RunResult.TrackedSteps.TryGetValue(name, out var steps), $"No tracked step named '{name}'.");
            Assert.NotEmpty(steps.SelectMany(s => s.Outputs));
            Assert.All(steps.SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.New, o.Reason));
        }
        Assert.Equal(2, result.Sources.Count);
    }

    [Fact]
    public void AddingAnUnrelatedFileIsCached()
    {
        var first = GeneratorRunner.Run(Source, Other);
        var second = GeneratorRunner.Run(first.Driver, first.Input.AddSyntaxTrees(
            CSharpSyntaxTree.ParseText("namespace Samples; public record Point(int X, int Y);", GeneratorRunner.ParseOptions, "Added.cs")));
        AssertAllCached(first, second);
    }

    [Fact]
    public void EditingAMethodInAnotherFileIsCached()
    {
        var first = GeneratorRunner.Run(Source, Other);
        var second = GeneratorRunner.Run(first.Driver, ReplaceText(first.Input, "Source1.cs", "=> 1;", "=> 2 + 2;"));
        AssertAllCached(first, second);
    }

    [Fact]
    public void EditingAMethodAfterTheClassesInTheSameFileIsCached()
    {
        // The annotated classes' tree changes, so the attribute is parsed again, but into equal results.
        var first = GeneratorRunner.Run(Source, Other);
        var second = GeneratorRunner.Run(first.Driver, ReplaceText(first.Input, GeneratorRunner.SourcePath, "public int Compute() => 1;", "public int Compute() { return 40 + 2; }"));
        AssertAllCached(first, second);
    }

    [Fact]
    public void ChangingTheKernelSizeModifiesTheModel()
    {
        var first = GeneratorRunner.Run(Source, Other);
        var second = GeneratorRunner.Run(first.Driver, ReplaceText(first.Input, GeneratorRunner.SourcePath, "[Conv2D(3, 3,", "[Conv2D(5, 5,"));

        var models = Outputs(second, ConvGenerator.TrackingNames.Models);
        Assert.Contains(IncrementalStepRunReason.Modified, models.Select(o => o.Reason));
        Assert.DoesNotContain(IncrementalStepRunReason.New, models.Select(o => o.Reason));
        Assert.NotEqual(Text(first, "Samples.Small.g.cs"), Text(second, "Samples.Small.g.cs"));
        Assert.Contains("public const int KernelHeight = 5;", Text(second, "Samples.Small.g.cs"));
        Assert.Equal(Text(first, "Samples.Large.g.cs"), Text(second, "Samples.Large.g.cs"));
    }

    [Fact]
    public void MovingADiagnosticDoesNotReEmitCode()
    {
        // Lines inserted above the classes move CONVGEN012's location: the diagnostic is new, the models are not.
        var first = GeneratorRunner.Run(Source, Other);
        var second = GeneratorRunner.Run(first.Driver, ReplaceText(first.Input, GeneratorRunner.SourcePath, "using ConvGen;", "using ConvGen;\n\n// moved\n"));

        Assert.Contains(IncrementalStepRunReason.Modified, Outputs(second, ConvGenerator.TrackingNames.Diagnostics).Select(o => o.Reason));
        Assert.All(Outputs(second, ConvGenerator.TrackingNames.Models), o => Assert.Contains(o.Reason, CachedReasons));
        Assert.Equal(first.Sources.Select(s => s.SourceText.ToString()), second.Sources.Select(s => s.SourceText.ToString()));
        Assert.NotEqual(first.GeneratorDiagnostics.Single().Location.GetLineSpan(), second.GeneratorDiagnostics.Single().Location.GetLineSpan());
    }

    [Fact]
    public void StepOutputsHoldNoCompilationObjects()
    {
        // Include diagnostics so their (equatable) info is walked too.
        var result = GeneratorRunner.Run(Source + "\n[Conv2D(3, 3, Filters = 0)] public partial class Broken;\n", Other);
        Assert.Contains(result.GeneratorDiagnostics, d => d.Id == "CONVGEN005");
        foreach (var name in TrackingNames)
        {
            var outputs = Outputs(result, name);
            Assert.NotEmpty(outputs);
            for (int i = 0; i < outputs.Count; i++)
                ObjectGraph.AssertHoldsNoCompilationObjects(outputs[i].Value, $"{name}[{i}]");
        }
    }

    [Fact]
    public void ObjectGraphWalkerFindsForbiddenObjects()
    {
        // The walker itself: a Location hidden in a tuple inside an array must be found.
        var tree = CSharpSyntaxTree.ParseText("class C { }");
        var hidden = new object[] { 1, ("a", new List<object> { tree.GetRoot().GetLocation() }) };
        var error = Assert.ThrowsAny<Exception>(() => ObjectGraph.AssertHoldsNoCompilationObjects(hidden, "root"));
        Assert.Contains("Location", error.Message);
        Assert.ThrowsAny<Exception>(() => ObjectGraph.AssertHoldsNoCompilationObjects(new { Node = tree.GetRoot() }, "root"));
    }

    internal static readonly IncrementalStepRunReason[] CachedReasons = [IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged];

    /// <summary>Every output of every tracked step of the second run is Cached or Unchanged, and the sources are identical.</summary>
    internal static void AssertAllCached(GeneratorResult first, GeneratorResult second)
    {
        foreach (var name in TrackingNames)
        {
            var before = Outputs(first, name);
            var after = Outputs(second, name);
            Assert.Equal(before.Count, after.Count);
            for (int i = 0; i < after.Count; i++)
                Assert.True(CachedReasons.Contains(after[i].Reason), $"Step '{name}' output {i} was {after[i].Reason}; expected Cached or Unchanged.");
            Assert.Equal(before.Select(o => o.Value), after.Select(o => o.Value));
        }
        Assert.Equal(first.Sources.Select(s => (s.HintName, s.SourceText.ToString())), second.Sources.Select(s => (s.HintName, s.SourceText.ToString())));
        Assert.All(second.RunResult.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    internal static List<(object Value, IncrementalStepRunReason Reason)> Outputs(GeneratorResult result, string name)
        => result.RunResult.TrackedSteps.TryGetValue(name, out var steps)
            ? steps.SelectMany(s => s.Outputs).ToList()
            : throw new InvalidOperationException($"No tracked step named '{name}'.");

    private static string Text(GeneratorResult result, string hintName) => result.Sources.Single(s => s.HintName == hintName).SourceText.ToString();

    internal static Compilation ReplaceText(Compilation compilation, string path, string oldText, string newText)
    {
        var tree = compilation.SyntaxTrees.Single(t => t.FilePath == path);
        string text = tree.GetText().ToString();
        Assert.Contains(oldText, text);
        return compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(text.Replace(oldText, newText))));
    }
}

/// <summary>Walks an object graph by reflection (fields, collections, tuples, records) looking for compilation objects.</summary>
public static class ObjectGraph
{
    private static readonly Type[] Forbidden =
    [
        typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxTree), typeof(SyntaxReference), typeof(SemanticModel),
        typeof(Compilation), typeof(Location), typeof(Diagnostic), typeof(AttributeData),
        typeof(SyntaxToken), typeof(SyntaxTrivia), typeof(TypedConstant),
    ];

    public static void AssertHoldsNoCompilationObjects(object? root, string rootName)
        => Walk(root, rootName, new HashSet<object>(ReferenceEqualityComparer.Instance), depth: 0);

    private static void Walk(object? node, string path, HashSet<object> visited, int depth)
    {
        if (node is null) return;
        var type = node.GetType();
        var forbidden = Forbidden.FirstOrDefault(f => f.IsAssignableFrom(type));
        if (forbidden is not null)
            Assert.Fail($"{path} is a {type.FullName}, a {forbidden.Name}: pipeline outputs must hold only equatable values.");
        if (type.IsPrimitive || type.IsEnum || type.IsPointer || node is string or decimal or Type or MemberInfo or Delegate or DiagnosticDescriptor)
            return; // DiagnosticDescriptor: a static, equatable description; its localizable strings hold resource managers.
        if (!type.IsValueType && !visited.Add(node)) return;
        Assert.True(depth < 64, $"{path}: object graph deeper than 64 levels.");

        if (node is IEnumerable items)
        {
            int i = 0;
            foreach (var item in items) Walk(item, $"{path}[{i++}]", visited, depth + 1);
        }
        for (var t = type; t is not null && t != typeof(object) && t != typeof(ValueType); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (field.FieldType.IsPointer || field.FieldType.IsByRefLike) continue;
                Walk(field.GetValue(node), $"{path}.{field.Name}", visited, depth + 1);
            }
        }
    }
}
