using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using ConvGen.Generator.Helpers;
using ConvGen.Generator.Models;
using ConvGen.Internal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ConvGen.Generator;

public sealed partial class ConvGenerator
{
    /// <summary>Kernels with more taps than this are emitted with loops over the window instead of fully unrolled.</summary>
    internal const int MaxUnrolledTaps = 64;

    /// <summary>Largest dilated kernel extent, <c>(k - 1) * d + 1</c>, per axis.</summary>
    internal const int MaxKernelExtent = 1 << 16;

    /// <summary>Largest weight count <c>KH * KW * C * F</c> (2^28 floats = 1 GiB).</summary>
    internal const long MaxWeights = 1L << 28;

    /// <summary>Attribute (and its syntax) to <see cref="LayerClassModel"/> plus diagnostics. Holds no symbols past its return.</summary>
    internal static partial class Parser
    {
        /// <summary>A single-layer class: <c>[Conv2D]</c>, <c>[DepthwiseConv2D]</c>, <c>[Conv1D]</c> or <c>[Conv2DTranspose]</c> (<paramref name="kind"/>).</summary>
        public static ParseResult Parse(GeneratorAttributeSyntaxContext context, LayerKind kind, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax declaration || context.Attributes.Length == 0)
                return new ParseResult(null, EquatableArray<DiagnosticInfo>.Empty);

            // A declaration without a name is a syntax error the compiler reports; there is nothing to generate for it.
            if (declaration.Identifier.IsMissing || string.IsNullOrEmpty(type.Name))
                return new ParseResult(null, EquatableArray<DiagnosticInfo>.Empty);

            // A class with any other layer attribute is the network pipeline's (which also reports stacking without [Input]).
            if (LayerAttributes(type).Any(a => a.Kind != kind))
                return new ParseResult(null, EquatableArray<DiagnosticInfo>.Empty);

            var attribute = context.Attributes[0];
            var attributeSyntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
            var diagnostics = new Diagnostics(LocationInfo.From(attributeSyntax) ?? LocationInfo.From(declaration.Identifier));

            // Every [Conv2D] (or [DepthwiseConv2D], [Conv1D]) of the type, on any partial declaration: this transform runs once per declaration that has
            // one, so with several only the declaration holding the first reports, and none generates (one file per type).
            var all = LayerAttributes(type).Select(a => a.Data.ApplicationSyntaxReference?.GetSyntax(cancellationToken)).ToList();
            if (all.Count > 1)
            {
                if (!Holds(declaration, all[0])) return new ParseResult(null, EquatableArray<DiagnosticInfo>.Empty);
                diagnostics.Report(DiagnosticDescriptors.LayersWithoutInput, LocationInfo.From(all[1]), type.Name, kind.ToString());
                return diagnostics.Result(null);
            }

            string name = kind.ToString();
            var containing = CheckTarget(type, declaration, name, diagnostics, cancellationToken);
            if (containing is null) return diagnostics.Result(null);
            CheckBaseClass(type, declaration, name, $"ConvGen.{LayerClassEmitter.BaseClass(kind)}<{type.Name}>", allowed: null, diagnostics);

