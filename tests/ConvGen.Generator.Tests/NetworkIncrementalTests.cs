using System.Linq;
using ConvGen.Generator.Tests.Helpers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;
using static ConvGen.Generator.Tests.IncrementalTests;

namespace ConvGen.Generator.Tests;

/// <summary>
/// The compiled-network pipeline's caching, as <see cref="IncrementalTests"/> checks the [Conv2D] one: edits that cannot change
/// a network hit the cache at every tracked step, a changed layer re-emits that network only, a moved diagnostic re-emits
/// nothing, and no step output holds a symbol, syntax node or other compilation object.
/// </summary>
public sealed class NetworkIncrementalTests
{
    private static readonly string[] NetworkSteps =
    [
        ConvGenerator.TrackingNames.NetworkParse,
        ConvGenerator.TrackingNames.NetworkDiagnostics,
        ConvGenerator.TrackingNames.NetworkModels,
    ];

    // A residual network and a plain one; the 9x9 convolution also sends a CONVGEN012 info through the diagnostics step.
    private const string Source = """
        using ConvGen;

        namespace Nets;

        [Input(16, 16, 1)]
        [Conv2D(3, 3, Filters = 8, Padding = Padding.Same, Activation = Activation.ReLU, Name = "stem")]
        [Conv2D(3, 3, Filters = 8, Padding = Padding.Same)]
        [Add("stem", Activation = Activation.ReLU)]
        [MaxPool2D(2)]
        [Flatten]
        [Dense(10)]
        public partial class Residual;

        [Input(12, 12, 1)]
        [Conv2D(9, 9, Filters = 4)]
        [Flatten]
        [Dense(2)]
        public partial class Plain;

        public class Helper
        {
            public int Compute() => 1;
        }
        """;

    private const string Other = """
        namespace Nets;

        public static class Unrelated
        {
            public static int Value() => 1;
        }
        """;

    private static void AssertNetworkStepsCached(GeneratorResult first, GeneratorResult second)
    {
        foreach (var name in NetworkSteps)
        {
            var before = Outputs(first, name);
            var after = Outputs(second, name);
            Assert.Equal(before.Count, after.Count);
            Assert.All(after, o => Assert.Contains(o.Reason, CachedReasons));
            Assert.Equal(before.Select(o => o.Value), after.Select(o => o.Value));
        }
        Assert.Equal(first.Sources.Select(s => (s.HintName, s.SourceText.ToString())), second.Sources.Select(s => (s.HintName, s.SourceText.ToString())));
        Assert.All(second.RunResult.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void Every_network_step_is_tracked_and_produces_output()
    {
        var result = GeneratorRunner.Run(Source, Other);
        foreach (var name in NetworkSteps)
        {
            var outputs = Outputs(result, name);
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.Equal(IncrementalStepRunReason.New, o.Reason));
        }
        Assert.Equal(["Nets.Plain.g.cs", "Nets.Residual.g.cs"], result.Sources.Select(s => s.HintName));
    }

    [Fact]
    public void Unrelated_edits_are_cached()
    {
        var first = GeneratorRunner.Run(Source, Other);
        var added = GeneratorRunner.Run(first.Driver, first.Input.AddSyntaxTrees(
            CSharpSyntaxTree.ParseText("namespace Nets; public record Point(int X, int Y);", GeneratorRunner.ParseOptions, "Added.cs")));
        AssertNetworkStepsCached(first, added);
        var otherFile = GeneratorRunner.Run(first.Driver, ReplaceText(first.Input, "Source1.cs", "=> 1;", "=> 2 + 2;"));
        AssertNetworkStepsCached(first, otherFile);
        var sameFile = GeneratorRunner.Run(first.Driver, ReplaceText(first.Input, GeneratorRunner.SourcePath, "public int Compute() => 1;", "public int Compute() { return 40 + 2; }"));
        AssertNetworkStepsCached(first, sameFile);
    }

    [Fact]
    public void Changing_a_layer_re_emits_that_network_only()
    {
        var first = GeneratorRunner.Run(Source, Other);
        var second = GeneratorRunner.Run(first.Driver, ReplaceText(first.Input, GeneratorRunner.SourcePath, "[Add(\"stem\", Activation = Activation.ReLU)]", "[Add(\"stem\")]"));
        var models = Outputs(second, ConvGenerator.TrackingNames.NetworkModels);
        Assert.Contains(IncrementalStepRunReason.Modified, models.Select(o => o.Reason));
        Assert.DoesNotContain(IncrementalStepRunReason.New, models.Select(o => o.Reason));
        string Text(GeneratorResult r, string hint) => r.Sources.Single(s => s.HintName == hint).SourceText.ToString();
        Assert.NotEqual(Text(first, "Nets.Residual.g.cs"), Text(second, "Nets.Residual.g.cs"));
        Assert.Contains("new global::ConvGen.Add(\"stem\"), // add", Text(second, "Nets.Residual.g.cs"));
        Assert.Equal(Text(first, "Nets.Plain.g.cs"), Text(second, "Nets.Plain.g.cs"));
    }

    [Fact]
    public void Moving_a_diagnostic_re_emits_no_code()
    {
        var first = GeneratorRunner.Run(Source, Other);
        var second = GeneratorRunner.Run(first.Driver, ReplaceText(first.Input, GeneratorRunner.SourcePath, "using ConvGen;", "using ConvGen;\n\n// moved\n"));
        Assert.Contains(IncrementalStepRunReason.Modified, Outputs(second, ConvGenerator.TrackingNames.NetworkDiagnostics).Select(o => o.Reason));
        Assert.All(Outputs(second, ConvGenerator.TrackingNames.NetworkModels), o => Assert.Contains(o.Reason, CachedReasons));
        Assert.Equal(first.Sources.Select(s => s.SourceText.ToString()), second.Sources.Select(s => s.SourceText.ToString()));
        Assert.Equal("CONVGEN012", Assert.Single(second.GeneratorDiagnostics).Id);
    }

    [Fact]
    public void Network_step_outputs_hold_no_compilation_objects()
    {
        // A broken network and an orphaned [Add] too, so every kind of output (model, diagnostics, orphan diagnostics) is walked.
        var result = GeneratorRunner.Run(Source + """

            [Input(8, 8, 1)]
            [Conv2D(3, 3, Filters = 4, Name = "a")]
            [Add("missing")]
            public partial class Broken;

            [Conv2D(3, 3)]
            [Add("x")]
            public partial class Orphan;
            """, Other);
        Assert.Contains(result.GeneratorDiagnostics, d => d.Id == "CONVGEN029");
        Assert.Contains(result.GeneratorDiagnostics, d => d.Id == "CONVGEN016");
        foreach (var name in NetworkSteps.Append(ConvGenerator.TrackingNames.Orphans))
        {
            var outputs = Outputs(result, name);
            Assert.NotEmpty(outputs);
            for (int i = 0; i < outputs.Count; i++) ObjectGraph.AssertHoldsNoCompilationObjects(outputs[i].Value, $"{name}[{i}]");
        }
    }
}
