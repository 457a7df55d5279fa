using System.Collections.Generic;
using System.Linq;
using System.Threading;
using ConvGen.Generator.Helpers;
using ConvGen.Generator.Models;
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

    /// <summary>Attribute (and its syntax) to <see cref="Conv2DModel"/> plus diagnostics. Holds no symbols past its return.</summary>
    internal static class Parser
    {
        public static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var diagnostics = new List<DiagnosticInfo>();
            if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax declaration || context.Attributes.Length == 0)
                return new ParseResult(null, EquatableArray<DiagnosticInfo>.Empty);

            // A declaration without a name is a syntax error the compiler reports; there is nothing to generate for it.
            if (declaration.Identifier.IsMissing || string.IsNullOrEmpty(type.Name))
                return new ParseResult(null, EquatableArray<DiagnosticInfo>.Empty);

            var attribute = context.Attributes[0];
            var attributeSyntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
            var attributeLocation = LocationInfo.From(attributeSyntax) ?? LocationInfo.From(declaration.Identifier);
            var identifierLocation = LocationInfo.From(declaration.Identifier);
            void Report(DiagnosticDescriptor descriptor, LocationInfo? location, params object[] args)
                => diagnostics.Add(new DiagnosticInfo(descriptor, location ?? attributeLocation, args.Select(a => a?.ToString() ?? "").ToEquatableArray()));
            ParseResult Done() => new(null, diagnostics.ToEquatableArray());

            // What the attribute is on.
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
                Report(DiagnosticDescriptors.UnsupportedTarget, identifierLocation, type.Name, unsupported);
                return Done();
            }
            if (type.TypeParameters.Length > 0) Report(DiagnosticDescriptors.GenericType, identifierLocation, type.Name);
            if (!IsPartialEverywhere(type, cancellationToken)) Report(DiagnosticDescriptors.NotPartial, identifierLocation, type.Name);

            var containing = new List<ContainingType>();
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                if (outer.TypeParameters.Length > 0) Report(DiagnosticDescriptors.GenericType, identifierLocation, outer.Name + "." + type.Name);
                if (!IsPartialEverywhere(outer, cancellationToken)) Report(DiagnosticDescriptors.ContainingTypeNotPartial, identifierLocation, outer.Name, type.Name);
                containing.Insert(0, new ContainingType(Keyword(outer), Identifier(outer.Name)));
            }

            // The arguments. If the compiler could not bind them it reports why; we say what we expected.
            var args = new Arguments(attribute, attributeSyntax);
            if (!args.Readable)
            {
                Report(DiagnosticDescriptors.UnreadableArguments, attributeLocation, type.Name);
                return Done();
            }

            int kernelHeight = args.Positional(0), kernelWidth = args.Positional(1);
            CheckAtLeastOne(kernelHeight, "KernelHeight", "row", args.PositionalLocation(0, "kernelHeight"));
            CheckAtLeastOne(kernelWidth, "KernelWidth", "column", args.PositionalLocation(1, "kernelWidth"));
            void CheckAtLeastOne(int value, string name, string unit, LocationInfo? location)
            {
                if (value < 1) Report(DiagnosticDescriptors.KernelSizeTooSmall, location, name, value, unit);
            }

            int filters = args.Int("Filters", 1), inputChannels = args.Int("InputChannels", 1);
            if (filters < 1) Report(DiagnosticDescriptors.FiltersTooSmall, args.Location("Filters"), filters);
            if (inputChannels < 1) Report(DiagnosticDescriptors.InputChannelsTooSmall, args.Location("InputChannels"), inputChannels);

            var (strideHeight, strideWidth) = BothOrPerAxis("Stride", DiagnosticDescriptors.StrideTooSmall);
            var (dilationHeight, dilationWidth) = BothOrPerAxis("Dilation", DiagnosticDescriptors.DilationTooSmall);
            (int, int) BothOrPerAxis(string both, DiagnosticDescriptor tooSmall)
            {
                string h = both + "Height", w = both + "Width";
                if (args.Has(both))
                {
                    foreach (var perAxis in new[] { h, w }.Where(args.Has))
                        Report(DiagnosticDescriptors.ConflictingAxes, args.Location(both), $"{both} = {args.Int(both, 1)}", $"{perAxis} = {args.Int(perAxis, 1)}", both, both);
                    int value = args.Int(both, 1);
                    if (value < 1) Report(tooSmall, args.Location(both), both, value);
                    return (value, value);
                }
                int vh = args.Int(h, 1), vw = args.Int(w, 1);
                if (vh < 1) Report(tooSmall, args.Location(h), h, vh);
                if (vw < 1) Report(tooSmall, args.Location(w), w, vw);
                return (vh, vw);
            }

            int padding = args.Int("Padding", 0), activation = args.Int("Activation", 0);
            if (padding is not (0 or 1)) Report(DiagnosticDescriptors.InvalidEnumValue, args.Location("Padding"), "Padding", padding, "Padding.Valid or Padding.Same");
            if (activation is not (0 or 1)) Report(DiagnosticDescriptors.InvalidEnumValue, args.Location("Activation"), "Activation", activation, "Activation.None or Activation.ReLU");
            bool useBias = args.Bool("UseBias", true);

            if (diagnostics.Count == 0)
            {
                long extentH = (long)(kernelHeight - 1) * dilationHeight + 1, extentW = (long)(kernelWidth - 1) * dilationWidth + 1;
                long weightCount = (long)kernelHeight * kernelWidth * inputChannels * filters;
                if (extentH > MaxKernelExtent) Report(DiagnosticDescriptors.TooLarge, args.PositionalLocation(0, "kernelHeight"), "The dilated kernel height (KernelHeight - 1) * DilationHeight + 1", type.Name, extentH, MaxKernelExtent);
                if (extentW > MaxKernelExtent) Report(DiagnosticDescriptors.TooLarge, args.PositionalLocation(1, "kernelWidth"), "The dilated kernel width (KernelWidth - 1) * DilationWidth + 1", type.Name, extentW, MaxKernelExtent);
                if (extentW * inputChannels > MaxWeights) Report(DiagnosticDescriptors.TooLarge, args.PositionalLocation(1, "kernelWidth"), "The dilated kernel width times InputChannels", type.Name, extentW * inputChannels, MaxWeights);
                if (weightCount > MaxWeights) Report(DiagnosticDescriptors.TooLarge, attributeLocation, "The weight count KernelHeight * KernelWidth * InputChannels * Filters", type.Name, weightCount, MaxWeights);
            }

            // Members the user declared that the generated part would clash with.
            foreach (var member in type.GetMembers())
            {
                if (member.IsImplicitlyDeclared || !Emitter.ReservedMemberNames.Contains(member.Name)) continue;
                var memberLocation = member.Locations.FirstOrDefault(l => l.IsInSource);
                var location = memberLocation?.SourceTree is null ? null : new LocationInfo(memberLocation.SourceTree.FilePath, memberLocation.SourceSpan, memberLocation.GetLineSpan().Span);
                Report(DiagnosticDescriptors.MemberNameClash, location, type.Name, member.Name);
            }

            if (diagnostics.Any(d => d.Descriptor.DefaultSeverity == DiagnosticSeverity.Error)) return Done();

            bool unrolled = kernelHeight * kernelWidth <= MaxUnrolledTaps;
            if (!unrolled)
                Report(DiagnosticDescriptors.KernelNotUnrolled, attributeLocation, kernelHeight, kernelWidth, type.Name, kernelHeight * kernelWidth, MaxUnrolledTaps);

            string? ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString(QualifiedName) : null;
            string fullName = type.ToDisplayString(QualifiedName);
            var model = new Conv2DModel(ns, containing.ToEquatableArray(), Identifier(type.Name), fullName, fullName.Replace("@", "") + ".g.cs",
                kernelHeight, kernelWidth, inputChannels, filters, strideHeight, strideWidth, dilationHeight, dilationWidth,
                padding, useBias, activation, unrolled);
            return new ParseResult(model, diagnostics.ToEquatableArray());
        }

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

    /// <summary>The attribute's constructor and named arguments, with the syntax location of each.</summary>
    private sealed class Arguments
    {
        private readonly AttributeData _attribute;
        private readonly AttributeSyntax? _syntax;
        private readonly Dictionary<string, TypedConstant> _named = new();

        public Arguments(AttributeData attribute, AttributeSyntax? syntax)
        {
            _attribute = attribute;
            _syntax = syntax;
            Readable = attribute.AttributeConstructor is not null
                && attribute.ConstructorArguments.Length == 2
                && attribute.ConstructorArguments.All(a => a.Kind == TypedConstantKind.Primitive && a.Value is int);
            foreach (var pair in attribute.NamedArguments)
            {
                if (pair.Value.Kind == TypedConstantKind.Error || pair.Value.Value is null) Readable = false;
                _named[pair.Key] = pair.Value;
            }
        }

        public bool Readable { get; }

        public int Positional(int index) => (int)_attribute.ConstructorArguments[index].Value!;

        public bool Has(string name) => _named.ContainsKey(name);

        public int Int(string name, int defaultValue) => _named.TryGetValue(name, out var c) && c.Value is int i ? i : defaultValue;

        public bool Bool(string name, bool defaultValue) => _named.TryGetValue(name, out var c) && c.Value is bool b ? b : defaultValue;

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
