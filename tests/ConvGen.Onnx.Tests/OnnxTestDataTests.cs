extern alias generator;

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Onnx.Tests;

/// <summary>
/// ONNX's own test data (Debian's libonnx-testdata, from ONNX 1.12; .ci/run installs it): the PyTorch-converted single-layer
/// models. Every one of an op ConvGen imports, on an image input, compiles and gives the stored output; the others are
/// listed with the reason the importer gives (the test prints them).
/// </summary>
public sealed class OnnxTestDataTests(ITestOutputHelper output)
{
    private const string Root = "/usr/share/libonnx-testdata/data/pytorch-converted";

    /// <summary>The models whose ops and input ConvGen imports: each must compile and match.</summary>
    private static readonly string[] Supported =
    [
        "test_AvgPool2d", "test_AvgPool2d_stride", "test_BatchNorm1d_3d_input_eval", "test_BatchNorm2d_eval", "test_BatchNorm2d_momentum_eval",
        "test_Conv1d", "test_Conv1d_dilated", "test_Conv1d_pad1", "test_Conv1d_pad1size1", "test_Conv1d_pad2", "test_Conv1d_pad2size1", "test_Conv1d_stride",
        "test_Conv2d", "test_ConvTranspose2d", "test_ConvTranspose2d_no_bias", "test_Conv2d_depthwise", "test_Conv2d_depthwise_padded", "test_Conv2d_depthwise_strided",
        "test_Conv2d_depthwise_with_multiplier", "test_Conv2d_dilated", "test_Conv2d_groups", "test_Conv2d_groups_thnn",
        "test_Conv2d_no_bias", "test_Conv2d_padding", "test_Conv2d_strided", "test_ELU", "test_LeakyReLU", "test_LeakyReLU_with_negval",
        "test_Linear", "test_Linear_no_bias", "test_Softmax", "test_softmax_lastdim",
        "test_MaxPool1d", "test_MaxPool1d_stride", "test_MaxPool2d", "test_ReLU", "test_Sigmoid", "test_Tanh", "test_ZeroPad2d",
    ];

    /// <summary>A TensorProto file (the test data's inputs and outputs): its dims and float values.</summary>
    private static (long[] Dims, float[] Values) ReadTensor(string path)
    {
        var data = File.ReadAllBytes(path);
        var dims = new List<long>();
        var floats = new List<float>();
        int p = 0;
        ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte b = data[p++];
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
        }
        while (p < data.Length)
        {
            ulong tag = Varint();
            int field = (int)(tag >> 3), wire = (int)(tag & 7);
            if (wire == 0) { ulong v = Varint(); if (field == 1) dims.Add((long)v); continue; }
            if (wire == 5) { if (field == 4) floats.Add(BitConverter.ToSingle(data, p)); p += 4; continue; }
            if (wire == 1) { p += 8; continue; }
            int length = (int)Varint();
            if (field == 1) { int end = p + length; while (p < end) dims.Add((long)Varint()); continue; }
            if (field is 4 or 9) for (int i = 0; i < length; i += 4) floats.Add(BitConverter.ToSingle(data, p + i));
            p += length;
        }
        return (dims.ToArray(), floats.ToArray());
    }

    /// <summary>A channels-first batch [N, C, spatial...] as ConvGen's channels-last tensor [N, spatial..., C].</summary>
    private static Tensor ChannelsLast(float[] values, long[] dims)
    {
        int n = (int)dims[0], c = (int)dims[1], positions = (int)(values.Length / ((long)n * c));
        var t = new Tensor(new Shape([n, .. dims[2..].Select(d => (int)d), c]));
        var span = t.Span;
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int q = 0; q < positions; q++)
                    span[(b * positions + q) * c + ch] = values[(b * c + ch) * positions + q];
        return t;
    }

    [Fact]
    public void PyTorch_converted_models_compile_and_match_or_say_why_not()
    {
        Assert.True(Directory.Exists(Root), $"{Root} is missing: install Debian's libonnx-testdata (apt-get install libonnx-testdata; .ci/run does)");
        var matched = new List<string>();
        foreach (var directory in Directory.GetDirectories(Root).OrderBy(d => d, StringComparer.Ordinal))
        {
            string name = Path.GetFileName(directory);
            var bytes = File.ReadAllBytes(Path.Combine(directory, "model.onnx"));
            var result = InMemoryImport.ImportDirectly(bytes);
            if (result.Model is null)
            {
                string reason = string.Join("; ", result.Diagnostics.Select(d => $"{d.Descriptor.Id}: {string.Join(" | ", d.Arguments.Skip(2))}"));
                Assert.False(Supported.Contains(name), $"{name} should compile: {reason}");
                Assert.DoesNotContain("CONVGEN999", reason);
                output.WriteLine($"skipped {name}: {reason}");
                continue;
            }
            var model = InMemoryImport.Import(bytes);
            var (inDims, input) = ReadTensor(Path.Combine(directory, "test_data_set_0", "input_0.pb"));
            var (outDims, expected) = ReadTensor(Path.Combine(directory, "test_data_set_0", "output_0.pb"));
            var actual = model.Predict(ChannelsLast(input, inDims));
            float[] expectedChannelsLast = outDims.Length > 2 ? ChannelsLast(expected, outDims).ToArray() : expected;
            ImportTests.AssertClose(expectedChannelsLast, actual.ToArray(), name);
            matched.Add(name);
        }
        output.WriteLine($"compiled and matched: {string.Join(", ", matched)}");
        Assert.Equal(Supported.OrderBy(s => s, StringComparer.Ordinal), matched.Where(Supported.Contains).OrderBy(s => s, StringComparer.Ordinal));
    }
}
