using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using ConvGen.Testing;

namespace ConvGen.Generator.Tests.Fuzz;

/// <summary>What a fuzz case must do.</summary>
internal enum Expectation
{
    /// <summary>Well-formed C# that breaks no ConvGen rule: no CONVGEN error, compiles, and every kernel computes the convolution.</summary>
    Valid,

    /// <summary>Breaks ConvGen rules: at least one CONVGEN error, every CONVGEN error among the broken rules' ids, and no code for the class.</summary>
    Invalid,

    /// <summary>Broken C# (or C# the rules do not speak about): only that the generator survives it.</summary>
    Broken,
}

/// <summary>A class a valid case declares, and the convolution its generated kernel must compute (in <paramref name="Groups"/> groups).</summary>
internal sealed record ExpectedKernel(string MetadataName, string HintName, ConvConfig Config, bool Looped, int Groups = 1);

/// <summary>One fuzzed source (one or more files) with what the generator must make of it.</summary>
/// <param name="AllowedErrors">For <see cref="Expectation.Invalid"/>: the ids of the rules the source breaks.</param>
/// <param name="Kernels">For <see cref="Expectation.Valid"/>: the annotated classes, each of which must get one generated file.</param>
/// <param name="Networks">For <see cref="Expectation.Valid"/>: the hint names of the compiled networks it must generate.</param>
internal sealed record FuzzCase(int Index, string Family, string Detail, Expectation Kind, IReadOnlyList<SourceFile> Files,
    IReadOnlySet<string> AllowedErrors, IReadOnlyList<ExpectedKernel> Kernels, IReadOnlyList<string>? Networks = null)
{
    /// <summary>Every file the generator must produce: one per kernel class and one per compiled network.</summary>
    public IEnumerable<string> ExpectedHints => Kernels.Select(k => k.HintName).Concat(Networks ?? []);

    /// <summary>A case whose expectation the oracle derives from <paramref name="spec"/>.</summary>
    public static FuzzCase Judged(int index, string family, string detail, ConvSpec spec)
    {
        var verdict = ConvRules.Judge(spec);
        var files = spec.Render();
        detail = detail.Length == 0 ? "" : detail + "; ";
        if (!verdict.Valid)
            return new(index, family, $"{detail}breaks {string.Join(", ", verdict.Violations)}", Expectation.Invalid, files, verdict.Violations, []);
        var kernel = new ExpectedKernel(spec.MetadataName, spec.FullName + ".g.cs", verdict.Config!, verdict.Looped, verdict.Groups);
        return new(index, family, $"{detail}valid {verdict.Config}{(verdict.Groups > 1 ? $" in {verdict.Groups} groups" : "")}", Expectation.Valid, files, new HashSet<string>(), [kernel]);
    }

    public static FuzzCase Broken(int index, string family, string detail, IReadOnlyList<SourceFile> files)
        => new(index, family, detail, Expectation.Broken, files, new HashSet<string>(), []);

    /// <summary>Well-formed C# with no ConvGen attribute the generator should act on: it must report nothing and generate nothing.</summary>
    public static FuzzCase Unrelated(int index, string family, string detail, IReadOnlyList<SourceFile> files)
        => new(index, family, detail, Expectation.Valid, files, new HashSet<string>(), []);

    /// <summary>Everything needed to reproduce the case by hand.</summary>
    public string Describe(int seed)
    {
        var sb = new StringBuilder($"seed {seed}, case {Index} ({Family}, expected {Kind}): {Detail}\n");
        foreach (var file in Files) sb.Append($"--- {file.Path}\n{file.Text}");
        return sb.ToString();
    }
}

/// <summary>A family of fuzz cases, drawn with probability proportional to <see cref="Weight"/>.</summary>
internal sealed record FuzzFamily(string Name, int Weight, Func<Random, int, FuzzCase> Generate);

