using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace ConvGen.Generator.Tests.Fuzz;

internal enum TargetKind { Class, Struct, Record, RecordStruct, Interface }

internal enum TargetModifier { None, Sealed, Static, Abstract, FileLocal }

/// <summary>How the two constructor arguments (kernelHeight, kernelWidth) are written. Only the first four bind.</summary>
internal enum CtorShape
{
    Positional, Named, NamedSwapped, PositionalThenNamed,
    NoArgumentList, EmptyArgumentList, OneArgument, ThreeArguments, UnknownParameterName, RepeatedParameterName,
}

internal enum NamespaceStyle { Global, FileScoped, Block, Nested }

internal enum MemberForm { Property, Method, Field, Constant, NestedType }

/// <summary>A member the user declares. Always static (or a constant or nested type), so it is legal in every kind of type.</summary>
internal sealed record Member(string Name, MemberForm Form)
{
    public string Render() => Form switch
    {
        MemberForm.Property => $"public static int {Name} => 1;",
        MemberForm.Method => $"public static void {Name}() {{ }}",
        MemberForm.Field => $"public static int {Name};",
        MemberForm.Constant => $"public const int {Name} = 1;",
        _ => $"public sealed class {Name} {{ }}",
    };
}

/// <summary>A type around the annotated class. <see cref="Keyword"/> includes <c>static</c> for a static class.</summary>
internal sealed class Container
{
    public required string Name { get; init; }
    public string Keyword { get; set; } = "class";
    public bool Partial { get; set; } = true;
    public bool Generic { get; set; }
    public List<Member> Members { get; } = [];

    public bool IsInterface => Keyword == "interface";
}

/// <summary>One partial declaration of the annotated class, in file <see cref="File"/>.</summary>
internal sealed class Part
{
    public bool Partial { get; set; } = true;
    public int File { get; set; }
    public bool HasAttribute { get; set; }
    public List<Member> Members { get; } = [];
}

/// <summary>
/// One <c>[Conv2D]</c> class as a structure: the attribute's arguments (with the text and value of each), the class and
/// its partial declarations, the types around it and where it sits. <see cref="Render"/> writes it as C# files; the
/// oracle (<see cref="ConvRules"/>) judges the same structure, so the fuzzer knows what each source should do without
/// asking the generator or the compiler.
/// </summary>
internal sealed class ConvSpec
{
    public required int Index { get; init; }
    public required Expressions Exprs { get; init; }

    // ---- The attribute ----
    /// <summary>The attribute name as written: Conv2D, Conv2DAttribute, global::ConvGen.Conv2D, or an alias.</summary>
    public string AttributeName { get; set; } = "Conv2D";
    /// <summary>A using alias directive the spelling needs, or null.</summary>
    public string? AliasDirective { get; set; }
    /// <summary>Whether every file starts with <c>using ConvGen;</c>.</summary>
    public bool UsingConvGen { get; set; } = true;
    /// <summary>Whether the attribute is written with the (redundant, legal) <c>type:</c> target.</summary>
    public bool TypeTarget { get; set; }
    public CtorShape Ctor { get; set; } = CtorShape.Positional;
    public Expr KernelHeight { get; set; }
    public Expr KernelWidth { get; set; }
    /// <summary>Named arguments (<c>Property = value</c>) in the order written; names are distinct properties of the attribute.</summary>
    public List<(string Name, Expr Value)> Named { get; } = [];

    // ---- The class ----
    public TargetKind Kind { get; set; }
    public TargetModifier Modifier { get; set; }
    public bool Generic { get; set; }
    public string Accessibility { get; set; } = "public";
    /// <summary>The class name as written (may be a keyword escaped with @).</summary>
    public required string ClassName { get; set; }
    public List<Container> Containers { get; } = [];
    public List<Part> Parts { get; } = [new Part { HasAttribute = true }];

