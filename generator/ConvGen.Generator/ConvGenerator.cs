using System;
using System.Linq;
using ConvGen.Generator.Helpers;
using ConvGen.Generator.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ConvGen.Generator;

/// <summary>
/// Turns every <c>[Conv2D]</c> partial class into a compile-time specialized convolution layer, and every <c>[Input]</c> class
/// with layer attributes into a compiled network. The pipeline only: <c>ConvGenerator.Parser.cs</c> and
/// <c>ConvGenerator.NetworkParser.cs</c> turn attributes into equatable models (<c>Models/Models.cs</c>);
/// <c>ConvGenerator.LayerClassEmitter.cs</c> and <c>ConvGenerator.NetworkEmitter.cs</c> turn models into C#, with every
/// convolution's kernels from <c>ConvGenerator.KernelEmitter.cs</c>.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class ConvGenerator : IIncrementalGenerator
{
    /// <summary>Metadata name of the attribute this generator looks for.</summary>
    public const string Conv2DAttributeMetadataName = "ConvGen.Conv2DAttribute";

    /// <summary>Metadata name of the attribute that makes a class a depthwise convolution layer.</summary>
    public const string DepthwiseConv2DAttributeMetadataName = "ConvGen.DepthwiseConv2DAttribute";

    /// <summary>Metadata name of the attribute that makes a class a 1-D convolution layer.</summary>
    public const string Conv1DAttributeMetadataName = "ConvGen.Conv1DAttribute";

    /// <summary>Metadata name of the attribute that makes a class a transposed convolution layer.</summary>
    public const string Conv2DTransposeAttributeMetadataName = "ConvGen.Conv2DTransposeAttribute";

    /// <summary>The attributes that make a class one layer on their own, with their kinds.</summary>
    private static readonly (string Name, LayerKind Kind)[] SingleLayerAttributes =
    [
        (Conv2DAttributeMetadataName, LayerKind.Conv2D), (DepthwiseConv2DAttributeMetadataName, LayerKind.DepthwiseConv2D), (Conv1DAttributeMetadataName, LayerKind.Conv1D),
        (Conv2DTransposeAttributeMetadataName, LayerKind.Conv2DTranspose),
    ];

    /// <summary>Metadata name of the attribute that starts a compiled network.</summary>
    public const string InputAttributeMetadataName = "ConvGen.InputAttribute";

    /// <summary>Names of the tracked pipeline steps, for incremental-caching tests.</summary>
    public static class TrackingNames
    {
        /// <summary>Attribute to <see cref="ParseResult"/>.</summary>
        public const string Parse = nameof(Parse);

        /// <summary>The diagnostics of each parse.</summary>
        public const string Diagnostics = nameof(Diagnostics);

        /// <summary>The models without errors, which are emitted.</summary>
        public const string Models = nameof(Models);

        /// <summary>[Input] class to <see cref="NetworkParseResult"/>.</summary>
        public const string NetworkParse = nameof(NetworkParse);

        /// <summary>The diagnostics of each network parse.</summary>
        public const string NetworkDiagnostics = nameof(NetworkDiagnostics);

        /// <summary>The network models without errors, which are emitted.</summary>
        public const string NetworkModels = nameof(NetworkModels);

        /// <summary>Layer attributes on a class without [Input].</summary>
        public const string Orphans = nameof(Orphans);

        /// <summary>The [OnnxModel] classes, imported.</summary>
        public const string OnnxImport = nameof(OnnxImport);
    }

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // Single-layer classes: [Conv2D], [DepthwiseConv2D], [Conv1D] and [Conv2DTranspose].
        foreach (var (name, kind) in SingleLayerAttributes)
        {
            var parsed = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    name,
                    static (node, _) => node is TypeDeclarationSyntax,
                    (ctx, ct) => Safely(ctx, ct, (c, t) => Parser.Parse(c, kind, t), static info => new ParseResult(null, info)))
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
            context.RegisterSourceOutput(models, static (spc, model) => EmitSafely(spc, model!.Target.HintName, model.Target.FullName, () => LayerClassEmitter.Emit(model)));
        }

        // Compiled networks: a class with [Input] and the layer attributes after it.
        var networks = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                InputAttributeMetadataName,
                static (node, _) => node is TypeDeclarationSyntax,
                static (ctx, ct) => Safely(ctx, ct, Parser.ParseNetwork, static info => new NetworkParseResult(null, info)))
            .WithTrackingName(TrackingNames.NetworkParse);
        var networkDiagnostics = networks
            .SelectMany(static (result, _) => result.Diagnostics)
            .WithTrackingName(TrackingNames.NetworkDiagnostics);
        context.RegisterSourceOutput(networkDiagnostics, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
        var networkModels = networks
            .Select(static (result, _) => result.Model)
            .Where(static model => model is not null)
            .WithTrackingName(TrackingNames.NetworkModels);
        context.RegisterSourceOutput(networkModels, static (spc, model) => EmitSafely(spc, model!.Target.HintName, model.Target.FullName, () => NetworkEmitter.Emit(model)));

        // Compiled networks from ONNX files: a class with [OnnxModel] and the .onnx additional files.
        var onnxFiles = context.AdditionalTextsProvider
            .Where(static text => text.Path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            .Select(static (text, ct) => Parser.ReadOnnxFile(text, ct))
            .Collect();
        var onnxImports = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                OnnxModelAttributeMetadataName,
                static (node, _) => node is TypeDeclarationSyntax,
                static (ctx, ct) => Safely(ctx, ct, Parser.ParseOnnxTarget, static info => new OnnxTarget(null, "", "", null, info)))
            .Combine(onnxFiles)
            .Select(static (pair, _) => SafelyImport(pair.Left, pair.Right))
            .WithTrackingName(TrackingNames.OnnxImport);
        context.RegisterSourceOutput(onnxImports.SelectMany(static (result, _) => result.Diagnostics), static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
        context.RegisterSourceOutput(onnxImports.Select(static (result, _) => result.Model).Where(static model => model is not null),
            static (spc, model) => EmitSafely(spc, model!.Target.HintName, model.Target.FullName, () => NetworkEmitter.Emit(model)));

        // Layer attributes without [Input] that do not make one layer are reported once per class.
        foreach (var (name, kind) in SingleLayerAttributes.Concat(new[]
                 {
                     ("ConvGen.MaxPool1DAttribute", LayerKind.MaxPool1D), ("ConvGen.AveragePooling1DAttribute", LayerKind.AveragePooling1D),
                     ("ConvGen.GlobalAveragePooling1DAttribute", LayerKind.GlobalAveragePooling1D), ("ConvGen.GlobalMaxPooling1DAttribute", LayerKind.GlobalMaxPooling1D),
                     ("ConvGen.SiLUAttribute", LayerKind.SiLU), ("ConvGen.GELUAttribute", LayerKind.GELU), ("ConvGen.ReshapeAttribute", LayerKind.Reshape),
                     ("ConvGen.MaxPool2DAttribute", LayerKind.MaxPool2D), ("ConvGen.FlattenAttribute", LayerKind.Flatten), ("ConvGen.DenseAttribute", LayerKind.Dense),
                     ("ConvGen.AddAttribute", LayerKind.Add), ("ConvGen.ConcatenateAttribute", LayerKind.Concatenate),
                     ("ConvGen.BatchNormalizationAttribute", LayerKind.BatchNormalization), ("ConvGen.AveragePooling2DAttribute", LayerKind.AveragePooling2D),
                     ("ConvGen.GlobalAveragePooling2DAttribute", LayerKind.GlobalAveragePooling2D), ("ConvGen.GlobalMaxPooling2DAttribute", LayerKind.GlobalMaxPooling2D),
                     ("ConvGen.ReLUAttribute", LayerKind.ReLU), ("ConvGen.ReLU6Attribute", LayerKind.ReLU6), ("ConvGen.LeakyReLUAttribute", LayerKind.LeakyReLU),
                     ("ConvGen.ELUAttribute", LayerKind.ELU), ("ConvGen.DropoutAttribute", LayerKind.Dropout),
                     ("ConvGen.TanhAttribute", LayerKind.Tanh), ("ConvGen.SigmoidAttribute", LayerKind.Sigmoid), ("ConvGen.SoftmaxAttribute", LayerKind.Softmax),
                     ("ConvGen.ZeroPadding2DAttribute", LayerKind.ZeroPadding2D), ("ConvGen.Cropping2DAttribute", LayerKind.Cropping2D),
                 }))
        {
            var orphans = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    name,
                    static (node, _) => node is TypeDeclarationSyntax,
                    (ctx, ct) => Safely(ctx, ct, (c, t) => Parser.ParseOrphan(c, kind, t), static info => info))
                .SelectMany(static (diagnostics, _) => diagnostics)
                .WithTrackingName(TrackingNames.Orphans);
            context.RegisterSourceOutput(orphans, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
        }
    }

    /// <summary>Runs a parse; an unexpected exception becomes CONVGEN999 instead of escaping into the compiler (CS8785).</summary>
    private static T Safely<T>(GeneratorAttributeSyntaxContext context, System.Threading.CancellationToken cancellationToken,
        Func<GeneratorAttributeSyntaxContext, System.Threading.CancellationToken, T> parse, Func<EquatableArray<DiagnosticInfo>, T> failed)
    {
        try
        {
            return parse(context, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var info = new DiagnosticInfo(DiagnosticDescriptors.InternalError, LocationInfo.From(context.TargetNode),
                new[] { context.TargetSymbol.Name, e.GetType().Name + ": " + e.Message }.ToEquatableArray());
            return failed(new[] { info }.ToEquatableArray());
        }
    }

    /// <summary>Imports an [OnnxModel] class's file; an unexpected exception becomes CONVGEN999 at the attribute, never a crash.</summary>
    private static NetworkParseResult SafelyImport(OnnxTarget target, System.Collections.Immutable.ImmutableArray<OnnxFileData> files)
    {
        try
        {
            return Parser.ImportOnnx(target, files);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var info = new DiagnosticInfo(DiagnosticDescriptors.InternalError, target.Location,
                new[] { target.ClassName, e.GetType().Name + ": " + e.Message }.ToEquatableArray());
            return new NetworkParseResult(null, new[] { info }.ToEquatableArray());
        }
    }

    private static void EmitSafely(SourceProductionContext context, string hintName, string fullName, Func<string> emit)
    {
        try
        {
            context.AddSource(hintName, emit());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InternalError, null, fullName, e.GetType().Name + ": " + e.Message));
        }
    }

}