            var args = new Arguments(attribute, attributeSyntax, context.SemanticModel, kind == LayerKind.Conv1D ? 1 : 2);
            if (!args.Readable)
            {
                diagnostics.Report(DiagnosticDescriptors.UnreadableArguments, null, type.Name, name, kind switch
                {
                    LayerKind.DepthwiseConv2D => "[DepthwiseConv2D(3, 3, InputChannels = 16)]",
                    LayerKind.Conv1D => "[Conv1D(3, Filters = 16, InputChannels = 8)]",
                    LayerKind.Conv2DTranspose => "[Conv2DTranspose(3, 3, Filters = 8, InputChannels = 16, Stride = 2)]",
                    _ => "[Conv2D(3, 3, Filters = 16)]",
                });
                return diagnostics.Result(null);
            }
            var conv = ReadConv(args, type.Name, inferredChannels: null, diagnostics, kind);
            foreach (var networkOnly in new[] { "Name", "Input", "KernelL2" })
            {
                if (args.Has(networkOnly))
                    diagnostics.Report(DiagnosticDescriptors.NetworkOnlyProperty, args.Location(networkOnly), networkOnly, type.Name);
            }
            CheckReservedMembers(type, kind switch
            {
                LayerKind.DepthwiseConv2D => DepthwiseEmitter.ReservedMemberNames,
                LayerKind.Conv1D => LayerClassEmitter.Conv1DReservedMemberNames,
                LayerKind.Conv2DTranspose => TransposeEmitter.ReservedMemberNames,
                _ => conv is { Grouped: true } ? LayerClassEmitter.GroupedReservedMemberNames : LayerClassEmitter.ReservedMemberNames,
            }, diagnostics);
            if (diagnostics.HasErrors || conv is null) return diagnostics.Result(null);

            if (!conv.Unrollable && !conv.Transposed) // a transposed one always loops over the taps that reach a pixel
                diagnostics.Report(DiagnosticDescriptors.KernelNotUnrolled, null, conv.KernelHeight, conv.KernelWidth, type.Name, conv.Taps, MaxUnrolledTaps);

            return diagnostics.Result(new LayerClassModel(Target(type, containing), conv));
        }

        /// <summary>Where the generated part of <paramref name="type"/> goes.</summary>
        private static TypeTarget Target(INamedTypeSymbol type, List<ContainingType> containing)
        {
            var (ns, fullName) = Names(type);
            return new TypeTarget(ns, containing.ToEquatableArray(), Identifier(type.Name), fullName, fullName.Replace("@", "") + ".g.cs");
        }

