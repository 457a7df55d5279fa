using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace ConvGen.Testing;

/// <summary>
/// A project of many <c>[Conv2D]</c> layers, as C# text: files of <see cref="LayersPerFile"/> annotated classes (each
/// with a method of its own), plus one file without any attribute. The generator's incremental tests and its benchmark
/// (benchmarks/ConvGen.Generator.Benchmarks) run on it, together with the edits below. Plain strings, so it needs
/// neither Roslyn nor the generator.
/// </summary>
public static class LayerProject
{
    public const int LayersPerFile = 10;

    /// <summary>The file that holds no attribute.</summary>
    public const string UnrelatedPath = "Helpers.cs";

    /// <summary>The file of layers 0 to <see cref="LayersPerFile"/> - 1, which the layer-file edits change.</summary>
    public static string LayerFilePath(int file) => $"Layers{file.ToString(CultureInfo.InvariantCulture)}.cs";

    /// <summary>Every file of a project with <paramref name="layers"/> layers.</summary>
    public static IReadOnlyList<(string Path, string Text)> Files(int layers)
    {
        var files = new List<(string, string)>();
        for (int file = 0; file * LayersPerFile < layers; file++)
        {
            var sb = new StringBuilder($"using ConvGen;\n\nnamespace Zoo.Block{file};\n");
            for (int i = file * LayersPerFile; i < Math.Min(layers, (file + 1) * LayersPerFile); i++)
            {
                sb.Append($$"""

                    /// <summary>Layer {{i}} of the zoo.</summary>
                    [Conv2D({{Attribute(i)}})]
                    public sealed partial class Layer{{i}}
                    {
                        public static int Describe() => {{i}};
                    }

                    """);
            }
            files.Add((LayerFilePath(file), sb.ToString()));
        }
        files.Add((UnrelatedPath, """
            namespace Zoo;

            public static class Helpers
            {
                public static int Twice(int x) => 2 * x;
            }

            """));
        return files;
    }

    /// <summary>
    /// The arguments of layer <paramref name="i"/>: kernels 1x1 to 5x5, and every 25th 9x9 (looped, with a CONVGEN012
    /// Info); channels and filters of real networks, Same and Valid, strides 1 and 2, with and without bias and ReLU.
    /// </summary>
    public static string Attribute(int i)
    {
        int kh = i % 25 == 24 ? 9 : 1 + i % 5, kw = i % 25 == 24 ? 9 : 1 + i / 5 % 5;
        int channels = new[] { 1, 3, 8, 16 }[i % 4], filters = new[] { 8, 16, 32, 64 }[i / 4 % 4];
        var sb = new StringBuilder($"{kh}, {kw}, InputChannels = {channels}, Filters = {filters}");
        if (i % 2 == 0) sb.Append(", Padding = Padding.Same");
        if (i % 7 == 0) sb.Append(", Stride = 2");
        if (i % 11 == 0) sb.Append(", UseBias = false");
        if (i % 3 == 0) sb.Append(", Activation = Activation.ReLU");
        return sb.ToString();
    }

    /// <summary>An edit of one file: <see cref="OldText"/> replaced by <see cref="NewText"/>.</summary>
    public sealed record Edit(string Path, string OldText, string NewText)
    {
        public string Apply(string text) => text.Contains(OldText, StringComparison.Ordinal)
            ? text.Replace(OldText, NewText, StringComparison.Ordinal)
            : throw new ArgumentException($"'{OldText}' is not in {Path}.", nameof(text));
    }

    /// <summary>Touches no attribute: a comment and a method added to <see cref="UnrelatedPath"/>.</summary>
    public static Edit AddMethodToUnrelatedFile { get; } = new(UnrelatedPath,
        "    public static int Twice(int x) => 2 * x;\n",
        "    public static int Twice(int x) => 2 * x;\n\n    // Added by an edit that touches no attribute.\n    public static int Thrice(int x) => 3 * x;\n");

    /// <summary>Touches no attribute: the method body of <paramref name="layer"/> rewritten, with a comment, on the same line.</summary>
    public static Edit EditMethodBodyOfLayer(int layer) => new(LayerFilePath(layer / LayersPerFile),
        $"public static int Describe() => {layer};",
        $"public static int Describe() {{ int x = {layer}; /* edited */ return x + 0; }}");

    /// <summary>Changes the attribute of <paramref name="layer"/>: one filter more.</summary>
    public static Edit ChangeAttributeOfLayer(int layer)
    {
        string attribute = Attribute(layer);
        int filters = int.Parse(attribute.Split("Filters = ")[1].Split(',')[0], CultureInfo.InvariantCulture);
        return new(LayerFilePath(layer / LayersPerFile), $"[Conv2D({attribute})]",
            $"[Conv2D({attribute.Replace($"Filters = {filters}", $"Filters = {filters + 1}", StringComparison.Ordinal)})]");
    }
}