/// <summary>
/// Every family of fuzzed sources, in one place. A case is a pure function of (seed, index): its own
/// <see cref="Random"/> picks a family by weight and the family draws the rest, so any case can be regenerated alone.
/// To fuzz a new attribute (e.g. compiled networks: [Input], [MaxPool2D], [Flatten], [Dense] in every wrong order),
/// add a family here whose cases carry their own oracle's verdict; the test's checks are the same for every family.
/// Weights are out of 1000; valid cases are compiled, which costs about 100 ms each, so their share stays small.
/// </summary>
internal static class FuzzFamilies
{
    public static readonly FuzzFamily[] All =
    [
        // Valid classes in varied placements and spellings: compiled in batches, every kernel run against the reference.
        new("valid", 10, (rng, i) => Expect(Expectation.Valid, FuzzCase.Judged(i, "valid", "", SpecFactory.Valid(rng, i, SizeProfile.Runnable)))),
        // Arguments re-drawn from 0, negatives, int limits and the documented limits: the oracle decides which are valid.
        new("extreme-arguments", 40, (rng, i) =>
        {
            var spec = SpecFactory.Valid(rng, i, SizeProfile.Runnable);
            SpecFactory.Extremize(rng, spec);
            return FuzzCase.Judged(i, "extreme-arguments", "", spec);
        }),
        // Valid classes with one to three rules broken on purpose.
        new("broken-rules", 540, InjectedFaults),
        // Well-formed C# that mentions Conv2D without applying ConvGen's attribute to a class.
        new("unrelated", 20, Unrelated),
        // The rest are not valid C#: the generator only has to survive them.
        new("text-mutation", 150, TextMutation),
        new("broken-attribute-syntax", 100, BrokenAttributeSyntax),
        new("duplicate-attribute", 40, DuplicateAttribute),
        new("unknown-named-argument", 30, UnknownNamedArgument),
        new("non-class-target", 40, NonClassTarget),
        new("token-soup", 30, TokenSoup),
        // Compiled networks: layer attributes in valid and wrong orders, shapes that do and do not fit (NetworkFamily.cs).
        new("network", 60, NetworkFamily.Generate),
    ];

    /// <summary>The case's own generator: a pure function of seed and index (no process-randomized hashing).</summary>
    public static Random CaseRandom(int seed, int index) => new(unchecked(seed * 1_000_003 + index));

