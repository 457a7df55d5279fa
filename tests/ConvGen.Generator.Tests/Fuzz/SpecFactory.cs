using System;
using System.Collections.Generic;
using System.Linq;

namespace ConvGen.Generator.Tests.Fuzz;

/// <summary>How large the convolution of a generated spec may be.</summary>
internal enum SizeProfile
{
    /// <summary>Small enough to compile in a batch and run on a small input in milliseconds.</summary>
    Runnable,

    /// <summary>Anything valid; used as the base of invalid specs, which are never compiled.</summary>
    Any,
}

/// <summary>
/// Builds random valid <see cref="ConvSpec"/>s (valid placement, valid arguments in varied spellings) and breaks them one
/// rule at a time (<see cref="Injections"/>). Every choice comes from the case's own <see cref="Random"/>.
/// </summary>
internal static class SpecFactory
{
    /// <summary>Member names docs/attributes.md does not reserve, many of them names of types the generated code uses.</summary>
    public static readonly string[] FreeMemberNames =
    [
        "Helper", "Stride", "Dilation", "Weights", "forward", "Conv", "Size", "Inputs", "Output", "Filter", "Channels", "Kernels",
        "Tensor", "Shape", "System", "Vector", "Math", "Unsafe", "MemoryMarshal", "Span", "ReadOnlySpan", "ArgumentException",
        "Random", "Parameter", "ILayer", "ConvGen", "Generated", "Conv2DSpec", "Conv2DLayerCore", "Int32", "Single", "Array",
    ];

    /// <summary>Types declared beside the class, named like types the generated code uses (CompilationTests has a fixed set).</summary>
    public static readonly string[] ShadowTypeNames =
    [
        "Math", "Vector", "Span", "ReadOnlySpan", "Unsafe", "MemoryMarshal", "ArgumentException", "Random", "Tensor", "Shape",
        "Parameter", "ILayer", "Conv2DSpec", "Conv2DLayerCore", "GeneratedCodeAttribute", "KernelGuard", "ArrayPool", "Int32",
    ];

    private static readonly string[] ContainerKeywords = ["class", "struct", "record", "record struct", "interface", "static class"];

