using System;
using System.Linq;

namespace ConvGen.Generator.Tests.Fuzz;

/// <summary>
/// Ways to break one rule of docs/attributes.md of a valid <see cref="ConvSpec"/>. Each is written to break its rule whatever the spec
/// was, and the fuzz test checks that the oracle agrees (so an injection that silently does nothing is caught).
/// They run in the order listed: structure first (containers), then the class, then the arguments, so a later one never
/// undoes an earlier one.
/// </summary>
internal static class Injections
{
    public sealed record Injection(string Name, Action<Random, ConvSpec> Apply);

    public static readonly Injection[] All =
    [
        new("generic-container", (rng, s) => EnsureContainer(rng, s).Generic = true),
        new("container-not-partial", (rng, s) =>
        {
            EnsureContainer(rng, s).Partial = false;
            foreach (var part in s.Parts) part.File = 0; // a non-partial type cannot be declared again in another file
        }),
        new("target-kind", (rng, s) =>
        {
            s.Kind = rng.Pick([TargetKind.Struct, TargetKind.Record, TargetKind.RecordStruct, TargetKind.Interface]);
            s.Modifier = TargetModifier.None;
        }),
        new("target-modifier", (rng, s) =>
        {
            s.Kind = TargetKind.Class;
            s.Modifier = s.Containers.Count == 0 && rng.Chance(0.3) ? TargetModifier.FileLocal : rng.Pick([TargetModifier.Static, TargetModifier.Abstract]);
            if (s.Modifier == TargetModifier.FileLocal)
            {
                s.Accessibility = ""; // file types take no accessibility modifier
                foreach (var part in s.Parts) part.File = 0; // and all their parts live in one file
            }
        }),
        new("generic-target", (_, s) => s.Generic = true),
        new("not-partial", (rng, s) => rng.Pick(s.Parts).Partial = false),
        new("reserved-member", (rng, s) =>
        {
            var names = ConvRules.ReservedNames.Where(n => !SpecFactory.ShadowsEnum(s, n) && s.AllTargetMembers.All(m => m.Name != n)).ToArray();
            SpecFactory.AddTargetMember(rng, s, rng.Pick(names));
        }),
        new("constructor-shape", (rng, s) => s.Ctor = rng.Pick([
            CtorShape.NoArgumentList, CtorShape.EmptyArgumentList, CtorShape.OneArgument, CtorShape.ThreeArguments,
            CtorShape.UnknownParameterName, CtorShape.RepeatedParameterName])),
        new("not-a-constant", (rng, s) =>
        {
            var e = s.Exprs;
            switch (rng.Next(5))
            {
                case 0: s.KernelHeight = e.NotAnInt(); break;
                case 1: s.KernelWidth = e.NotAnInt(); break;
                case 2: SetAlone(s, rng.Pick(ConvRules.IntProperties), e.NotAnInt()); break;
                case 3: s.Set(ConvRules.BoolProperty, e.NotABool()); break;
                default: string name = rng.Pick(ConvRules.EnumProperties); s.Set(name, e.NotAnEnum(name)); break;
            }
        }),
        new("kernel-below-1", (rng, s) =>
        {
            if (rng.Chance(0.5)) s.KernelHeight = s.Exprs.Int(NonPositive(rng));
            else s.KernelWidth = s.Exprs.Int(NonPositive(rng));
        }),
        new("stride-below-1", (rng, s) => SetAxes(rng, s, "Stride", NonPositive(rng))),
        new("dilation-below-1", (rng, s) => SetAxes(rng, s, "Dilation", NonPositive(rng))),
        new("filters-below-1", (rng, s) => s.Set("Filters", s.Exprs.Int(NonPositive(rng)))),
        new("channels-below-1", (rng, s) => s.Set("InputChannels", s.Exprs.Int(NonPositive(rng)))),
        new("both-and-per-axis", (rng, s) =>
        {
            string both = rng.Pick(["Stride", "Dilation"]);
            if (!s.Has(both)) s.Set(both, s.Exprs.Int(rng.Next(1, 4)));
            s.Set(both + rng.Pick(["Height", "Width"]), s.Exprs.Int(rng.Next(1, 4)));
        }),
        new("undefined-enum", (rng, s) =>
        {
            string name = rng.Pick(ConvRules.EnumProperties);
            // Activation defines 0 (None) to 9 (GELU); Padding 0 and 1 (2, Causal, is refused on a [Conv2D] with CONVGEN042).
            s.Set(name, s.Exprs.Enum(name, name == "Activation" ? rng.Pick([10, 11, -1, 100, int.MaxValue, int.MinValue]) : rng.Pick([2, 3, -1, 100, int.MaxValue, int.MinValue])));
        }),
        new("too-large", (rng, s) =>
        {
            var e = s.Exprs;
            switch (rng.Next(4))
            {
                case 0: // a window longer than the limit, with any dilation
                    if (rng.Chance(0.5)) s.KernelHeight = e.Int(rng.Pick([65_537, 100_000, int.MaxValue]));
                    else s.KernelWidth = e.Int(rng.Pick([65_537, 100_000, int.MaxValue]));
                    break;
                case 1: // a 3-tap axis dilated past the limit: 2 * 32768 + 1 = 65537
                    bool height = rng.Chance(0.5);
                    if (height) s.KernelHeight = e.Int(3); else s.KernelWidth = e.Int(3);
                    SetAxes(rng, s, "Dilation", rng.Pick([32_768, 65_536, int.MaxValue]), height ? "Height" : "Width");
                    break;
                case 2: // more than 2^28 weights: 16385^2 > 2^28 already for a 1x1 kernel
                    var (c, f) = rng.Pick([(16_385, 16_385), (65_536, 65_536), (1, int.MaxValue), (int.MaxValue, 1)]);
                    s.Set("InputChannels", e.Int(c));
                    s.Set("Filters", e.Int(f));
                    break;
                default: // a kernel row spanning more than 2^28 input values: dilated width 65536 times 4097 channels
                    s.KernelWidth = e.Int(2);
                    SetAxes(rng, s, "Dilation", 65_535, "Width");
                    s.Set("InputChannels", e.Int(4097));
                    break;
            }
        }),
    ];

