using System;
using ConvGen.Generator.Helpers;
using ConvGen.Generator.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ConvGen.Generator;

/// <summary>
/// Turns every <c>[Conv2D]</c> partial class into a compile-time specialized convolution layer.
/// The pipeline only: <c>ConvGenerator.Parser.cs</c> turns an attribute into a <see cref="Conv2DModel"/>,
/// <c>ConvGenerator.Emitter.cs</c> turns a model into C#.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class ConvGenerator : IIncrementalGenerator
{
    /// <summary>Metadata name of the attribute this generator looks for.</summary>
    public const string Conv2DAttributeMetadataName = "ConvGen.Conv2DAttribute";

    /// <summary>Names of the tracked pipeline steps, for incremental-caching tests.</summary>
    public static class TrackingNames
    {
        /// <summary>Attribute to <see cref="ParseResult"/>.</summary>
        public const string Parse = nameof(Parse);

        /// <summary>The diagnostics of each parse.</summary>
        public const string Diagnostics = nameof(Diagnostics);

        /// <summary>The models without errors, which are emitted.</summary>
        public const string Models = nameof(Models);
    }

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                Conv2DAttributeMetadataName,
                static (node, _) => node is TypeDeclarationSyntax,
                static (ctx, ct) => ParseSafely(ctx, ct))
            .WithTrackingName(TrackingNames.Parse);

        // Diagnostics and code are separate outputs: a change that only moves a diagnostic never re-emits code.
        var diagnostics = parsed
            .SelectMany(static (result, _) => result.Diagnostics)
            .WithTrackingName(TrackingNames.Diagnostics);
        context.RegisterSourceOutput(diagnostics, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));

        var models = parsed
            .Select(static (result, _) => result.Model)
            .Where(static model => model is not null)
            .WithTrackingName(TrackingNames.Models);
        context.RegisterSourceOutput(models, static (spc, model) => EmitSafely(spc, model!));
    }

    private static ParseResult ParseSafely(GeneratorAttributeSyntaxContext context, System.Threading.CancellationToken cancellationToken)
    {
        try
        {
            return Parser.Parse(context, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The generator must never throw into the compiler (CS8785); an unexpected failure becomes a diagnostic.
            var info = new DiagnosticInfo(DiagnosticDescriptors.InternalError, LocationInfo.From(context.TargetNode),
                new[] { context.TargetSymbol.Name, e.GetType().Name + ": " + e.Message }.ToEquatableArray());
            return new ParseResult(null, new[] { info }.ToEquatableArray());
        }
    }

    private static void EmitSafely(SourceProductionContext context, Conv2DModel model)
    {
        try
        {
            context.AddSource(model.HintName, Emitter.Emit(model));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InternalError, null, model.FullName, e.GetType().Name + ": " + e.Message));
        }
    }
}