        /// <summary>
        /// The [Conv2D], [DepthwiseConv2D] or [Conv1D] (<paramref name="kind"/>) arguments as a model (names left empty for the caller),
        /// or null with diagnostics. In a network, <paramref name="inferredChannels"/> is the previous layer's channel count:
        /// InputChannels may be omitted, and must agree if stated. A depthwise convolution's DepthMultiplier goes where the filters do;
        /// a 1-D convolution is a one-row 2-D one, whose kernel size, stride and dilation are its width's. A transposed one may not have
        /// a stride and a dilation above 1 together (CONVGEN043, as Keras refuses it).
        /// </summary>
        private static ConvSpec? ReadConv(Arguments args, string typeName, int? inferredChannels, Diagnostics diagnostics, LayerKind kind = LayerKind.Conv2D)
        {
            int errors = diagnostics.ErrorCount;
            bool depthwise = kind == LayerKind.DepthwiseConv2D, sequence = kind == LayerKind.Conv1D, transposed = kind == LayerKind.Conv2DTranspose;
            int kernelHeight = sequence ? 1 : args.Positional(0), kernelWidth = args.Positional(sequence ? 0 : 1);
            if (kernelHeight < 1) diagnostics.Report(DiagnosticDescriptors.KernelSizeTooSmall, args.PositionalLocation(0, "kernelHeight"), "KernelHeight", kernelHeight, "row");
            if (kernelWidth < 1 && sequence) diagnostics.Report(DiagnosticDescriptors.KernelSizeTooSmall, args.PositionalLocation(0, "kernelSize"), "KernelSize", kernelWidth, "step");
            else if (kernelWidth < 1) diagnostics.Report(DiagnosticDescriptors.KernelSizeTooSmall, args.PositionalLocation(1, "kernelWidth"), "KernelWidth", kernelWidth, "column");

            int filters = args.Int(depthwise ? "DepthMultiplier" : "Filters", 1);
            int inputChannels = inferredChannels is int inferred && !args.Has("InputChannels") ? inferred : args.Int("InputChannels", 1);
            if (filters < 1 && depthwise) diagnostics.Report(DiagnosticDescriptors.DepthMultiplierTooSmall, args.Location("DepthMultiplier"), filters);
            else if (filters < 1) diagnostics.Report(DiagnosticDescriptors.FiltersTooSmall, args.Location("Filters"), filters);
            if (inputChannels < 1) diagnostics.Report(DiagnosticDescriptors.InputChannelsTooSmall, args.Location("InputChannels"), inputChannels);
            int groups = kind == LayerKind.Conv2D ? ReadGroups(args, inputChannels, filters, diagnostics) : 1;

            var (strideHeight, strideWidth) = sequence ? (1, args.OneAxis("Stride", DiagnosticDescriptors.StrideTooSmall, diagnostics))
                : args.BothOrPerAxis("Stride", 1, DiagnosticDescriptors.StrideTooSmall, diagnostics);
            var (dilationHeight, dilationWidth) = sequence ? (1, args.OneAxis("Dilation", DiagnosticDescriptors.DilationTooSmall, diagnostics))
                : args.BothOrPerAxis("Dilation", 1, DiagnosticDescriptors.DilationTooSmall, diagnostics);

            if (transposed && System.Math.Max(strideHeight, strideWidth) > 1 && System.Math.Max(dilationHeight, dilationWidth) > 1)
            {
                string Axes(string both, int h, int w) => args.Has(both) ? $"{both} = {h}" : $"{both}Height = {h}, {both}Width = {w}";
                diagnostics.Report(DiagnosticDescriptors.TransposedStrideAndDilation, args.Location(args.Has("Dilation") ? "Dilation" : dilationHeight > 1 ? "DilationHeight" : "DilationWidth"),
                    Axes("Stride", strideHeight, strideWidth), Axes("Dilation", dilationHeight, dilationWidth));
            }

            var padding = ReadPadding(args, diagnostics, causal: sequence);
            bool causal = padding == Padding.Causal;
            if (causal) padding = Padding.Valid; // the layer pads; its kernels are Valid
            var activation = ReadActivation(args, diagnostics);
            bool useBias = args.Bool("UseBias", true);
            if (diagnostics.ErrorCount > errors) return null;

            long extentH = Geometry.Extent(kernelHeight, dilationHeight), extentW = Geometry.Extent(kernelWidth, dilationWidth);
            long weightCount = (long)kernelHeight * kernelWidth * (inputChannels / groups) * filters;
            if (extentH > MaxKernelExtent) diagnostics.Report(DiagnosticDescriptors.TooLarge, args.PositionalLocation(0, "kernelHeight"), "The dilated kernel height (KernelHeight - 1) * DilationHeight + 1", typeName, extentH, MaxKernelExtent);
            if (extentW > MaxKernelExtent) diagnostics.Report(DiagnosticDescriptors.TooLarge, args.PositionalLocation(1, "kernelWidth"), "The dilated kernel width (KernelWidth - 1) * DilationWidth + 1", typeName, extentW, MaxKernelExtent);
            if (extentW * inputChannels > MaxWeights) diagnostics.Report(DiagnosticDescriptors.TooLarge, args.PositionalLocation(1, "kernelWidth"), "The dilated kernel width times InputChannels", typeName, extentW * inputChannels, MaxWeights);
            if (weightCount > MaxWeights) diagnostics.Report(DiagnosticDescriptors.TooLarge, args.Attribute, $"The weight count KernelHeight * KernelWidth * InputChannels{(groups > 1 ? " / Groups" : "")} * {(depthwise ? "DepthMultiplier" : "Filters")}", typeName, weightCount, MaxWeights);
            // With fewer than 4 channels the input gradient transposes the weights into rows padded to 16 taps.
            long paddedTaps = ((long)kernelHeight * kernelWidth * inputChannels + 15) / 16 * 16;
            if (!depthwise && !transposed && groups == 1 && inputChannels < 4 && weightCount <= MaxWeights && paddedTaps * filters > MaxWeights)
                diagnostics.Report(DiagnosticDescriptors.TooLarge, args.Attribute, "With fewer than 4 input channels, Filters * (KernelHeight * KernelWidth * InputChannels rounded up to 16)", typeName, paddedTaps * filters, MaxWeights);
            if (diagnostics.ErrorCount > errors) return null;

            return new ConvSpec(kernelHeight, kernelWidth, inputChannels, filters, strideHeight, strideWidth, dilationHeight, dilationWidth,
                padding, useBias, activation, depthwise, sequence, causal, transposed, groups);
        }

