extern alias generator;

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ConvGen.Onnx.Tests;

/// <summary>Compiled by this project's own build from Models/residual17.onnx (an AdditionalFiles item), as a user's would be.</summary>
[OnnxModel("Models/residual17.onnx")]
public partial class BuiltResidual;

/// <summary>
/// <c>[OnnxModel]</c>: models made by PyTorch and by ConvGen's own export compile into networks whose <c>Predict</c> equals the
/// model's outputs (PyTorch's stored ones, or the exporting model's), which train and export again; damaged files give a
/// CONVGEN diagnostic and never an exception.
/// </summary>
public sealed class ImportTests
{
    private static string Models => Path.Combine(AppContext.BaseDirectory, "Models");

    /// <summary>A channels-first batch as ConvGen's channels-last tensor.</summary>
    internal static Tensor ChannelsLast(float[] nchw, int n, int c, int h, int w)
    {
        var t = new Tensor(new Shape(n, h, w, c));
        var span = t.Span;
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int q = 0; q < h * w; q++)
                    span[(b * h * w + q) * c + ch] = nchw[(b * c + ch) * h * w + q];
        return t;
    }

    private static float[] Floats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    internal static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        double scale = Math.Max(expected.Max(v => Math.Abs(v)), 1e-6);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 * scale, $"{what}: value {i} is {actual[i]:R}, expected {expected[i]:R} (largest |value| {scale:G4})");
    }

    /// <summary>The stored input and expected output of PyTorch model <paramref name="name"/>, and the model's bytes.</summary>
    private static (byte[] Onnx, Tensor Input, float[] Expected) PyTorchModel(string name)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Models, name + ".json")));
        var shape = json.RootElement.GetProperty("input").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var input = ChannelsLast(Floats(Path.Combine(Models, name + ".input.bin")), shape[0], shape[1], shape[2], shape[3]);
        return (File.ReadAllBytes(Path.Combine(Models, name + ".onnx")), input, Floats(Path.Combine(Models, name + ".output.bin")));
    }

    [Theory]
    [InlineData("residual13")]
    [InlineData("residual17")]
    [InlineData("pooled17")]
    public void PyTorch_models_compile_and_give_their_stored_outputs(string name)
    {
        var (onnx, input, expected) = PyTorchModel(name);
        var model = InMemoryImport.Import(onnx);
        AssertClose(expected, model.Predict(input).ToArray(), name);
        AssertClose(expected[..(expected.Length / input.Shape[0])], model.Predict(input.SliceBatch(0, 1)).ToArray(), $"{name}, batch 1");
    }

    [Fact]
    public void A_model_compiled_by_the_build_gives_the_stored_outputs_trains_and_exports_again()
    {
        var (_, input, expected) = PyTorchModel("residual17");
        var model = new BuiltResidual(maxBatchSize: 8);
        AssertClose(expected, model.Predict(input).ToArray(), "BuiltResidual");
        Assert.Equal(new Shape(16, 16, 3), model.InputShape);

        // Exports back to ONNX: ONNX Runtime gives the same outputs.
        OnnxRuntime.AssertSame(model, new OnnxExportOptions(), input, "BuiltResidual exported again");

        // Saves and loads its weights like any network.
        string path = Path.Combine(Path.GetTempPath(), $"convgen-imported-{Guid.NewGuid():N}.weights");
        try
        {
            model.SaveWeights(path);
            var fresh = new BuiltResidual(maxBatchSize: 8, seed: 5);
            fresh.LoadWeights(path);
            Assert.Equal(model.Predict(input).ToArray(), fresh.Predict(input).ToArray());
        }
        finally
        {
            File.Delete(path);
        }

        // Fine-tunes: the loss on a batch falls.
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        int[] labels = [3, 7];
        var (before, _) = model.Evaluate(input, labels);
        float first = model.TrainStep(input, labels), last = first;
        for (int step = 0; step < 20; step++) last = model.TrainStep(input, labels);
        Assert.True(last < 0.5f * first, $"loss {first} -> {last} after 20 steps");
        var (after, accuracy) = model.Evaluate(input, labels);
        Assert.True(after < before, $"evaluated loss {before} -> {after}");
        Assert.Equal(1f, accuracy);
    }

    public static IEnumerable<object[]> ExportedModels() =>
    [
        ["LeNet-5", (Func<Model>)(() => new global::LeNet5(maxBatchSize: 8, seed: 1))],
        ["MobileNetV2", (Func<Model>)(() => new global::MobileNetV2(maxBatchSize: 8, seed: 1))],
        ["ResNet-20", (Func<Model>)(() => new global::ResNet20(maxBatchSize: 8, seed: 1))],
        ["the 1-D CNN", (Func<Model>)(() => new global::Conv1DNet(maxBatchSize: 8, seed: 1))], // a Reshape: Transpose, Reshape, Transpose
    ];

    /// <summary>An encoder-decoder: transposed convolutions ('same', and 'valid' with a stride above the window) and an image output.</summary>
    private static Model Decoder() => new Sequential(new SameTranspose(), new ReLU(), new PointwiseConv(), new GappedTranspose(), new DilatedTranspose(), new Sigmoid())
        .Build(new Shape(5, 4, 3), seed: 3).Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));

    /// <summary>
    /// Sequences (causal and strided Conv1D, 1-D pools, global pools, a Flatten of a sequence before a Dense) and layout-only
    /// Transpose/Reshape pairs, and a channels-last export (its input read through a Transpose), round-trip.
    /// </summary>
    [Fact]
    public void Sequences_reshapes_and_channels_last_exports_round_trip()
    {
        var sequences = new Sequential(new Reshape(12, 4), new CausalConv1D(), new MaxPool1D(2, 1, Padding.Same), new StridedConv1D(),
                new BatchNormalization(), new AveragePool1D(2, 2, Padding.Same) { Name = "pooled" }, new GlobalMaxPooling1D { Name = "max" },
                new Flatten { Input = "pooled" }, new Dense(5) { Name = "head" }, new Add("max", "head"), new Softmax())
            .Build(new Shape(6, 8, 1), seed: 4);
        var images = new Sequential(new SameConv(), new MaxPool2D(2), new Reshape(-1, 6), new Reshape(4, 4, 6), new Flatten(), new Dense(3))
            .Build(new Shape(8, 8, 3), seed: 4);
        var merged = new Sequential(new SameConv { Name = "a" }, new GlobalAveragePooling2D { Name = "gap" }, new GlobalMaxPooling2D { Input = "a", Name = "gmp" },
                new Concatenate("gap", "gmp"), new Dense(4, Activation.Tanh), new Dense(3))
            .Build(new Shape(8, 8, 3), seed: 4);
        var random = new Random(3);
        foreach (var (name, model, options) in new[]
                 {
                     ("sequences", sequences, new OnnxExportOptions()),
                     ("sequences, channels last", sequences, new OnnxExportOptions { ChannelsLast = true }),
                     ("images, channels last", images, new OnnxExportOptions { ChannelsLast = true, Opset = 13 }),
                     ("global pools concatenated", merged, new OnnxExportOptions { Opset = 21 }),
                 })
        {
            var x = new Tensor(model.InputShape.WithBatch(3));
            for (int i = 0; i < x.Length; i++) x.Span[i] = random.NextSingle() - 0.5f;
            var imported = InMemoryImport.Import(model.ExportOnnx(options), maxBatchSize: 4);
            Assert.Equal(model.InputShape, imported.InputShape);
            AssertClose(model.Predict(x).ToArray(), imported.Predict(x).ToArray(), name);
        }
    }

    [Fact]
    public void Transposed_convolutions_and_image_outputs_round_trip()
    {
        var source = Decoder();
        var random = new Random(2);
        var x = new Tensor(source.InputShape.WithBatch(3));
        for (int i = 0; i < x.Length; i++) x.Span[i] = random.NextSingle() - 0.5f;
        var imported = InMemoryImport.Import(source.ExportOnnx(), maxBatchSize: 4);
        Assert.Equal(source.OutputShape, imported.OutputShape);
        AssertClose(source.Predict(x).ToArray(), imported.Predict(x).ToArray(), "decoder");
    }

    /// <summary>Round trip: a ConvGen network (after some training, so its statistics moved) exported, imported, gives the same outputs.</summary>
    [Theory]
    [MemberData(nameof(ExportedModels))]
    public void Exported_networks_import_to_the_same_function(string name, Func<Model> create)
    {
        var source = create();
        source.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        var random = new Random(5);
        var x = new Tensor(source.InputShape.WithBatch(7));
        for (int i = 0; i < x.Length; i++) x.Span[i] = random.NextSingle();
        int[] labels = [1, 2, 3, 4, 5, 6, 7];
        for (int step = 0; step < 3; step++) source.TrainStep(x, labels);
        foreach (int opset in new[] { 13, 17 })
        {
            var imported = InMemoryImport.Import(source.ExportOnnx(new OnnxExportOptions { Opset = opset }), maxBatchSize: 8);
            AssertClose(source.Predict(x).ToArray(), imported.Predict(x).ToArray(), $"{name}, opset {opset}, batch 7");
            AssertClose(source.Predict(x.SliceBatch(2, 1)).ToArray(), imported.Predict(x.SliceBatch(2, 1)).ToArray(), $"{name}, opset {opset}, batch 1");
        }
    }

    /// <summary>
    /// Damaged files: a real model cut short at every length, and thousands of random mutations, through the importer and the
    /// emitter directly: each gives CONVGEN050-053 or a network, never an exception; then a sample of them through the compiler
    /// with the generator, which never reports CONVGEN999.
    /// </summary>
    [Fact]
    public void Damaged_files_give_diagnostics_never_exceptions()
    {
        var original = File.ReadAllBytes(Path.Combine(Models, "pooled17.onnx"));
        var random = new Random(17);
        var cases = new List<byte[]>();
        for (int length = 0; length < original.Length; length++) cases.Add(original[..length]);
        for (int i = 0; i < 5000; i++)
        {
            var mutated = (byte[])original.Clone();
            int changes = 1 + random.Next(4);
            for (int k = 0; k < changes; k++)
            {
                int at = random.Next(mutated.Length);
                mutated[at] = random.Next(3) switch { 0 => (byte)random.Next(256), 1 => 0xFF, _ => (byte)(mutated[at] ^ (1 << random.Next(8))) };
            }
            cases.Add(mutated);
        }
        // Hand-made hostile messages: a huge length, a huge dimension, a varint that never ends, a group wire type.
        cases.Add([0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07]);
        cases.Add([0x3A, 0x0C, 0x2A, 0x0A, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x10, 0x01]);
        cases.Add([.. Enumerable.Repeat((byte)0xFF, 64)]);
        cases.Add([0x3B, 0x00]);
        string[] allowed = ["CONVGEN050", "CONVGEN051", "CONVGEN052", "CONVGEN053"];
        int compiled = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var bytes in cases)
        {
            var result = InMemoryImport.ImportDirectly(bytes); // throws if the importer does
            Assert.All(result.Diagnostics, d => Assert.Contains(d.Descriptor.Id, allowed));
            if (result.Model is { } model)
            {
                Assert.DoesNotContain(result.Diagnostics, d => d.Descriptor.DefaultSeverity == DiagnosticSeverity.Error);
                Assert.NotEmpty(generator::ConvGen.Generator.ConvGenerator.NetworkEmitter.Emit(model));
                compiled++;
            }
        }
        Assert.True(clock.Elapsed.TotalSeconds < 60, $"{cases.Count} files took {clock.Elapsed.TotalSeconds:F0} s");
        Assert.InRange(compiled, 1, cases.Count - 1); // some mutations only change weights; most break the file

        // Through the compiler: every 50th case.
        for (int i = 0; i < cases.Count; i += 50)
        {
            var (diagnostics, _) = InMemoryImport.Generate(cases[i]);
            Assert.DoesNotContain(diagnostics, d => d.Id == "CONVGEN999");
            Assert.All(diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error), d => Assert.Contains(d.Id, allowed));
        }
    }

    // ---- hand-made hostile files, written field by field in the protobuf wire format

    private static byte[] Varint(ulong v)
    {
        var bytes = new List<byte>();
        for (; v >= 0x80; v >>= 7) bytes.Add((byte)(v | 0x80));
        bytes.Add((byte)v);
        return [.. bytes];
    }

    private static byte[] Field(int field, params byte[][] payload)
    {
        byte[] body = [.. payload.SelectMany(p => p)];
        return [.. Varint((ulong)field << 3 | 2), .. Varint((ulong)body.Length), .. body];
    }

    private static byte[] Number(int field, long value) => [.. Varint((ulong)field << 3), .. Varint((ulong)value)];

    private static byte[] Text(int field, string value) => Field(field, System.Text.Encoding.UTF8.GetBytes(value));

    /// <summary>A graph input <paramref name="name"/> of float [1, 1, 2, 2].</summary>
    private static byte[] ImageInput(string name) =>
        Field(11, Text(1, name), Field(2, Field(1, Number(1, 1), Field(2, Field(1, Number(1, 1)), Field(1, Number(1, 1)), Field(1, Number(1, 2)), Field(1, Number(1, 2))))));

    private static byte[] Model(params byte[][] graph) => [.. Number(1, 8), .. Field(8, Text(1, ""), Number(2, 17)), .. Field(7, graph)];

    private static (string Id, string Message) ImportError(byte[] bytes)
    {
        var result = InMemoryImport.ImportDirectly(bytes);
        Assert.Null(result.Model);
        var d = Assert.Single(result.Diagnostics);
        return (d.Descriptor.Id, string.Join(" | ", d.Arguments));
    }

    [Fact]
    public void Hostile_files_are_named_for_what_is_wrong()
    {
        // A cycle: each Relu reads the other's output.
        var cycle = Model(Field(1, Text(1, "b"), Text(2, "a"), Text(4, "Relu")), Field(1, Text(1, "a"), Text(2, "b"), Text(4, "Relu")),
            ImageInput("x"), Field(12, Text(1, "b")));
        var (id, message) = ImportError(cycle);
        Assert.Equal("CONVGEN053", id);
        Assert.Contains("reads 'b' before any node makes it", message);

        // A negative dimension, and dimensions whose product is huge.
        (id, message) = ImportError(Model(Field(5, Number(1, -1), Number(2, 1), Text(8, "w"))));
        Assert.Equal("CONVGEN051", id);
        Assert.Contains("dimension of -1", message);
        (id, message) = ImportError(Model(Field(5, Number(1, 1 << 30), Number(1, 1 << 30), Number(2, 1), Text(8, "w"))));
        Assert.Equal("CONVGEN051", id);
        Assert.Contains("claims 1073741824 x 1073741824 values", message);

        // An initializer claiming more data than the file holds (a raw_data length past the end), and one whose data is shorter than its dims.
        (id, message) = ImportError([.. Number(1, 8), .. Varint(7 << 3 | 2), .. Varint(40), .. Varint(5 << 3 | 2), .. Varint(30), .. Varint(9 << 3 | 2), .. Varint(1_000_000_000)]);
        Assert.Equal("CONVGEN051", id);
        Assert.Contains("remain", message);
        (id, message) = ImportError(Model(Field(5, Number(1, 4), Number(2, 1), Text(8, "w"), Field(9, [1, 2, 3, 4]))));
        Assert.Equal("CONVGEN051", id);
        Assert.Contains("has 4 bytes of data, not 16", message);

        // A wrong wire type: ir_version as bytes.
        (id, message) = ImportError([.. Field(1, [1, 2]), .. Field(7)]);
        Assert.Equal("CONVGEN051", id);
        Assert.Contains("wire type 2 where 0 belongs", message);

        // A nesting bomb: an attribute's subgraph nested 3,000 deep (skipped without being parsed).
        byte[] nested = [];
        for (int depth = 0; depth < 3_000; depth++) nested = Field(6, Field(1, Field(5, nested)));
        var bomb = Model(Field(1, Text(1, "x"), Text(2, "y"), Text(4, "If"), Field(5, Text(1, "then_branch"), nested)), ImageInput("x"), Field(12, Text(1, "y")));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        (id, message) = ImportError(bomb);
        Assert.Equal("CONVGEN053", id);
        Assert.Contains("| If |", message);
        Assert.True(clock.Elapsed.TotalSeconds < 5, $"{bomb.Length} bytes took {clock.Elapsed.TotalSeconds:F1} s");

        // A node with no input, one reading an initializer as its data, and a convolution with an empty kernel.
        (id, message) = ImportError(Model(Field(1, Text(2, "y"), Text(4, "Relu")), ImageInput("x"), Field(12, Text(1, "y"))));
        Assert.Equal("CONVGEN053", id);
        Assert.Contains("it has no input", message);
        (id, message) = ImportError(Model(Field(1, Text(1, "w"), Text(2, "y"), Text(4, "Relu")), Field(5, Number(1, 1), Number(2, 1), Text(8, "w"), Field(9, [0, 0, 0, 0])),
            ImageInput("x"), Field(12, Text(1, "y"))));
        Assert.Equal("CONVGEN053", id);
        Assert.Contains("is an initializer", message);
        (id, message) = ImportError(Model(Field(1, Text(1, "x"), Text(1, "w"), Text(2, "y"), Text(4, "Conv")),
            Field(5, Number(1, 0), Number(1, 1), Number(1, 1), Number(1, 1), Number(2, 1), Text(8, "w")), ImageInput("x"), Field(12, Text(1, "y"))));
        Assert.Equal("CONVGEN053", id);
        Assert.Contains("empty", message);

        // Data in an external file.
        (id, message) = ImportError(Model(Field(5, Number(1, 4), Number(2, 1), Text(8, "w"), Number(14, 1))));
        Assert.Equal("CONVGEN051", id);
        Assert.Contains("external file", message);

        // A dynamic spatial size.
        (id, message) = ImportError(Model(Field(11, Text(1, "x"), Field(2, Field(1, Number(1, 1), Field(2, Field(1, Text(2, "N")), Field(1, Number(1, 3)), Field(1, Text(2, "H")), Field(1, Text(2, "W"))))))));
        Assert.Equal("CONVGEN052", id);
        Assert.Contains("[?, 3, ?, ?]", message);

        // Not protobuf at all, and an opset outside 6-21.
        Assert.Equal("CONVGEN051", ImportError(System.Text.Encoding.UTF8.GetBytes("not a model")).Id);
        (id, message) = ImportError([.. Number(1, 8), .. Field(8, Text(1, ""), Number(2, 5)), .. Field(7, ImageInput("x"))]);
        Assert.Equal("CONVGEN052", id);
        Assert.Contains("opset is 5", message);
    }

    [Fact]
    public void A_model_ConvGen_cannot_compile_is_named_at_the_attribute()
    {
        // GELU at opset 17 exports as its formula (Mul, Erf, Add): ConvGen does not import Mul, and CONVGEN053 names the node.
        var gelu = new Sequential(new Flatten(), new Dense(3, Activation.GELU)).Build(new Shape(6, 8, 1), seed: 1);
        var (diagnostics, _) = InMemoryImport.Generate(gelu.ExportOnnx());
        var error = Assert.Single(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal("CONVGEN053", error.Id);
        Assert.Contains("(Mul)", error.GetMessage());
        var plain = new Sequential(new Flatten(), new Dense(3, Activation.ReLU)).Build(new Shape(6, 8, 1), seed: 1);
        Assert.DoesNotContain(InMemoryImport.Generate(plain.ExportOnnx()).Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
    }
}
