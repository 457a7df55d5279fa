using System.Linq;
using ConvGen.Generator.Tests.Helpers;
using Xunit;

namespace ConvGen.Generator.Tests;

/// <summary>
/// The generator must never throw, whatever it is given: malformed or extreme input yields compiler errors, ConvGen
/// diagnostics or nothing, never CS8785 (a generator exception), AD0001 or CONVGEN999 (an exception the generator caught).
/// </summary>
public sealed class RobustnessTests
{
    public static TheoryData<string, string> MalformedSources => new()
    {
        { "incomplete attribute", "using ConvGen; [Conv2D(3, public partial class C;" },
        { "incomplete argument list", "using ConvGen; [Conv2D(3,] public partial class C;" },
        { "missing arguments", "using ConvGen; [Conv2D] public partial class C;" },
        { "one argument", "using ConvGen; [Conv2D(3)] public partial class C;" },
        { "three arguments", "using ConvGen; [Conv2D(3, 3, 3)] public partial class C;" },
        { "string argument", "using ConvGen; [Conv2D(\"a\", 2)] public partial class C;" },
        { "null argument", "using ConvGen; [Conv2D(null, 2)] public partial class C;" },
        { "double argument", "using ConvGen; [Conv2D(3.5, 2)] public partial class C;" },
        { "missing named value", "using ConvGen; [Conv2D(3, 3, Filters = )] public partial class C;" },
        { "unknown named argument", "using ConvGen; [Conv2D(3, 3, Kernels = 4)] public partial class C;" },
        { "wrongly typed named argument", "using ConvGen; [Conv2D(3, 3, Padding = 1, UseBias = 2, Filters = true)] public partial class C;" },
        { "enum as int", "using ConvGen; [Conv2D(3, 3, Activation = (Activation)1, Padding = (Padding)1)] public partial class C;" },
        { "duplicate attribute", "using ConvGen; [Conv2D(3, 3)][Conv2D(5, 5)] public partial class C;" },
        { "attribute on struct", "using ConvGen; [Conv2D(3, 3)] public partial struct S;" },
        { "attribute on record struct", "using ConvGen; [Conv2D(3, 3)] public partial record struct S;" },
        { "attribute on record", "using ConvGen; [Conv2D(3, 3)] public partial record R(int X);" },
        { "attribute on interface", "using ConvGen; [Conv2D(3, 3)] public partial interface I;" },
        { "attribute on enum", "using ConvGen; [Conv2D(3, 3)] public enum E { A }" },
        { "attribute on delegate", "using ConvGen; [Conv2D(3, 3)] public delegate void D();" },
        { "attribute on method", "using ConvGen; public partial class C { [Conv2D(3, 3)] public void M() { } }" },
        { "attribute on field", "using ConvGen; public partial class C { [Conv2D(3, 3)] public int F; }" },
        { "file-local class", "using ConvGen; [Conv2D(3, 3)] file partial class C;" },
        { "class without a body", "using ConvGen; [Conv2D(3, 3)] public partial class C" },
        { "all int.MaxValue", "using ConvGen; [Conv2D(int.MaxValue, int.MaxValue, Filters = int.MaxValue)] public partial class C;" },
        { "all int.MinValue", "using ConvGen; [Conv2D(int.MinValue, int.MinValue, Filters = int.MinValue, InputChannels = int.MinValue, Stride = int.MinValue, Dilation = int.MinValue)] public partial class C;" },
        { "huge dilation", "using ConvGen; [Conv2D(3, 3, Dilation = int.MaxValue)] public partial class C;" },
        { "overflowing constant", "using ConvGen; [Conv2D(3, 3, Filters = int.MaxValue + 1)] public partial class C;" },
        { "unchecked overflow", "using ConvGen; [Conv2D(3, 3, Filters = unchecked(int.MaxValue + 1))] public partial class C;" },
        { "non-constant", "using ConvGen; public partial class C { static int n = 3; } [Conv2D(3, 3, Filters = C.n)] public partial class D;" },
        { "generic nested in generic", "using ConvGen; public class O<T> { [Conv2D(3, 3)] public class C<U>; }" },
        { "deeply nested, not partial", "using ConvGen; namespace A.B; class X { struct Y { [Conv2D(1, 1)] partial class Z; } }" },
        { "attribute alias", "using C2 = ConvGen.Conv2DAttribute; [C2(3, 3)] public partial class C;" },
        { "fully qualified attribute", "[global::ConvGen.Conv2DAttribute(1, 1)] public partial class C;" },
        { "a different Conv2D attribute", "namespace Other { public class Conv2DAttribute : System.Attribute { public Conv2DAttribute(string s) { } } } namespace N { using Other; [Conv2D(\"x\")] public partial class C; }" },
        { "garbage", "[Conv2D(3, 3)] }}} partial class ;;; [[[ Conv2D" },
    };

    [Theory]
    [MemberData(nameof(MalformedSources))]
    public void NeverThrows(string description, string source)
    {
        var result = AssertNoCrash(description, source);
        // Whatever was generated must not add errors of its own.
        Assert.True(result.GeneratedCodeProblems.Count == 0, $"{description}:\n{Snapshot.Format(result.GeneratedCodeProblems)}");
    }

    private const string NamelessClass = "using ConvGen; [Conv2D(3, 3)] public partial class { }";

    [Fact]
    public void NamelessClassNeverThrows() => AssertNoCrash("class without a name", NamelessClass);

    [Fact]
    public void NamelessClassGeneratesNothing()
    {
        var result = AssertNoCrash("class without a name", NamelessClass);
        Assert.Empty(result.Sources);
        Assert.Empty(result.GeneratedCodeProblems);
    }

    private const string KeywordNamedClass = "using ConvGen; namespace N; [Conv2D(3, 3)] public partial class @class;";

    [Fact]
    public void KeywordNamedClassGeneratesValidCode()
    {
        var result = AssertNoCrash("keyword-named class", KeywordNamedClass);
        Assert.Equal("N.class.g.cs", Assert.Single(result.Sources).HintName);
        Assert.Empty(result.OutputDiagnostics.Where(d => d.Severity >= Microsoft.CodeAnalysis.DiagnosticSeverity.Warning));
    }

    private static GeneratorResult AssertNoCrash(string description, string source)
    {
        var result = GeneratorRunner.Run(source);
        Assert.True(result.RunResult.Exception is null, $"{description}: {result.RunResult.Exception}");
        var crashes = result.GeneratorDiagnostics.Concat(result.OutputDiagnostics)
            .Where(d => d.Id is "CS8785" or "AD0001" or "CONVGEN999")
            .ToList();
        Assert.True(crashes.Count == 0, $"{description}:\n{Snapshot.Format(crashes)}");
        return result;
    }

    [Theory]
    [InlineData("int.MaxValue, int.MaxValue, Filters = int.MaxValue")]
    [InlineData("65537, 1")]
    [InlineData("1, 1, InputChannels = 16384, Filters = 16385")]
    [InlineData("3, 3, Dilation = 32768")]
    public void ExtremeSizesAreDiagnosedNotGenerated(string arguments)
    {
        var result = GeneratorRunner.Run($"using ConvGen; [Conv2D({arguments})] public partial class C;");
        Assert.Null(result.RunResult.Exception);
        Assert.Contains(result.GeneratorDiagnostics, d => d.Id == "CONVGEN015");
        Assert.Empty(result.Sources);
    }
}