    // ---- Where it sits ----
    public NamespaceStyle NamespaceStyle { get; set; }
    /// <summary>The (dotted) namespace; ignored for <see cref="NamespaceStyle.Global"/>.</summary>
    public string Namespace { get; set; } = "";
    /// <summary>Types declared beside the class, named like types the generated code uses.</summary>
    public List<string> SiblingTypes { get; } = [];

    public Expr? NamedValue(string name) => Named.FirstOrDefault(n => n.Name == name) is { Name: not null } pair ? pair.Value : null;

    public bool Has(string name) => Named.Any(n => n.Name == name);

    /// <summary>Sets (replacing) a named argument.</summary>
    public void Set(string name, Expr value)
    {
        int i = Named.FindIndex(n => n.Name == name);
        if (i >= 0) Named[i] = (name, value);
        else Named.Add((name, value));
    }

    public IEnumerable<Member> AllTargetMembers => Parts.SelectMany(p => p.Members);

    public int FileCount => Parts.Max(p => p.File) + 1;

    // ---- Names the generator must derive ----

    /// <summary>The full name with containers, as docs/generated-code.md's file-name rule writes it: <c>My.Ns.Outer.Inner</c>, no @.</summary>
    public string FullName => string.Join(".", NamespacePrefix.Concat(Containers.Select(c => c.Name)).Append(ClassName.TrimStart('@')));

    /// <summary>The CLR name reflection finds: namespace, then containers joined by '+'.</summary>
    public string MetadataName => string.Join(".", NamespacePrefix.Append(string.Join("+", Containers.Select(c => c.Name).Append(ClassName.TrimStart('@')))));

    private IEnumerable<string> NamespacePrefix => NamespaceStyle == NamespaceStyle.Global ? [] : [Namespace];

    public static string FilePath(int index, int file) => $"Case{index}_{file}.cs";

    // ---- Rendering ----

    /// <summary>The attribute as written, e.g. <c>[Conv2D(3, 3, Filters = 8)]</c>.</summary>
    public string AttributeText()
    {
        string h = KernelHeight.Text, w = KernelWidth.Text;
        var arguments = new List<string>();
        switch (Ctor)
        {
            case CtorShape.Positional: arguments.AddRange([h, w]); break;
            case CtorShape.Named: arguments.AddRange([$"kernelHeight: {h}", $"kernelWidth: {w}"]); break;
            case CtorShape.NamedSwapped: arguments.AddRange([$"kernelWidth: {w}", $"kernelHeight: {h}"]); break;
            case CtorShape.PositionalThenNamed: arguments.AddRange([h, $"kernelWidth: {w}"]); break;
            case CtorShape.OneArgument: arguments.Add(h); break;
            case CtorShape.ThreeArguments: arguments.AddRange([h, w, h]); break;
            case CtorShape.UnknownParameterName: arguments.AddRange([h, $"kernelSize: {w}"]); break;
            case CtorShape.RepeatedParameterName: arguments.AddRange([$"kernelHeight: {h}", $"kernelHeight: {w}"]); break;
        }
        arguments.AddRange(Named.Select(n => $"{n.Name} = {n.Value.Text}"));
        string list = Ctor == CtorShape.NoArgumentList && arguments.Count == 0 ? "" : $"({string.Join(", ", arguments)})";
        return $"[{(TypeTarget ? "type: " : "")}{AttributeName}{list}]";
    }