        /// <summary>
        /// A [Conv2D]'s <c>Groups</c> (1 when absent): at least 1, and a divisor of the input channels and the filters (each group
        /// has C/G channels and F/G filters), else CONVGEN044 at the argument, with the common divisors to choose from. Returns 1
        /// after an error (or when the channels or filters are themselves invalid), so nothing downstream divides by a bad value.
        /// </summary>
        private static int ReadGroups(Arguments args, int inputChannels, int filters, Diagnostics diagnostics)
        {
            int groups = args.Int("Groups", 1);
            if (groups == 1 || (groups > 1 && (inputChannels < 1 || filters < 1))) return 1; // bad channels or filters are reported on their own
            if (groups > 1 && inputChannels % groups == 0 && filters % groups == 0) return groups;
            bool channels = groups >= 1 && inputChannels % groups == 0, ofFilters = groups >= 1 && filters % groups == 0;
            string problem = groups < 1 ? "less than 1"
                : !channels && !ofFilters ? $"which divides neither the {inputChannels} input channels nor the {filters} filters"
                : !channels ? $"which does not divide the {inputChannels} input channels"
                : $"which does not divide the {filters} filters";
            diagnostics.Report(DiagnosticDescriptors.GroupsNotDividing, args.Location("Groups"), groups, problem, inputChannels, filters, CommonDivisors(inputChannels, filters));
            return 1;
        }

        /// <summary>The common divisors of <paramref name="a"/> and <paramref name="b"/> as text: "1, 2, 4 or 8", at most 8 of them named.</summary>
        private static string CommonDivisors(int a, int b)
        {
            if (a < 1 || b < 1) return "1";
            int gcd = a, r = b;
            while (r != 0) (gcd, r) = (r, gcd % r);
            var small = new List<int>();
            var large = new List<int>();
            for (int d = 1; (long)d * d <= gcd; d++)
            {
                if (gcd % d != 0) continue;
                small.Add(d);
                if (d != gcd / d) large.Insert(0, gcd / d);
            }
            var all = small.Concat(large).ToList();
            if (all.Count == 1) return "1 (they have no other common divisor)";
            var named = all.Count <= 8 ? all : all.Take(6).Concat(new[] { all[all.Count - 1] }).ToList();
            string list = string.Join(", ", named.Take(named.Count - 1)) + (all.Count <= 8 ? " or " : ", ..., ") + named[named.Count - 1];
            return list;
        }

        /// <summary>The <c>Padding</c> argument (Valid when absent); Causal only where <paramref name="causal"/> (a [Conv1D]); any other value is CONVGEN013.</summary>
        private static Padding ReadPadding(Arguments args, Diagnostics diagnostics, bool causal = false)
        {
            int value = args.Int("Padding", (int)Padding.Valid);
            if (value is (int)Padding.Valid or (int)Padding.Same || (causal && value == (int)Padding.Causal)) return (Padding)value;
            if (value == (int)Padding.Causal)
                diagnostics.Report(DiagnosticDescriptors.CausalOutsideConv1D, args.Location("Padding"));
            else
                diagnostics.Report(DiagnosticDescriptors.InvalidEnumValue, args.Location("Padding"), "Padding", value,
                    causal ? "Padding.Valid, Padding.Same or Padding.Causal" : "Padding.Valid or Padding.Same");
            return Padding.Valid;
        }

