using System.Linq;
using ConvGen.Generator.Tests.Helpers;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ConvGen.Generator.Tests;

/// <summary>
/// Generated code must compile cleanly wherever a user may put a [Conv2D] class: inside other kinds of types, next to
/// user types whose names shadow what the generated code uses, and with every option combination. No snapshots: these
/// only check that the output compilation has no errors or warnings at all.
/// </summary>
public sealed class CompilationTests
{
    public static TheoryData<string, string> Placements => new()
    {
        { "nested in a struct", "using ConvGen; namespace N; public partial struct Outer { [Conv2D(3, 3)] public partial class Inner; }" },
        { "nested in a record", "using ConvGen; namespace N; public partial record Outer(int X) { [Conv2D(3, 3)] public partial class Inner; }" },
        { "nested in a record struct", "using ConvGen; namespace N; public partial record struct Outer(int X) { [Conv2D(3, 3)] public partial class Inner; }" },
        { "nested in an interface", "using ConvGen; namespace N; public partial interface IOuter { [Conv2D(3, 3)] public partial class Inner; }" },
        { "nested in a static class", "using ConvGen; namespace N; public static partial class Outer { [Conv2D(3, 3)] public partial class Inner; }" },
        { "three levels deep", "using ConvGen; namespace A.B.C; partial class X { partial struct Y { [Conv2D(2, 2)] internal sealed partial class Z; } }" },
        { "block-scoped namespaces", "namespace A { namespace B { [ConvGen.Conv2D(1, 1)] public partial class C { } } }" },
        { "private nested class", "using ConvGen; public partial class Outer { [Conv2D(3, 3)] private sealed partial class Inner { } }" },
        { "user members", "using ConvGen; [Conv2D(3, 3)] public partial class C { public int Other() => KernelHeight + Filters; }" },
        { "shadowing type names", """
            using ConvGen;
            namespace N
            {
                public class Math { }
                public class Vector { }
                public class Span<T> { }
                public class Unsafe { }
                public class MemoryMarshal { }
                public class ArgumentException { }
                public class Random { }
                public class KernelGuard { }
                [Conv2D(3, 3, Filters = 8, InputChannels = 5, Padding = Padding.Same, Stride = 2)]
                public partial class C;
            }
            """ },
        { "namespace named System", "using ConvGen; namespace N.System { [Conv2D(3, 3)] public partial class C; }" },
        { "namespace named ConvGen inside user namespace", "namespace N.ConvGen { [global::ConvGen.Conv2D(3, 3)] public partial class C; }" },
        { "class named like a runtime type", "using ConvGen; namespace N; [Conv2D(3, 3)] public partial class Tensor;" },
        { "class in ConvGen.Generated", "namespace ConvGen.Generated; [Conv2D(3, 3)] public partial class C;" },
        { "class named Generated", "using ConvGen; namespace N; [Conv2D(3, 3)] public partial class Generated;" },
        { "class named ConvGen", "namespace N; [global::ConvGen.Conv2D(3, 3)] public partial class ConvGen;" },
        { "unicode class name", "using ConvGen; namespace N; [Conv2D(3, 3)] public partial class Fälter;" },
        { "two classes, one file", "using ConvGen; namespace N; [Conv2D(3, 3)] public partial class A; [Conv2D(5, 5, Padding = Padding.Same)] public partial class B;" },
        { "partial in two parts", "using ConvGen; namespace N; [Conv2D(3, 3)] public partial class C; public partial class C { public int X; }" },
        { "named constructor arguments", "using ConvGen; [Conv2D(kernelWidth: 5, kernelHeight: 1)] public partial class C;" },
        { "constant expressions", "using ConvGen; public static class K { public const int Size = 3; } [Conv2D(K.Size, K.Size * 2 - 1, Filters = 1 << 4)] public partial class C;" },
    };

    [Theory]
    [MemberData(nameof(Placements))]
    public void CompilesCleanly(string description, string source)
    {
        var result = GeneratorRunner.Run(source);
        Assert.Null(result.RunResult.Exception);
        Assert.True(result.GeneratorDiagnostics.IsEmpty, $"{description}:\n{Snapshot.Format(result.GeneratorDiagnostics, result.Input)}");
        Assert.NotEmpty(result.Sources);
        var problems = result.OutputDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, $"{description}:\n{Snapshot.Format(problems, result.Input)}");
    }

    [Theory]
    [InlineData(1, 1)] // everything scalar and unrolled
    [InlineData(4, 16)] // vector channels in the input gradient; filters a multiple of every vector width (no scalar tail)
    [InlineData(5, 17)] // looped channels; 4-vector filter blocks, single vectors and a scalar tail
    public void EveryOptionCombinationCompiles(int inputChannels, int filters)
    {
        // All padding x bias x activation x unrolled/looped x stride x dilation combinations for one channel shape, in one compilation.
        var classes = from padding in new[] { "Valid", "Same" }
                      from bias in new[] { "true", "false" }
                      from activation in new[] { "None", "ReLU" }
                      from kernel in new[] { "2, 3", "9, 8" }
                      from geometry in new[] { "", ", StrideHeight = 2, DilationWidth = 3" }
                      select $"[Conv2D({kernel}, InputChannels = {inputChannels}, Filters = {filters}, Padding = Padding.{padding}, UseBias = {bias}, Activation = Activation.{activation}{geometry})]";
        var source = "using ConvGen;\nnamespace N;\n" + string.Join("\n", classes.Select((attribute, i) => $"{attribute} public partial class C{i};"));
        var result = GeneratorRunner.Run(source);
        Assert.Null(result.RunResult.Exception);
        Assert.Equal(32, result.Sources.Count);
        Assert.All(result.GeneratorDiagnostics, d => Assert.Equal("CONVGEN012", d.Id));
        var problems = result.OutputDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, Snapshot.Format(problems.Take(20), result.Input));
    }
}