    private static int NonPositive(Random rng) => rng.Pick([0, 0, -1, -2, -3, int.MinValue, rng.Next(-100_000, 0)]);

    private static Container EnsureContainer(Random rng, ConvSpec s)
    {
        if (s.Containers.Count == 0) s.Containers.Add(new Container { Name = $"Outer{s.Index}_0" });
        return rng.Pick(s.Containers);
    }

    /// <summary>
    /// Sets <paramref name="value"/> on the both-axes property or a per-axis one (<paramref name="axis"/> if given),
    /// whichever form the spec already uses, and drops the other form so the only rule broken is the value's.
    /// </summary>
    private static void SetAxes(Random rng, ConvSpec s, string both, int value, string? axis = null)
    {
        bool usesBoth = s.Has(both) || !s.Has(both + "Height") && !s.Has(both + "Width") && axis is null && rng.Chance(0.5);
        if (axis is not null && usesBoth)
        {
            // Keep the other axis at the both-axes value, now written per axis.
            string other = axis == "Height" ? "Width" : "Height";
            s.Set(both + other, s.NamedValue(both)!.Value);
            s.Named.RemoveAll(n => n.Name == both);
            usesBoth = false;
        }
        SetAlone(s, usesBoth ? both : both + (axis ?? rng.Pick(["Height", "Width"])), s.Exprs.Int(value));
    }

    /// <summary>
    /// Sets a named argument and drops the other form of the same axes (Stride against StrideHeight/StrideWidth), so the
    /// only rule broken is the value's own and not also CONVGEN007.
    /// </summary>
    private static void SetAlone(ConvSpec s, string name, Expr value)
    {
        s.Set(name, value);
        foreach (var both in new[] { "Stride", "Dilation" })
        {
            if (name == both) s.Named.RemoveAll(n => n.Name == both + "Height" || n.Name == both + "Width");
            else if (name.StartsWith(both, StringComparison.Ordinal)) s.Named.RemoveAll(n => n.Name == both);
        }
    }
}