        /// <summary>The <c>Activation</c> argument (None when absent); an undefined value is CONVGEN013.</summary>
        private static Activation ReadActivation(Arguments args, Diagnostics diagnostics)
        {
            int value = args.Int("Activation", (int)Activation.None);
            if (value >= (int)Activation.None && value <= (int)Activation.GELU) return (Activation)value;
            diagnostics.Report(DiagnosticDescriptors.InvalidEnumValue, args.Location("Activation"), "Activation", value,
                "Activation.None, ReLU, ReLU6, LeakyReLU, ELU, Sigmoid, Tanh, Softmax, SiLU or GELU");
            return Activation.None;
        }

        /// <summary>
        /// The generated part derives from <paramref name="generatedBase"/>, so the user's declarations may name no other base class
        /// (<paramref name="allowed"/>, when not null, may be named explicitly): CONVGEN028 otherwise.
        /// </summary>
        private static void CheckBaseClass(INamedTypeSymbol type, TypeDeclarationSyntax declaration, string attributeName, string generatedBase, string? allowed, Diagnostics diagnostics)
        {
            if (type.BaseType is { SpecialType: not SpecialType.System_Object } baseType && baseType.ToDisplayString() != allowed
                && baseType.TypeKind != TypeKind.Error)
                diagnostics.Report(DiagnosticDescriptors.BaseClass, LocationInfo.From(declaration.Identifier), type.Name, baseType.ToDisplayString(),
                    attributeName == "Input" ? "a network ([Input])" : $"a [{attributeName}]", generatedBase);
        }