    public static FuzzCase Generate(int seed, int index)
    {
        var rng = CaseRandom(seed, index);
        int pick = rng.Next(All.Sum(f => f.Weight));
        foreach (var family in All)
        {
            if (pick < family.Weight) return family.Generate(rng, index);
            pick -= family.Weight;
        }
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>Guards a family's own intent: if the oracle disagrees, the fuzzer (not the generator) is wrong.</summary>
    private static FuzzCase Expect(Expectation kind, FuzzCase c)
        => c.Kind == kind ? c : throw new InvalidOperationException($"Fuzzer bug: family {c.Family} meant a {kind} case, the oracle says {c.Kind}: {c.Detail}");

    private static FuzzCase InjectedFaults(Random rng, int index)
    {
        var spec = SpecFactory.Valid(rng, index, SizeProfile.Any);
        int count = rng.Next(10) switch { < 6 => 1, < 9 => 2, _ => 3 };
        var chosen = Injections.All.OrderBy(_ => rng.Next()).Take(count).ToHashSet();
        foreach (var injection in Injections.All.Where(chosen.Contains)) injection.Apply(rng, spec);
        string names = string.Join(" + ", Injections.All.Where(chosen.Contains).Select(x => x.Name));
        return Expect(Expectation.Invalid, FuzzCase.Judged(index, "broken-rules", names, spec));
    }

    private static FuzzCase Unrelated(Random rng, int index)
    {
        var sb = new StringBuilder();
        int a = SpecFactory.Extreme(rng), b = SpecFactory.Extreme(rng);
        switch (rng.Next(4))
        {
            case 0: // a Conv2DAttribute of the user's own, applied wherever it allows
                sb.Append($$"""
                    namespace F{{index}}.Other
                    {
                        [System.AttributeUsage(System.AttributeTargets.All, AllowMultiple = true)]
                        public sealed class Conv2DAttribute(int kernelHeight, int kernelWidth) : System.Attribute
                        {
                            public int Size => kernelHeight * kernelWidth;
                            public int Filters { get; set; }
                        }
                    }
                    namespace F{{index}}
                    {
                        using F{{index}}.Other;
                        [Conv2D({{Expressions.Literal(a)}}, {{Expressions.Literal(b)}}, Filters = 0)] public class C{{index}} { }
                        [Conv2D(3, 3)][Conv2D(1, 1)] public partial struct S{{index}} { }
                    }

                    """);
                break;
            case 1: // the attribute as a type, not applied
                sb.Append($$"""
                    namespace F{{index}};
                    public static class C{{index}}
                    {
                        public static object Make() => new global::ConvGen.Conv2DAttribute({{Expressions.Literal(a)}}, {{Expressions.Literal(b)}}) { Filters = -1 };
                        public static System.Type Type => typeof(global::ConvGen.Conv2DAttribute);
                        public static string Name => nameof(global::ConvGen.Conv2DAttribute);
                    }

                    """);
                break;
            case 2: // in comments, strings and documentation
                sb.Append($$"""
                    using ConvGen;
                    namespace F{{index}};
                    // [Conv2D({{a}}, {{b}})] public partial class Commented;
                    /* [Conv2D(3, 3)] */
                    /// <summary>Not annotated: <c>[Conv2D(3, 3)]</c>.</summary>
                    public partial class C{{index}}
                    {
                        public const string Text = "[Conv2D({{a}}, {{b}})] partial class C;";
                        public static void Conv2D(int kernelHeight, int kernelWidth) { }
                    }

                    """);
                break;
            default: // a valid spec whose attribute is compiled out
                var spec = SpecFactory.Valid(rng, index, SizeProfile.Any);
                string attribute = spec.AttributeText();
                var files = spec.Render().Select(f => f with { Text = f.Text.Replace(attribute, $"#if CONVGEN_FUZZ_NEVER_DEFINED\n{attribute}\n#endif") }).ToList();
                return FuzzCase.Unrelated(index, "unrelated", "attribute under #if", files);
        }
        return FuzzCase.Unrelated(index, "unrelated", "no ConvGen attribute on a class", [new SourceFile(ConvSpec.FilePath(index, 0), sb.ToString())]);
    }

    /// <summary>A valid or rule-breaking spec for the broken families to damage.</summary>
    private static ConvSpec AnySpec(Random rng, int index)
    {
        var spec = SpecFactory.Valid(rng, index, SizeProfile.Any);
        if (rng.Chance(0.5)) rng.Pick(Injections.All).Apply(rng, spec);
        return spec;
    }

    /// <summary>Fragments the mutations insert: brackets, keywords, directives, half tokens.</summary>
    private static readonly string[] Fragments =
    [
        "[", "]", "(", ")", "{", "}", ";", ",", "=", ":", "\"", "'", "@", "#", "/*", "*/", "//", "\n", "<", ">", "?", "!", "=>", "-",
        "partial", "class", "struct", "static", "abstract", "record", "interface", "namespace", "using", "new", "default", "null",
        "Conv2D", "[Conv2D(3, 3)]", "[Conv2D(", "Filters =", "Padding.Same", "int.MaxValue", "0", "-1", "2147483648",
        "#if X", "#endif", "#region", "#error", "\\u0041", "global::", "typeof(", "nameof(", "\"unterminated", "'a", "<T>",
        "where T : class", "file", "sealed", "ConvGen.", "__arglist", "stackalloc", "\u00A0", "\u200B",
    ];

    private static FuzzCase TextMutation(Random rng, int index)
    {
        var files = AnySpec(rng, index).Render();
        int which = rng.Next(files.Count), mutations = rng.Next(1, 4);
        string text = files[which].Text;
        var applied = new List<string>();
        for (int m = 0; m < mutations && text.Length > 0; m++)
        {
            int at = rng.Next(text.Length), length = Math.Min(rng.Next(1, 12), text.Length - at);
            (text, string what) = rng.Next(6) switch
            {
                0 => (text[..at], "truncated"),
                1 => (text.Remove(at, length), "deleted a span"),
                2 => (text.Insert(at, text.Substring(at, length)), "duplicated a span"),
                3 => (text.Insert(at, rng.Pick(Fragments)), "inserted a fragment"),
                4 => (text.Remove(at, 1).Insert(at, rng.Pick(Fragments)), "replaced a character"),
                _ => (SwapLines(rng, text), "swapped two lines"),
            };
            applied.Add(what);
        }
        files[which] = files[which] with { Text = text };
        return FuzzCase.Broken(index, "text-mutation", string.Join(", ", applied), files);
    }

    private static string SwapLines(Random rng, string text)
    {
        var lines = text.Split('\n');
        int i = rng.Next(lines.Length), j = rng.Next(lines.Length);
        (lines[i], lines[j]) = (lines[j], lines[i]);
        return string.Join('\n', lines);
    }

    private static FuzzCase BrokenAttributeSyntax(Random rng, int index)
    {
        var spec = AnySpec(rng, index);
        string attribute = spec.AttributeText(), name = spec.AttributeName, h = spec.KernelHeight.Text, w = spec.KernelWidth.Text;
        int close = attribute.LastIndexOf(')') is >= 0 and var i ? i : attribute.Length - 1; // the ')' or, without one, the ']'
        var (broken, what) = rng.Next(14) switch
        {
            0 => (attribute[..rng.Next(1, attribute.Length)], "cut short"),
            1 => (attribute[..^1], "no closing bracket"),
            2 => (attribute.Remove(close, 1), "no closing parenthesis"),
            3 => (attribute.Insert(close, ","), "trailing comma"),
            4 => ($"[{name}({h}, {w}, Filters = )]", "named argument without a value"),
            5 => ($"[{name}({h} {w})]", "missing comma"),
            6 => ($"[{name}({h}, , {w})]", "empty argument"),
            7 => ($"[{name} {h}, {w})]", "no opening parenthesis"),
            8 => ($"[{name}(({h}, {w})]", "unbalanced parentheses"),
            9 => ($"[, {name}({h}, {w})]", "leading comma in the list"),
            10 => ($"[{name}({h}, {w}) {name}({h}, {w})]", "two attributes without a comma"),
            11 => ("[]", "empty attribute list"),
            12 => ($"[{name}({h}, {w}, = 3)]", "value without a name"),
            _ => ($"[{name}<int>({h}, {w})]", "generic attribute syntax"),
        };
        // Sometimes the declaration is damaged too: its name or keyword dropped.
        var files = spec.Render().Select(f => f with { Text = f.Text.Replace(attribute, broken) }).ToList();
        if (rng.Chance(0.2))
        {
            int which = spec.Parts.First(p => p.HasAttribute).File;
            files[which] = files[which] with { Text = files[which].Text.Replace(" " + spec.ClassName, rng.Chance(0.5) ? "" : " 3") };
            what += ", class name dropped";
        }
        return FuzzCase.Broken(index, "broken-attribute-syntax", what, files);
    }

    private static FuzzCase DuplicateAttribute(Random rng, int index)
    {
        var spec = AnySpec(rng, index);
        string first = spec.AttributeText();
        // A second attribute with the same or other arguments, built before rendering so its constants are declared.
        string second = rng.Chance(0.5) ? first : $"[{spec.AttributeName}({spec.Exprs.Int(rng.Next(1, 6))}, {spec.Exprs.Int(rng.Next(1, 6))})]";
        string what;
        List<SourceFile> files;
        if (rng.Chance(0.4))
        {
            // On two partial declarations, possibly in two files.
            if (spec.Parts.Count == 1) spec.Parts.Add(new Part { File = spec.Containers.All(c => c.Partial) && spec.Modifier != TargetModifier.FileLocal ? 1 : 0 });
            foreach (var part in spec.Parts) part.HasAttribute = true;
            files = spec.Render();
            what = "on two partial declarations";
        }
        else
        {
            string twice = rng.Chance(0.5) ? first + second : $"{first[..^1]}, {second[1..]}";
            files = spec.Render().Select(f => f with { Text = f.Text.Replace(first, twice) }).ToList();
            what = twice.Contains("][") ? "stacked" : "in one list";
        }
        return FuzzCase.Broken(index, "duplicate-attribute", what, files);
    }

    private static FuzzCase UnknownNamedArgument(Random rng, int index)
    {
        var spec = AnySpec(rng, index);
        var e = spec.Exprs;
        var (name, value) = rng.Next(7) switch
        {
            0 => ("Kernels", e.Int(3)),
            1 => ("KernelHeight", e.Int(3)), // a read-only property
            2 => ("filters", e.Int(3)), // names are case-sensitive
            3 => ("Bias", e.Bool(true)),
            4 => ("Units", e.Int(10)),
            5 => ("Filters", e.Int(rng.Next(-2, 4))), // the same property twice
            _ => ("Padding", e.Enum("Padding", rng.Next(3))),
        };
        if (name == "Filters" && !spec.Has(name)) spec.Set(name, e.Int(1));
        if (name == "Padding" && !spec.Has(name)) spec.Set(name, e.Enum(name, 1));
        spec.Named.Insert(rng.Next(spec.Named.Count + 1), (name, value));
        return FuzzCase.Broken(index, "unknown-named-argument", $"{name} named", spec.Render());
    }

    private static FuzzCase NonClassTarget(Random rng, int index)
    {
        var spec = SpecFactory.Valid(rng, index, SizeProfile.Any);
        string attribute = spec.AttributeText(), inner = attribute[1..^1];
        var (construct, what) = rng.Next(13) switch
        {
            0 => ($"public static class M{index} {{ {attribute} public static void M() {{ }} }}", "method"),
            1 => ($"public static class M{index} {{ {attribute} public static int F; }}", "field"),
            2 => ($"public static class M{index} {{ {attribute} public static int P {{ get; set; }} }}", "property"),
            3 => ($"public static class M{index} {{ {attribute} public static event System.Action? E; }}", "event"),
            4 => ($"{attribute} public enum M{index} {{ A }}", "enum"),
            5 => ($"{attribute} public delegate void M{index}();", "delegate"),
            6 => ($"public static class M{index} {{ public static void M({attribute} int x) {{ }} }}", "parameter"),
            7 => ($"public static class M{index} {{ [return: {inner}] public static int M() => 0; }}", "return value"),
            8 => ($"public static class M{index} {{ public static void M() {{ {attribute} void Local() {{ }} Local(); }} }}", "local function"),
            9 => ($"public class M{index}<{attribute} T> {{ }}", "type parameter"),
            10 => ($"public static class M{index} {{ public static System.Action A = {attribute} () => {{ }}; }}", "lambda"),
            11 => ($"public partial record M{index}({attribute} int X);", "record parameter"),
            _ => ($"[assembly: {inner}]", "assembly"),
        };
        var files = spec.Render().Select(f => f with { Text = f.Text.Replace(attribute + "\n", "") }).ToList();
        int which = spec.Parts.First(p => p.HasAttribute).File;
        string text = files[which].Text;
        if (what == "assembly")
        {
            // Assembly attributes go after the using directives and before any declaration.
            int at = 0;
            while (text.IndexOf("using ", at, StringComparison.Ordinal) == at) at = text.IndexOf('\n', at) + 1;
            text = text.Insert(at, construct + "\n");
        }
        else text += construct + "\n";
        files[which] = files[which] with { Text = text };
        return FuzzCase.Broken(index, "non-class-target", what, files);
    }

    private static FuzzCase TokenSoup(Random rng, int index)
    {
        var sb = new StringBuilder(rng.Chance(0.5) ? "using ConvGen;\n" : "");
        int tokens = rng.Next(5, 60);
        for (int t = 0; t < tokens; t++)
            sb.Append(rng.Chance(0.2) ? $"C{index}" : rng.Pick(Fragments)).Append(rng.Chance(0.1) ? "\n" : " ");
        return FuzzCase.Broken(index, "token-soup", $"{tokens} tokens", [new SourceFile(ConvSpec.FilePath(index, 0), sb.ToString())]);
    }
}