    public static T Pick<T>(this Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    public static bool Chance(this Random rng, double p) => rng.NextDouble() < p;

    /// <summary>A valid spec: valid arguments and a valid placement, both drawn at random.</summary>
    public static ConvSpec Valid(Random rng, int index, SizeProfile profile)
    {
        // How the attribute is spelled decides whether ConvGen's enums need qualifying.
        bool usingConvGen = rng.Chance(0.75);
        string attributeName = rng.Next(6) switch
        {
            0 => "Conv2DAttribute",
            1 => "global::ConvGen.Conv2D",
            2 => "global::ConvGen.Conv2DAttribute",
            3 => $"Conv{index}",
            _ => "Conv2D",
        };
        if (attributeName is "Conv2D" or "Conv2DAttribute") usingConvGen = true;
        string enumPrefix = usingConvGen ? "" : "global::ConvGen.";

        var (style, ns) = Placement(rng, index);
        var spec = new ConvSpec
        {
            Index = index,
            Exprs = new Expressions(rng, $"K{index}", enumPrefix),
            AttributeName = attributeName,
            AliasDirective = attributeName == $"Conv{index}" ? $"using Conv{index} = ConvGen.Conv2DAttribute;" : null,
            UsingConvGen = usingConvGen,
            TypeTarget = rng.Chance(0.1),
            ClassName = ClassName(rng, index),
            NamespaceStyle = style,
            Namespace = ns,
            Ctor = rng.Pick([CtorShape.Positional, CtorShape.Positional, CtorShape.Positional, CtorShape.Named, CtorShape.NamedSwapped, CtorShape.PositionalThenNamed]),
        };
        SetArguments(rng, spec, profile);

        // Containers: all partial and non-generic (the valid placement), of every kind docs/attributes.md allows.
        int containers = rng.Next(20) switch { < 12 => 0, < 17 => 1, < 19 => 2, _ => 3 };
        for (int c = 0; c < containers; c++)
        {
            var container = new Container { Name = $"Outer{index}_{c}", Keyword = rng.Pick(ContainerKeywords) };
            int members = rng.Next(3);
            for (int m = 0; m < members; m++)
            {
                string name = AnyMemberName(rng, spec);
                if (container.Members.All(x => x.Name != name)) container.Members.Add(new Member(name, (MemberForm)rng.Next(5)));
            }
            spec.Containers.Add(container);
        }
        if (spec.ClassName.StartsWith('@') && style == NamespaceStyle.Global && containers == 0) spec.ClassName = $"C{index}";

        spec.Modifier = rng.Chance(0.3) ? TargetModifier.Sealed : TargetModifier.None;
        spec.Accessibility = containers == 0 ? rng.Pick(["public", "internal", ""])
            : spec.Containers[^1].IsInterface ? rng.Pick(["public", "internal", ""])
            : rng.Pick(["public", "internal", "private", ""]);

        // Partial declarations, possibly in several files; the attribute on one of them.
        int parts = rng.Next(10) switch { < 7 => 1, < 9 => 2, _ => 3 };
        bool split = rng.Chance(0.6);
        spec.Parts.Clear();
        for (int p = 0; p < parts; p++) spec.Parts.Add(new Part { File = split ? p : 0 });
        spec.Parts[rng.Next(parts)].HasAttribute = true;
        int ownMembers = rng.Next(10) switch { < 6 => 0, < 9 => 1, _ => 3 };
        for (int m = 0; m < ownMembers; m++) AddTargetMember(rng, spec, rng.Pick(FreeMemberNames));

        if (style != NamespaceStyle.Global && rng.Chance(0.25))
        {
            foreach (var name in ShadowTypeNames.OrderBy(_ => rng.Next()).Take(rng.Next(1, 5))) spec.SiblingTypes.Add(name);
        }
        return spec;
    }

    private static (NamespaceStyle, string) Placement(Random rng, int index)
    {
        var style = rng.Pick([NamespaceStyle.Global, NamespaceStyle.FileScoped, NamespaceStyle.FileScoped, NamespaceStyle.Block, NamespaceStyle.Nested]);
        string ns = rng.Next(8) switch
        {
            0 => $"F{index}.System",
            1 => $"F{index}.ConvGen",
            2 => $"ConvGen.F{index}",
            3 => $"F{index}.Generated.Deep",
            _ => $"F{index}",
        };
        if (style == NamespaceStyle.Nested && !ns.Contains('.')) ns += ".Inner";
        return (style, ns);
    }

    private static string ClassName(Random rng, int index) => rng.Next(12) switch
    {
        0 => $"Layer{index}",
        1 => $"Fälter{index}",
        2 => $"_{index}",
        3 => rng.Pick(["@class", "@event", "@int"]),
        _ => $"C{index}",
    };

    /// <summary>Any member name for a container: reserved ones are fine there (they are not the annotated class's).</summary>
    private static string AnyMemberName(Random rng, ConvSpec spec)
    {
        string name = rng.Chance(0.5) ? rng.Pick(FreeMemberNames) : rng.Pick(ConvRules.ReservedNames.ToArray());
        return ShadowsEnum(spec, name) ? "Helper" : name;
    }

    /// <summary>
    /// A member named Padding or Activation near the attribute would capture <c>Padding.Same</c> in its arguments;
    /// such names are used only where the enums are written <c>global::ConvGen.Padding</c>.
    /// </summary>
    public static bool ShadowsEnum(ConvSpec spec, string name) => spec.Exprs.EnumPrefix.Length == 0 && name is "Padding" or "Activation";

    /// <summary>
    /// Adds a member of a random form to a random part of the class, unless the name is taken in any part (a duplicate
    /// member is a C# error, not a fuzz case).
    /// </summary>
    public static void AddTargetMember(Random rng, ConvSpec spec, string name)
    {
        if (spec.AllTargetMembers.All(m => m.Name != name)) rng.Pick(spec.Parts).Members.Add(new Member(name, (MemberForm)rng.Next(5)));
    }

    /// <summary>Valid argument values for <paramref name="profile"/>, each optional property present or not, in random spellings.</summary>
    private static void SetArguments(Random rng, ConvSpec spec, SizeProfile profile)
    {
        var e = spec.Exprs;
        bool runnable = profile == SizeProfile.Runnable;
        // Compiling a valid case costs in proportion to its generated code, which grows with the unrolled taps: runnable
        // kernels are mostly small (RandomConfigurationTests covers 1-7 in depth), sometimes up to 10 (looped past 64 taps).
        int Kernel() => runnable ? rng.Next(10) switch { < 7 => rng.Next(1, 4), < 9 => rng.Next(4, 6), _ => rng.Next(6, 11) } : rng.Next(1, 13);
        int Channels() => runnable ? rng.Pick([1, 1, 2, 3, 4, 5, 7, 8]) : rng.Next(1, 600);
        int Filters() => runnable ? rng.Pick([1, 2, 3, 4, 5, 8, 9, 16, 17, 33]) : rng.Next(1, 600);
        int Step() => rng.Chance(0.03) ? rng.Pick([1000, int.MaxValue]) : rng.Next(1, runnable ? 4 : 9); // strides and dilations
        spec.KernelHeight = e.Int(Kernel());
        spec.KernelWidth = e.Int(Kernel());
        if (rng.Chance(0.6)) spec.Set("Filters", e.Int(Filters()));
        if (rng.Chance(0.6)) spec.Set("InputChannels", e.Int(Channels()));
        foreach (var axes in new[] { "Stride", "Dilation" })
        {
            switch (rng.Next(3))
            {
                case 0: spec.Set(axes, e.Int(Step())); break;
                case 1:
                    if (rng.Chance(0.7)) spec.Set(axes + "Height", e.Int(Step()));
                    if (rng.Chance(0.7)) spec.Set(axes + "Width", e.Int(Step()));
                    break;
            }
        }
        // A huge dilation is valid only while the dilated window stays within the limit: keep it for 1-tap axes.
        foreach (var (axis, kernel) in new[] { ("Height", spec.KernelHeight.Value!.Value), ("Width", spec.KernelWidth.Value!.Value) })
        {
            foreach (var name in new[] { "Dilation", "Dilation" + axis })
            {
                if (spec.NamedValue(name)?.Value is > 8 && kernel > 1) spec.Set(name, e.Int(rng.Next(1, 4)));
            }
        }
        // Groups: a common divisor of the channels and filters (1 as often as not, written or not).
        if (rng.Chance(0.25))
        {
            int c = spec.NamedValue("InputChannels")?.Value ?? 1, f = spec.NamedValue("Filters")?.Value ?? 1;
            var divisors = Enumerable.Range(1, Math.Min(c, f)).Where(d => c % d == 0 && f % d == 0).ToArray();
            spec.Set("Groups", e.Int(rng.Pick(divisors)));
        }
        if (rng.Chance(0.6)) spec.Set("Padding", e.Enum("Padding", rng.Next(2)));
        if (rng.Chance(0.4)) spec.Set("UseBias", e.Bool(rng.Chance(0.5)));
        if (rng.Chance(0.4)) spec.Set("Activation", e.Enum("Activation", rng.Next(2)));
        // Named arguments in any order.
        var shuffled = spec.Named.OrderBy(_ => rng.Next()).ToList();
        spec.Named.Clear();
        spec.Named.AddRange(shuffled);
    }

    /// <summary>Values at the edges: zero, negatives, the int limits, and the documented limits and their neighbours.</summary>
    public static int Extreme(Random rng) => rng.Next(20) switch
    {
        0 => 0,
        1 => -1,
        2 => int.MaxValue,
        3 => int.MinValue,
        4 => int.MaxValue - 1,
        5 => (int)ConvRules.MaxKernelExtent,
        6 => (int)ConvRules.MaxKernelExtent + 1,
        7 => (int)ConvRules.MaxKernelExtent - 1,
        8 => (int)ConvRules.MaxWeights,
        9 => (int)ConvRules.MaxWeights + 1,
        10 => 1 << 14,
        11 => (1 << 14) + 1,
        12 => 46341, // the smallest n with n * n > int.MaxValue
        13 => -65536,
        14 => rng.Next(int.MinValue, int.MaxValue),
        15 => rng.Next(-10, 0),
        _ => rng.Next(1, 4),
    };

    /// <summary>
    /// Re-draws every argument from <see cref="Extreme"/> with probability one half (adding absent ones); the oracle then
    /// decides what the spec is. Enum slots get undefined values too.
    /// </summary>
    public static void Extremize(Random rng, ConvSpec spec)
    {
        var e = spec.Exprs;
        if (rng.Chance(0.5)) spec.KernelHeight = e.Int(Extreme(rng));
        if (rng.Chance(0.5)) spec.KernelWidth = e.Int(Extreme(rng));
        foreach (var name in ConvRules.IntProperties)
        {
            if (rng.Chance(0.2)) spec.Set(name, e.Int(Extreme(rng)));
        }
        foreach (var name in ConvRules.EnumProperties)
        {
            if (rng.Chance(0.2)) spec.Set(name, e.Enum(name, rng.Chance(0.5) ? rng.Next(2) : Extreme(rng)));
        }
    }
}
