using System;
using System.Collections.Generic;
using System.Linq;
using ConvGen.Testing;

namespace ConvGen.Generator.Tests.Fuzz;

/// <summary>
/// The fuzzer's oracle for <c>[Conv2D]</c>: the rules of docs/attributes.md ("[Conv2D]" and its Diagnostics table) written
/// out again over a <see cref="ConvSpec"/>, sharing no code with the generator's parser. It yields the set of rules a
/// spec breaks, by diagnostic id. An empty set means the class is valid: it must compile and compute the convolution.
/// A non-empty set means the generator must report at least one of those ids as an error, and no other error id.
/// (The generator may stop at the first problem it finds, so not every broken rule has to be reported.)
/// </summary>
internal static class ConvRules
{
    /// <summary>CONVGEN012: "more than 64 taps" are looped rather than unrolled (an Info, code is still generated).</summary>
    public const int MaxUnrolledTaps = 64;

    /// <summary>CONVGEN015: "the dilated window exceeds 65,536" on either axis.</summary>
    public const long MaxKernelExtent = 65_536;

    /// <summary>CONVGEN015: "more than 2^28 weights" (KH * KW * C * F).</summary>
    public const long MaxWeights = 1L << 28;

    /// <summary>
    /// CONVGEN015, part of the rule that offsets fit in an int: the dilated kernel width
    /// times the input channels (the span of one kernel row in the input) may not exceed <see cref="MaxWeights"/> either.
    /// DiagnosticTests.CONVGEN015_DilatedWidthTimesChannelsWouldOverflowOffsets pins it.
    /// </summary>
    public const long MaxDilatedRowSpan = MaxWeights;