        /// <summary>
        /// What the attribute is on: reports unsupported targets (returning null), generic or non-partial types and non-partial
        /// containing types, and returns the containing types to re-declare around the generated part.
        /// </summary>
        private static List<ContainingType>? CheckTarget(INamedTypeSymbol type, TypeDeclarationSyntax declaration, string attributeName, Diagnostics diagnostics, CancellationToken cancellationToken)
        {
            var identifierLocation = LocationInfo.From(declaration.Identifier);
            string? unsupported =
                type.TypeKind == TypeKind.Struct ? (type.IsRecord ? "a record struct" : "a struct") :
                type.TypeKind == TypeKind.Interface ? "an interface" :
                type.TypeKind != TypeKind.Class ? "not a class" :
                type.IsRecord ? "a record" :
                type.IsStatic ? "static" :
                type.IsAbstract ? "abstract" :
                type.IsFileLocal ? "file-local" : null;
            if (unsupported is not null)
            {
                diagnostics.Report(DiagnosticDescriptors.UnsupportedTarget, identifierLocation, type.Name, unsupported, attributeName);
                return null;
            }
            if (type.TypeParameters.Length > 0) diagnostics.Report(DiagnosticDescriptors.GenericType, identifierLocation, type.Name);
            if (!IsPartialEverywhere(type, cancellationToken)) diagnostics.Report(DiagnosticDescriptors.NotPartial, identifierLocation, type.Name, attributeName);

            var containing = new List<ContainingType>();
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                if (outer.TypeParameters.Length > 0) diagnostics.Report(DiagnosticDescriptors.GenericType, identifierLocation, outer.Name + "." + type.Name);
                if (!IsPartialEverywhere(outer, cancellationToken)) diagnostics.Report(DiagnosticDescriptors.ContainingTypeNotPartial, identifierLocation, outer.Name, type.Name, attributeName);
                containing.Insert(0, new ContainingType(Keyword(outer), Identifier(outer.Name)));
            }
            return containing;
        }

        /// <summary>Members the user declared that the generated part would clash with.</summary>
        private static void CheckReservedMembers(INamedTypeSymbol type, HashSet<string> reserved, Diagnostics diagnostics)
        {
            foreach (var member in type.GetMembers())
            {
                if (member.IsImplicitlyDeclared || !reserved.Contains(member.Name)) continue;
                var memberLocation = member.Locations.FirstOrDefault(l => l.IsInSource);
                var location = memberLocation?.SourceTree is null ? null : new LocationInfo(memberLocation.SourceTree.FilePath, memberLocation.SourceSpan, memberLocation.GetLineSpan().Span);
                diagnostics.Report(DiagnosticDescriptors.MemberNameClash, location, type.Name, member.Name);
            }
        }

        /// <summary>Whether <paramref name="node"/> lies in <paramref name="declaration"/>.</summary>
        private static bool Holds(TypeDeclarationSyntax declaration, SyntaxNode? node)
            => node is not null && node.SyntaxTree == declaration.SyntaxTree && declaration.Span.Contains(node.Span);

        private static (string? Namespace, string FullName) Names(INamedTypeSymbol type)
            => (type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString(QualifiedName) : null, type.ToDisplayString(QualifiedName));

        /// <summary>Namespace-qualified names with keywords escaped (<c>@class</c>), without <c>global::</c>.</summary>
        private static readonly SymbolDisplayFormat QualifiedName = SymbolDisplayFormat.FullyQualifiedFormat
            .WithGlobalNamespaceStyle(SymbolDisplayGlobalNamespaceStyle.Omitted)
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.EscapeKeywordIdentifiers);

        /// <summary>A name as a C# identifier: keywords get an <c>@</c>.</summary>
        private static string Identifier(string name)
            => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

        private static bool IsPartialEverywhere(INamedTypeSymbol type, CancellationToken cancellationToken)
            => type.DeclaringSyntaxReferences.All(r => r.GetSyntax(cancellationToken) is TypeDeclarationSyntax t && t.Modifiers.Any(SyntaxKind.PartialKeyword));

        private static string Keyword(INamedTypeSymbol type) => type switch
        {
            { TypeKind: TypeKind.Struct, IsRecord: true } => "record struct",
            { TypeKind: TypeKind.Struct } => "struct",
            { TypeKind: TypeKind.Interface } => "interface",
            { IsRecord: true } => "record",
            _ => "class",
        };
    }

    /// <summary>Collects diagnostics as equatable values; <see cref="Report"/> falls back to the attribute's location.</summary>
    private sealed class Diagnostics(LocationInfo? fallback)
    {
        private readonly List<DiagnosticInfo> _items = new();

        public int ErrorCount { get; private set; }

        public bool HasErrors => ErrorCount > 0;

        public void Report(DiagnosticDescriptor descriptor, LocationInfo? location, params object[] args)
        {
            _items.Add(new DiagnosticInfo(descriptor, location ?? fallback, args.Select(a => a?.ToString() ?? "").ToEquatableArray()));
            if (descriptor.DefaultSeverity == DiagnosticSeverity.Error) ErrorCount++;
        }

        /// <summary>Adds a diagnostic made elsewhere (an earlier stage's).</summary>
        public void Add(DiagnosticInfo diagnostic)
        {
            _items.Add(diagnostic);
            if (diagnostic.Descriptor.DefaultSeverity == DiagnosticSeverity.Error) ErrorCount++;
        }

        public ParseResult Result(LayerClassModel? model) => new(model, _items.ToEquatableArray());

        public EquatableArray<DiagnosticInfo> ToArray() => _items.ToEquatableArray();
    }

    /// <summary>The attribute's constructor and named arguments, with the syntax location of each.</summary>
    private sealed class Arguments
    {
        private readonly AttributeData _attribute;
        private readonly AttributeSyntax? _syntax;
        private readonly Dictionary<string, TypedConstant> _named = new();

        /// <param name="attribute">The bound attribute.</param>
        /// <param name="syntax">Its syntax, for locations.</param>
        /// <param name="model">The semantic model, to check that every argument converts implicitly.</param>
        /// <param name="positionalCounts">How many int constructor arguments the attribute's constructors take (an attribute whose
        /// constructor takes <c>params string[]</c> passes none and reads <see cref="Strings"/>).</param>
        public Arguments(AttributeData attribute, AttributeSyntax? syntax, SemanticModel? model, params int[] positionalCounts)
        {
            _attribute = attribute;
            _syntax = syntax;
            bool strings = positionalCounts.Length == 0;
            Readable = attribute.AttributeConstructor is not null
                && (strings
                    ? attribute.ConstructorArguments.Length == 1 && attribute.ConstructorArguments[0] is { Kind: TypedConstantKind.Array, IsNull: false } array
                      && array.Values.All(v => v.Value is string)
                    : positionalCounts.Contains(attribute.ConstructorArguments.Length)
                      && attribute.ConstructorArguments.All(a => a.Kind == TypedConstantKind.Primitive && a.Value is int or float))
                && ImplicitlyTyped(attribute, syntax, model);
            foreach (var pair in attribute.NamedArguments)
            {
                if (pair.Value.Kind == TypedConstantKind.Error || (pair.Value.Value is null && pair.Value.Type?.SpecialType != SpecialType.System_String)) Readable = false;
                _named[pair.Key] = pair.Value;
            }
        }

        public bool Readable { get; }

        /// <summary>
        /// Whether every argument converts implicitly to its parameter or property. With an error such as CS0266
        /// (<c>Filters = 3L</c>, <c>Padding = 1</c>) the compiler still binds the converted value; it must not be used.
        /// </summary>
        private static bool ImplicitlyTyped(AttributeData attribute, AttributeSyntax? syntax, SemanticModel? model)
        {
            if (syntax?.ArgumentList is null || model is null || model.SyntaxTree != syntax.SyntaxTree) return true;
            var parameters = attribute.AttributeConstructor?.Parameters ?? ImmutableArray<IParameterSymbol>.Empty;
            int position = 0;
            foreach (var argument in syntax.ArgumentList.Arguments)
            {
                ITypeSymbol? target;
                if (argument.NameEquals is { } named)
                    target = attribute.NamedArguments.FirstOrDefault(p => p.Key == named.Name.Identifier.ValueText).Value.Type;
                else if (argument.NameColon is { } colon)
                    target = parameters.FirstOrDefault(p => p.Name == colon.Name.Identifier.ValueText)?.Type;
                else if (parameters.Length > 0 && position >= parameters.Length - 1 && parameters[parameters.Length - 1] is { IsParams: true, Type: IArrayTypeSymbol array })
                {
                    // params: each argument converts to the element type, or a single one to the array type itself.
                    position++;
                    target = model.ClassifyConversion(argument.Expression, array) is { Exists: true, IsImplicit: true } ? array : array.ElementType;
                }
                else
                    target = position < parameters.Length ? parameters[position++].Type : null;
                if (target is null) return false;
                var conversion = model.ClassifyConversion(argument.Expression, target);
                if (!conversion.Exists || !conversion.IsImplicit) return false;
            }
            return true;
        }

        /// <summary>The attribute's location.</summary>
        public LocationInfo? Attribute => LocationInfo.From(_syntax);

        public int PositionalCount => _attribute.ConstructorArguments.Length;

        public int Positional(int index) => _attribute.ConstructorArguments[index].Value is int i ? i : 0;

        public float PositionalFloat(int index, float defaultValue) =>
            index < _attribute.ConstructorArguments.Length && _attribute.ConstructorArguments[index].Value is float f ? f : defaultValue;

        public bool Has(string name) => _named.ContainsKey(name);

        public int Int(string name, int defaultValue) => _named.TryGetValue(name, out var c) && c.Value is int i ? i : defaultValue;

        public bool Bool(string name, bool defaultValue) => _named.TryGetValue(name, out var c) && c.Value is bool b ? b : defaultValue;

        public float Float(string name, float defaultValue) => _named.TryGetValue(name, out var c) && c.Value is float f ? f : defaultValue;

        /// <summary>A named string argument (null when absent or set to null).</summary>
        public string? String(string name) => _named.TryGetValue(name, out var c) ? c.Value as string : null;

        /// <summary>The <c>params string[]</c> constructor argument.</summary>
        public string[] Strings => _attribute.ConstructorArguments.Length == 1 && _attribute.ConstructorArguments[0] is { Kind: TypedConstantKind.Array, IsNull: false } array
            ? array.Values.Select(v => v.Value as string ?? "").ToArray()
            : [];

        /// <summary>The location of the <paramref name="index"/>th string given to a <c>params string[]</c> constructor.</summary>
        public LocationInfo? StringLocation(int index)
        {
            var arguments = _syntax?.ArgumentList?.Arguments.Where(a => a.NameEquals is null).ToList();
            return arguments is not null && index < arguments.Count ? LocationInfo.From(arguments[index]) : LocationInfo.From(_syntax);
        }

        /// <summary>
        /// A property set for both axes (<c>Stride</c>) or per axis (<c>StrideHeight</c>, <c>StrideWidth</c>), with
        /// <paramref name="defaultValue"/> for what is not set; both forms together, or a value below 1, are reported.
        /// </summary>
        /// <summary>A property of a 1-D layer (<c>Stride</c>, <c>Dilation</c>), default 1; a value below 1 is reported.</summary>
        public int OneAxis(string name, DiagnosticDescriptor tooSmall, Diagnostics diagnostics)
        {
            int value = Int(name, 1);
            if (value < 1) diagnostics.Report(tooSmall, Location(name), name, value);
            return value;
        }

        public (int Height, int Width) BothOrPerAxis(string both, int defaultValue, DiagnosticDescriptor tooSmall, Diagnostics diagnostics)
            => BothOrPerAxis(both, defaultValue, defaultValue, tooSmall, diagnostics);

        public (int Height, int Width) BothOrPerAxis(string both, int defaultHeight, int defaultWidth, DiagnosticDescriptor tooSmall, Diagnostics diagnostics)
        {
            string h = both + "Height", w = both + "Width";
            if (Has(both))
            {
                foreach (var perAxis in new[] { h, w }.Where(Has))
                    diagnostics.Report(DiagnosticDescriptors.ConflictingAxes, Location(both), $"{both} = {Int(both, 1)}", $"{perAxis} = {Int(perAxis, 1)}", both, both);
                int value = Int(both, 1);
                if (value < 1) diagnostics.Report(tooSmall, Location(both), both, value);
                return (value, value);
            }
            int vh = Int(h, defaultHeight), vw = Int(w, defaultWidth);
            if (vh < 1) diagnostics.Report(tooSmall, Location(h), h, vh);
            if (vw < 1) diagnostics.Report(tooSmall, Location(w), w, vw);
            return (vh, vw);
        }

        /// <summary>The location of the named argument <paramref name="name"/>, or of the attribute.</summary>
        public LocationInfo? Location(string name)
        {
            var argument = _syntax?.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == name);
            return LocationInfo.From(argument) ?? LocationInfo.From(_syntax);
        }

        /// <summary>The location of constructor argument <paramref name="index"/> (written positionally or as <c>parameterName:</c>).</summary>
        public LocationInfo? PositionalLocation(int index, string parameterName)
        {
            var arguments = _syntax?.ArgumentList?.Arguments;
            if (arguments is null) return LocationInfo.From(_syntax);
            var byName = arguments.Value.FirstOrDefault(a => a.NameColon?.Name.Identifier.ValueText == parameterName);
            if (byName is not null) return LocationInfo.From(byName);
            var positional = arguments.Value.Where(a => a.NameEquals is null && a.NameColon is null).ToList();
            return index < positional.Count ? LocationInfo.From(positional[index]) : LocationInfo.From(_syntax);
        }
    }
}
