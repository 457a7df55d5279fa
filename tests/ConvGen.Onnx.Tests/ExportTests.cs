using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace ConvGen.Onnx.Tests;

// Single-layer classes for the run-time models below: every convolution kind, odd sizes, strides, dilations, groups, padding.
[Conv2D(3, 3, Filters = 6, InputChannels = 3, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class SameConv;

[Conv2D(4, 3, Filters = 5, InputChannels = 6, Stride = 2, Padding = Padding.Same)] // even kernel, stride 2: asymmetric 'same' pads
public partial class StridedConv;

[Conv2D(3, 2, Filters = 6, InputChannels = 6, Dilation = 2, Groups = 3, Activation = Activation.GELU)]
public partial class GroupedDilatedConv;

[DepthwiseConv2D(3, 3, InputChannels = 3, DepthMultiplier = 2, Stride = 2, Padding = Padding.Same, Activation = Activation.ReLU6)]
public partial class MultiplierDepthwise;

[DepthwiseConv2D(3, 3, InputChannels = 10, UseBias = false, Activation = Activation.SiLU)]
public partial class PlainDepthwise;

[Conv2DTranspose(3, 3, Filters = 4, InputChannels = 3, Stride = 2, Padding = Padding.Same)]
public partial class SameTranspose;

[Conv2DTranspose(2, 2, Filters = 3, InputChannels = 3, Stride = 3, Activation = Activation.LeakyReLU)] // stride above the extent: output_padding
public partial class GappedTranspose;

[Conv2DTranspose(3, 2, Filters = 2, InputChannels = 3, Dilation = 2, Activation = Activation.ELU)]
public partial class DilatedTranspose;

[Conv1D(3, Filters = 6, InputChannels = 4, Dilation = 2, Padding = Padding.Causal, Activation = Activation.Tanh)]
public partial class CausalConv1D;

[Conv1D(4, Filters = 5, InputChannels = 6, Stride = 2, Padding = Padding.Same, UseBias = false, Activation = Activation.Sigmoid)]
public partial class StridedConv1D;

[Conv2D(3, 3, Filters = 4, InputChannels = 5, Padding = Padding.Same, UseBias = false)]
public partial class NoBiasConv;

/// <summary>A compiled network with [Cropping2D]: after a convolution, and after a transposed one (PyTorch's padding, in effect).</summary>
[Input(9, 8, 3)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.ReLU)]
[Cropping2D(1, 2, 0, 1)]
[Conv2DTranspose(3, 3, Filters = 2, Stride = 2)]
[Cropping2D(1)]
[Flatten]
[Dense(3)]
public partial class CroppedNet;

[Conv2D(1, 1, Filters = 3, InputChannels = 4)]
public partial class PointwiseConv;

[Conv2D(3, 3, Filters = 6, InputChannels = 6, Padding = Padding.Same)]
public partial class BlockConv;

/// <summary>
/// <see cref="Model.ExportOnnx(OnnxExportOptions?)"/> against ONNX Runtime: every layer, in run-time models and compiled networks,
/// exported and run by ONNX Runtime on the same images, must give <see cref="Model.Predict"/>'s outputs to 1e-4 of the largest,
/// at batch 1 and 7, at the opsets 13, 17 and 21, channels first and channels last.
/// </summary>
public sealed class ExportTests
{
    private const double Tolerance = 1e-4;

    /// <summary>
    /// Models that between them hold every layer ConvGen exports: each built at run time from the classes above and the runtime's
    /// layers, with weights and moving statistics away from their initial values.
    /// </summary>
    public static IEnumerable<object[]> Models() =>
    [
        ["convolutions and pools", (Func<Model>)(() => Build(new Shape(13, 11, 3),
            new SameConv(), new StridedConv(), new MaxPool2D(2, 2, Padding.Same), new ZeroPadding2D(1, 2, 0, 1), new Cropping2D(1, 0, 0, 1),
            new NoBiasConv(), new BatchNormalization(), new AveragePool2D(3, 2, Padding.Same), new Flatten(), new Dropout(0.3f),
            new Dense(7, Activation.ELU), new Dense(4, Activation.Softmax)))],
        ["groups, depthwise, global pools", (Func<Model>)(() => Build(new Shape(12, 12, 3),
            new MultiplierDepthwise(), new BatchNormalization(scale: false), new GroupedDilatedConv { Name = "grouped" },
            new GlobalAveragePooling2D { Name = "gap" }, new GlobalMaxPooling2D { Input = "grouped", Name = "gmp" },
            new Concatenate("gap", "gmp"), new Dense(3)))],
        ["depthwise without bias, valid pools", (Func<Model>)(() => Build(new Shape(9, 10, 10),
            new PlainDepthwise(), new AveragePool2D(2), new ReLU6(), new LeakyReLU(0.1f), new Flatten(), new Dense(5, Activation.SiLU), new Dense(2)))],
        ["transposed convolutions, image output", (Func<Model>)(() => Build(new Shape(5, 4, 3),
            new SameTranspose(), new ReLU { Name = "up" }, new PointwiseConv(), new GappedTranspose(), new DilatedTranspose(),
            new ELU(0.5f), new GELU(approximate: true), new Sigmoid()))],
        ["residual add, flatten to output", (Func<Model>)(() => Build(new Shape(8, 8, 3),
            new SameConv { Name = "stem" }, new BlockConv(), new BatchNormalization(center: false),
            new Add("stem") { Activation = Activation.ReLU }, new MaxPool2D(2), new Flatten(), new Tanh()))],
        ["sequences", (Func<Model>)(() => Build(new Shape(6, 8, 1),
            new Reshape(12, 4), new CausalConv1D { Name = "causal" }, new MaxPool1D(2, 1, Padding.Same), new Reshape(-1, 6),
            new StridedConv1D(), new BatchNormalization(), new AveragePool1D(2, 2, Padding.Same), new GELU { Name = "gelu" },
            new GlobalAveragePooling1D { Name = "avg" }, new GlobalMaxPooling1D { Input = "gelu", Name = "max" },
            new Add("avg"), new SiLU(), new Softmax()))],
    ];

    private static Model Build(Shape input, params Layer[] layers)
    {
        var model = new Sequential(layers).Build(input, seed: 5);
        Perturb(model);
        return model;
    }

    /// <summary>Moves every weight and moving statistic away from its initial value (biases 0, gammas 1, statistics 0 and 1).</summary>
    private static void Perturb(Model model)
    {
        var random = new Random(11);
        foreach (var node in model.Nodes)
        {
            foreach (var p in node.Layer.Parameters)
            {
                var v = p.Value.Span;
                for (int i = 0; i < v.Length; i++) v[i] += 0.2f * (random.NextSingle() - 0.5f);
            }
            foreach (var s in node.Layer.State)
            {
                var v = s.Value.Span;
                for (int i = 0; i < v.Length; i++) v[i] = s.Name.Contains("variance") ? 0.5f + random.NextSingle() : random.NextSingle() - 0.5f;
            }
        }
    }

    private static Tensor Images(Model model, int batch, int seed)
    {
        var random = new Random(seed);
        var x = new Tensor(model.InputShape.WithBatch(batch));
        var span = x.Span;
        for (int i = 0; i < span.Length; i++) span[i] = random.NextSingle() * 2 - 1;
        return x;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Every_layer_runs_in_onnx_runtime_as_in_predict(string name, Func<Model> create)
    {
        var model = create();
        foreach (int opset in new[] { 13, 17, 21 })
            foreach (bool channelsLast in new[] { false, true })
                foreach (int batch in new[] { 1, 7 })
                    OnnxRuntime.AssertSame(model, new OnnxExportOptions { Opset = opset, ChannelsLast = channelsLast }, Images(model, batch, batch), $"{name}, opset {opset}, channels {(channelsLast ? "last" : "first")}, batch {batch}");
    }

    public static IEnumerable<object[]> ReferenceNetworks() =>
    [
        ["LeNet-5", (Func<Model>)(() => new global::LeNet5(maxBatchSize: 16, seed: 1))],
        ["ResNet-20", (Func<Model>)(() => new global::ResNet20(maxBatchSize: 16, seed: 1))],
        ["MobileNetV2", (Func<Model>)(() => new global::MobileNetV2(maxBatchSize: 16, seed: 1))],
        ["the 1-D CNN", (Func<Model>)(() => new global::Conv1DNet(maxBatchSize: 16, seed: 1))],
    ];

    /// <summary>The samples' reference networks (compiled networks), after a few training steps have moved BatchNormalization's statistics.</summary>
    [Theory]
    [MemberData(nameof(ReferenceNetworks))]
    public void Reference_networks_run_in_onnx_runtime_as_in_predict(string name, Func<Model> create)
    {
        var model = create();
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        var x = Images(model, 16, 3);
        var labels = Enumerable.Range(0, 16).Select(i => i % 10).ToArray();
        for (int step = 0; step < 3; step++) model.TrainStep(x, labels);
        foreach (int batch in new[] { 1, 7 })
            OnnxRuntime.AssertSame(model, new OnnxExportOptions(), Images(model, batch, 20 + batch), $"{name}, batch {batch}");
    }

    /// <summary>
    /// ZeroPadding2D then MaxPool2D: the zeros take part in the max. ONNX Runtime's PadFusion folds a Pad of zeros into a
    /// following MaxPool's own padding, which is -inf, and fails to load when the sum reaches the window (here 2 + 0 for a
    /// window of 2). From opset 18 the export names Pad's axes, which PadFusion leaves alone, so all optimizations can run;
    /// at 13 and 17 the graph is checked with ONNX Runtime's optimizations off (the export is the same valid ONNX).
    /// </summary>
    [Fact]
    public void Zero_padding_before_a_max_pool_keeps_its_zeros()
    {
        var model = Build(new Shape(7, 6, 3), new SameConv(), new ZeroPadding2D(1, 2, 0, 1), new MaxPool2D(2, 2, Padding.Same), new Flatten(), new Dense(3));
        var images = Images(model, 7, 4);
        foreach (int opset in new[] { 13, 17, 18, 21 })
            OnnxRuntime.AssertSame(model, new OnnxExportOptions { Opset = opset }, images, $"opset {opset}", optimize: opset >= 18);
    }

    [Fact]
    public void A_compiled_network_with_croppings_runs_in_onnx_runtime_and_imports_back()
    {
        var model = new CroppedNet(maxBatchSize: 8, seed: 2);
        Assert.Equal(new Shape(6, 7, 4), model.Nodes[1].OutputShape);
        Assert.Equal(new Shape(11, 13, 2), model.Nodes[3].OutputShape);
        Perturb(model);
        var images = Images(model, 7, 9);
        foreach (int opset in new[] { 13, 17 })
            OnnxRuntime.AssertSame(model, new OnnxExportOptions { Opset = opset }, images, $"CroppedNet, opset {opset}");
        var imported = InMemoryImport.Import(model.ExportOnnx(), maxBatchSize: 8);
        ImportTests.AssertClose(model.Predict(images).ToArray(), imported.Predict(images).ToArray(), "CroppedNet imported");
    }

    [Fact]
    public void The_model_carries_producer_names_and_a_dynamic_batch_axis()
    {
        var model = Build(new Shape(8, 8, 3), new SameConv(), new Flatten(), new Dense(3));
        using var session = new InferenceSession(model.ExportOnnx(new OnnxExportOptions { InputName = "images", OutputName = "logits" }));
        Assert.Equal("ConvGen", session.ModelMetadata.ProducerName);
        var input = Assert.Single(session.InputMetadata);
        Assert.Equal("images", input.Key);
        Assert.Equal([-1, 3, 8, 8], input.Value.Dimensions);
        Assert.Equal("N", input.Value.SymbolicDimensions[0]);
        var output = Assert.Single(session.OutputMetadata);
        Assert.Equal("logits", output.Key);
        Assert.Equal([-1, 3], output.Value.Dimensions);
        Assert.Equal("channels_first", session.ModelMetadata.CustomMetadataMap["convgen.layout"]);
    }

    [Fact]
    public void Export_refuses_what_it_cannot_write_and_leaves_the_file_alone()
    {
        var model = Build(new Shape(8, 8, 3), new SameConv(), new Custom(), new Flatten(), new Dense(3));
        string path = Path.Combine(Path.GetTempPath(), $"convgen-export-{Guid.NewGuid():N}.onnx");
        File.WriteAllText(path, "previous");
        try
        {
            var e = Assert.Throws<NotSupportedException>(() => model.ExportOnnx(path));
            Assert.Contains("'custom'", e.Message);
            Assert.Equal("previous", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
        var plain = Build(new Shape(8, 8, 3), new SameConv(), new Flatten(), new Dense(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => plain.ExportOnnx(new OnnxExportOptions { Opset = 12 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => plain.ExportOnnx(new OnnxExportOptions { Opset = 22 }));
        Assert.Throws<ArgumentException>(() => plain.ExportOnnx(new OnnxExportOptions { OutputName = "input" }));
        Assert.Contains("dense", Assert.Throws<ArgumentException>(() => plain.ExportOnnx(new OnnxExportOptions { OutputName = "dense" })).Message);
        Assert.Throws<InvalidOperationException>(() => new Sequential(new Dense(3)).ExportOnnx());
    }

    /// <summary>A layer of one's own (the identity): it has no ONNX form.</summary>
    private sealed class Custom : Layer
    {
        protected override string BaseName => "custom";

        protected override Shape Build(LayerBuild build) => build.InputShape;

        protected override void RunForward(in NodeContext c)
        {
            var (start, end) = c.Rows;
            int row = c.OutputShape.Size;
            c.Input().Slice(start * row, (end - start) * row).CopyTo(c.Output.Slice(start * row, (end - start) * row));
        }

        protected override void RunBackward(in NodeContext c) { }
    }
}