    /// <summary>
    /// CONVGEN009: the members docs/attributes.md lists under "What a [Conv2D] class gets": the generated constants, shape
    /// functions and static kernels, the members of its base class <c>Conv2DLayer&lt;T&gt;</c> (and <c>Layer</c>), and the
    /// static members of <c>IConv2DKernel</c> that a kernel class may implement.
    /// </summary>
    public static readonly IReadOnlySet<string> ReservedNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "KernelHeight", "KernelWidth", "InputChannels", "Filters", "StrideHeight", "StrideWidth", "DilationHeight", "DilationWidth",
        "Padding", "UseBias", "Activation", "Spec",
        "OutputHeight", "OutputWidth",
        "Forward", "Backward", "BackwardWeights", "BackwardInput",
        "Name", "Input", "InputNames", "HasExplicitName", "TypeName", "BaseName", "Parameters", "State", "Kernel", "Bias", "Configuration",
        "Build", "RunForward", "RunBackward", "ForwardPhases", "BackwardPhases", "OutputActivation", "FoldsInputRelu", "CanFuseForward",
        "FixedHeight", "FixedWidth", "AppliesActivation", "HasPooledForward", "ForwardPooled",
    };

    /// <summary>The attribute's settable properties (docs/attributes.md), by kind of value.</summary>
    public static readonly string[] IntProperties = ["Filters", "InputChannels", "Groups", "Stride", "StrideHeight", "StrideWidth", "Dilation", "DilationHeight", "DilationWidth"];

    public static readonly string[] EnumProperties = ["Padding", "Activation"];

    public const string BoolProperty = "UseBias";

    /// <summary>What the oracle concludes: the broken rules, and for a valid spec the convolution it declares (with its groups).</summary>
    public sealed record Verdict(IReadOnlySet<string> Violations, ConvConfig? Config, bool Looped, int Groups = 1)
    {
        public bool Valid => Violations.Count == 0;
    }

    public static Verdict Judge(ConvSpec s)
    {
        var broken = new SortedSet<string>(StringComparer.Ordinal);

        // The target: "a non-static, non-abstract, non-generic partial class (it may be nested in partial, non-generic types)".
        // A file-local class cannot be completed by a generated file (every part of a file type lives in one file), so it is
        // no plain partial class either.
        if (s.Kind != TargetKind.Class || s.Modifier is TargetModifier.Static or TargetModifier.Abstract or TargetModifier.FileLocal)
            broken.Add("CONVGEN010");
        if (s.Generic || s.Containers.Any(c => c.Generic)) broken.Add("CONVGEN008");
        if (s.Parts.Any(p => !p.Partial)) broken.Add("CONVGEN001");
        if (s.Containers.Any(c => !c.Partial)) broken.Add("CONVGEN011");
        if (s.AllTargetMembers.Any(m => ReservedNames.Contains(m.Name))) broken.Add("CONVGEN009");

        // The arguments: two int constructor arguments, and named properties of the right types (CONVGEN014).
        bool ctorBinds = s.Ctor is CtorShape.Positional or CtorShape.Named or CtorShape.NamedSwapped or CtorShape.PositionalThenNamed;
        if (!ctorBinds || !s.KernelHeight.IsConstant || !s.KernelWidth.IsConstant || s.Named.Any(n => !n.Value.IsConstant))
            broken.Add("CONVGEN014");

        // Each value that is readable is checked against its own rule.
        int? kh = ctorBinds ? s.KernelHeight.Value : null, kw = ctorBinds ? s.KernelWidth.Value : null;
        int? Named(string name) => s.NamedValue(name)?.Value;
        void AtLeastOne(int? value, string id)
        {
            if (value < 1) broken.Add(id);
        }
        AtLeastOne(kh, "CONVGEN002");
        AtLeastOne(kw, "CONVGEN002");
        foreach (var name in new[] { "Stride", "StrideHeight", "StrideWidth" }) AtLeastOne(Named(name), "CONVGEN003");
        foreach (var name in new[] { "Dilation", "DilationHeight", "DilationWidth" }) AtLeastOne(Named(name), "CONVGEN004");
        AtLeastOne(Named("Filters"), "CONVGEN005");
        AtLeastOne(Named("InputChannels"), "CONVGEN006");
        bool strideConflict = s.Has("Stride") && (s.Has("StrideHeight") || s.Has("StrideWidth"));
        bool dilationConflict = s.Has("Dilation") && (s.Has("DilationHeight") || s.Has("DilationWidth"));
        if (strideConflict || dilationConflict) broken.Add("CONVGEN007");
        foreach (var name in EnumProperties)
        {
            // Padding.Causal (2) is defined, but for [Conv1D] only: CONVGEN042 names it on a [Conv2D].
            // Activation: every defined value, None (0) to GELU (9).
            if (Named(name) is { } value && (name == "Activation" ? value is < 0 or > 9 : value is not (0 or 1)))
                broken.Add(name == "Padding" && value == (int)ConvGen.Padding.Causal ? "CONVGEN042" : "CONVGEN013");
        }

        // Sizes (CONVGEN015): each limit is checked when the values it depends on are known and at least 1, with one
        // dilation per axis (the defaults stand in for absent properties).
        int? Size(string name) => s.Has(name) ? Named(name) is >= 1 and var v ? v : null : 1;
        int? Dilation(string axis) => dilationConflict ? null : s.Has("Dilation") ? Size("Dilation") : Size("Dilation" + axis);
        int? filters = Size("Filters"), channels = Size("InputChannels"), dh = Dilation("Height"), dw = Dilation("Width");
        long? extentH = kh >= 1 && dh is not null ? (long)(kh.Value - 1) * dh.Value + 1 : null;
        long? extentW = kw >= 1 && dw is not null ? (long)(kw.Value - 1) * dw.Value + 1 : null;
        // CONVGEN044: "Groups must be at least 1 and divide InputChannels and Filters" (checked against them when they are valid).
        int? groupsValue = Named("Groups");
        bool groupsDivide = groupsValue is not > 1 || (channels is not null && filters is not null && channels % groupsValue == 0 && filters % groupsValue == 0);
        if (groupsValue < 1 || (groupsValue > 1 && channels is not null && filters is not null && !groupsDivide)) broken.Add("CONVGEN044");
        int groups = groupsValue > 1 && groupsDivide ? groupsValue.Value : 1;
        // A grouped kernel holds KH * KW * (C / G) * F weights.
        long? weights = kh >= 1 && kw >= 1 && channels is not null && filters is not null ? (long)kh.Value * kw.Value * (channels.Value / groups) * filters.Value : null;
        // With fewer than 4 channels the input gradient keeps the weights transposed in rows padded to 16 taps (not grouped ones):
        // Filters * roundUp16(KH * KW * C) may not exceed MaxWeights either (docs/attributes.md, CONVGEN015).
        long? paddedTransposed = weights is not null && channels < 4 && groups == 1 ? ((long)kh!.Value * kw!.Value * channels!.Value + 15) / 16 * 16 * filters!.Value : null;
        if (extentH > MaxKernelExtent || extentW > MaxKernelExtent || extentW * channels > MaxDilatedRowSpan || weights > MaxWeights
            || (weights <= MaxWeights && paddedTransposed > MaxWeights))
            broken.Add("CONVGEN015");

        if (broken.Count > 0) return new Verdict(broken, null, false);
        int sh = Named("Stride") ?? Named("StrideHeight") ?? 1, sw = Named("Stride") ?? Named("StrideWidth") ?? 1;
        var config = new ConvConfig(kh!.Value, kw!.Value, channels!.Value, filters!.Value, sh, sw, dh!.Value, dw!.Value,
            Same: (Named("Padding") ?? 0) == 1, UseBias: (Named(BoolProperty) ?? 1) == 1);
        return new Verdict(broken, config, (long)config.KH * config.KW > MaxUnrolledTaps, groups);
    }
}