    /// <summary>The C# files of this case: one per file index used by a part.</summary>
    public List<SourceFile> Render()
    {
        int attributeFile = Parts.First(p => p.HasAttribute).File;
        var files = new List<SourceFile>();
        for (int file = 0; file < FileCount; file++)
        {
            var sb = new StringBuilder();
            if (UsingConvGen) sb.Append("using ConvGen;\n");
            if (AliasDirective is not null) sb.Append(AliasDirective).Append('\n');
            int depth = OpenNamespace(sb);
            string indent = new(' ', 4 * depth);
            if (file == 0)
            {
                foreach (var sibling in SiblingTypes) sb.Append($"{indent}public sealed class {sibling} {{ }}\n");
            }
            if (file == attributeFile && Exprs.Declarations.Count > 0)
            {
                sb.Append($"{indent}internal static class {Exprs.HolderName}\n{indent}{{\n");
                foreach (var declaration in Exprs.Declarations) sb.Append($"{indent}    {declaration}\n");
                sb.Append($"{indent}}}\n");
            }
            for (int c = 0; c < Containers.Count; c++)
            {
                var container = Containers[c];
                sb.Append(indent).Append(container.Partial ? PartialBefore(container.Keyword) : container.Keyword)
                  .Append(' ').Append(container.Name).Append(container.Generic ? $"<T{c}>" : "").Append('\n')
                  .Append(indent).Append("{\n");
                indent += "    ";
                if (file == 0)
                {
                    foreach (var member in container.Members) sb.Append(indent).Append(member.Render()).Append('\n');
                }
            }
            foreach (var part in Parts.Where(p => p.File == file))
            {
                if (part.HasAttribute) sb.Append(indent).Append(AttributeText()).Append('\n');
                sb.Append(indent).Append(Declaration(part));
                if (part.Members.Count == 0) sb.Append(Index % 2 == 0 ? ";\n" : " { }\n");
                else
                {
                    sb.Append('\n').Append(indent).Append("{\n");
                    foreach (var member in part.Members) sb.Append(indent).Append("    ").Append(member.Render()).Append('\n');
                    sb.Append(indent).Append("}\n");
                }
            }
            for (int c = Containers.Count - 1; c >= 0; c--)
            {
                indent = indent[..^4];
                sb.Append(indent).Append("}\n");
            }
            CloseNamespace(sb, depth);
            files.Add(new SourceFile(FilePath(Index, file), sb.ToString()));
        }
        return files;
    }

    /// <summary><c>partial</c> goes right before the type keyword: <c>static partial class</c>, <c>partial record struct</c>.</summary>
    private static string PartialBefore(string keyword)
        => keyword.StartsWith("static ") ? "static partial " + keyword["static ".Length..] : "partial " + keyword;

    private string Declaration(Part part)
    {
        string keyword = Kind switch
        {
            TargetKind.Struct => "struct",
            TargetKind.Record => "record",
            TargetKind.RecordStruct => "record struct",
            TargetKind.Interface => "interface",
            _ => "class",
        };
        string modifier = Modifier switch
        {
            TargetModifier.Sealed => "sealed ",
            TargetModifier.Static => "static ",
            TargetModifier.Abstract => "abstract ",
            TargetModifier.FileLocal => "file ",
            _ => "",
        };
        string accessibility = Accessibility.Length == 0 ? "" : Accessibility + " ";
        return $"{accessibility}{modifier}{(part.Partial ? "partial " : "")}{keyword} {ClassName}{(Generic ? "<T>" : "")}";
    }

    private int OpenNamespace(StringBuilder sb)
    {
        switch (NamespaceStyle)
        {
            case NamespaceStyle.FileScoped:
                sb.Append($"namespace {Namespace};\n");
                return 0;
            case NamespaceStyle.Block:
                sb.Append($"namespace {Namespace}\n{{\n");
                return 1;
            case NamespaceStyle.Nested:
                int dot = Namespace.IndexOf('.');
                sb.Append($"namespace {Namespace[..dot]}\n{{\n    namespace {Namespace[(dot + 1)..]}\n    {{\n");
                return 2;
            default:
                return 0;
        }
    }

    private void CloseNamespace(StringBuilder sb, int depth)
    {
        for (int d = depth - 1; d >= 0; d--) sb.Append(new string(' ', 4 * d)).Append("}\n");
    }
}

/// <summary>One C# file of a fuzz case.</summary>
internal sealed record SourceFile(string Path, string Text);
