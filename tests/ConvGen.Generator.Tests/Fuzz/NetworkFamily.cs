using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace ConvGen.Generator.Tests.Fuzz;

/// <summary>
/// Compiled networks: random stacks of [Input], [Conv2D], [MaxPool2D], [Flatten] and [Dense], often in a wrong order, with
/// sizes that may not fit, [Input] missing or late, stated InputChannels right or wrong, and layers split over partial
/// declarations. The oracle walks the stack with the shape rules of docs/attributes.md (independently of the generator) and names
/// the CONVGEN ids the source may get; a stack that fits must compile to one network file.
/// </summary>
internal static class NetworkFamily
{
    private sealed record Layer(string Kind, string Text, int K = 0, int Filters = 0, int Stride = 1, bool Same = false, int? StatedChannels = null, int Units = 0);

    public static FuzzCase Generate(Random rng, int index)
    {
        string name = $"Net{index}";
        var layers = new List<Layer>();
        int count = rng.Next(1, 6);
        for (int i = 0; i < count; i++) layers.Add(RandomLayer(rng));
        int h = Size(rng), w = Size(rng), c = Size(rng);
        string input = $"[Input({h}, {w}, {c})]";
        // Where [Input] goes: first (usually), late, missing; and whether the layers sit on another partial declaration.
        int inputAt = rng.Next(10) switch { < 6 => 0, < 8 => rng.Next(1, layers.Count + 1), _ => -1 };
        bool split = inputAt >= 0 && rng.Next(10) == 0;

        var lines = layers.Select(l => l.Text).ToList();
        if (inputAt >= 0 && !split) lines.Insert(inputAt, input);
        var files = new List<SourceFile>
        {
            new(ConvSpec.FilePath(index, 0), $"using ConvGen;\n\nnamespace Fuzz;\n\n{string.Join("\n", lines)}\npublic partial class {name};\n"),
        };
        if (split) files.Add(new SourceFile(ConvSpec.FilePath(index, 1), $"using ConvGen;\n\nnamespace Fuzz;\n\n{input}\npublic partial class {name};\n"));

        var allowed = Judge(layers, inputAt, split, h, w, c);
        string detail = $"{(inputAt < 0 ? "no [Input]" : split ? "layers split from [Input]" : $"[Input] at {inputAt}")}: {string.Join(" ", lines)}";
        if (allowed is null)
            return new FuzzCase(index, "network", "valid network; " + detail, Expectation.Valid, files, new HashSet<string>(), [], [$"Fuzz.{name}.g.cs"]);
        if (allowed.Count == 0) // a single [Conv2D] and nothing else: a layer class, judged by the convolution rules elsewhere
            return FuzzCase.Broken(index, "network", "single layer; " + detail, files);
        return new FuzzCase(index, "network", $"breaks {string.Join(", ", allowed)}; {detail}", Expectation.Invalid, files, allowed, []);
    }

    private static int Size(Random rng) => rng.Next(20) == 0 ? rng.Next(-1, 1) : rng.Next(1, 13);

    private static Layer RandomLayer(Random rng)
    {
        switch (rng.Next(4))
        {
            case 0:
            {
                int k = rng.Next(1, 5), f = rng.Next(1, 5), s = rng.Next(1, 3);
                bool same = rng.Next(2) == 0, relu = rng.Next(2) == 0;
                int? stated = rng.Next(4) == 0 ? rng.Next(1, 5) : null;
                var args = new List<string> { $"{k}", $"{k}", $"Filters = {f}" };
                if (s != 1) args.Add($"Stride = {s}");
                if (same) args.Add("Padding = Padding.Same");
                if (relu) args.Add("Activation = Activation.ReLU");
                if (stated is int st) args.Add($"InputChannels = {st}");
                return new Layer("Conv2D", $"[Conv2D({string.Join(", ", args)})]", k, f, s, same, stated);
            }
            case 1:
            {
                int p = rng.Next(20) == 0 ? 0 : rng.Next(1, 4);
                bool same = rng.Next(4) == 0;
                return new Layer("MaxPool2D", same ? $"[MaxPool2D({p}, Padding = Padding.Same)]" : $"[MaxPool2D({p})]", p, Same: same, Stride: p);
            }
            case 2:
                return new Layer("Flatten", "[Flatten]");
            default:
            {
                int units = rng.Next(20) == 0 ? 0 : rng.Next(1, 6);
                return new Layer("Dense", rng.Next(2) == 0 ? $"[Dense({units})]" : $"[Dense({units}, Activation = Activation.ReLU)]", Units: units);
            }
        }
    }

    /// <summary>
    /// The ids the source may get (null when it is a valid network, empty for a single-[Conv2D] layer class). docs/attributes.md's
    /// rules: without [Input], several layer attributes or any non-convolution one is CONVGEN016; a layer before [Input] is
    /// 017; layers on another declaration 023; then, walking from the input: sizes below 1 (026, 024, 025), a spatial
    /// layer on a flat shape (020), Dense on a 3-D shape (021), a stated InputChannels that differs (022), a Valid window
    /// larger than its input (018, 019), and [Input] with no layers (027). The first of these stops the walk.
    /// </summary>
    private static HashSet<string>? Judge(List<Layer> layers, int inputAt, bool split, int h, int w, int c)
    {
        if (inputAt < 0)
            return layers.Count == 1 && layers[0].Kind == "Conv2D" ? [] : ["CONVGEN016"];
        // Split: the layers are refused (023), [Input] is left alone with no layers (027) and its own sizes checked (026).
        if (split) return h < 1 || w < 1 || c < 1 ? ["CONVGEN023", "CONVGEN026", "CONVGEN027"] : ["CONVGEN023", "CONVGEN027"];
        if (inputAt > 0) return ["CONVGEN017"];
        if (h < 1 || w < 1 || c < 1) return ["CONVGEN026"]; // (with no layers, 027 too; there is always at least one here)
        bool spatial = true;
        foreach (var l in layers)
        {
            switch (l.Kind)
            {
                case "Conv2D":
                    if (!spatial) return ["CONVGEN020"];
                    if (l.StatedChannels is int stated && stated != c) return ["CONVGEN022"];
                    if (!l.Same && (l.K > h || l.K > w)) return ["CONVGEN018"];
                    (h, w, c) = l.Same ? ((h - 1) / l.Stride + 1, (w - 1) / l.Stride + 1, l.Filters) : ((h - l.K) / l.Stride + 1, (w - l.K) / l.Stride + 1, l.Filters);
                    break;
                case "MaxPool2D":
                    // The spatial check may come before or after the argument check: either id is right.
                    if (l.K < 1) return spatial ? ["CONVGEN024"] : ["CONVGEN024", "CONVGEN020"];
                    if (!spatial) return ["CONVGEN020"];
                    if (!l.Same && (l.K > h || l.K > w)) return ["CONVGEN019"];
                    (h, w) = l.Same ? ((h - 1) / l.Stride + 1, (w - 1) / l.Stride + 1) : ((h - l.K) / l.Stride + 1, (w - l.K) / l.Stride + 1);
                    break;
                case "Flatten":
                    if (spatial) (c, spatial) = (h * w * c, false);
                    break;
                default:
                    if (l.Units < 1) return spatial ? ["CONVGEN025", "CONVGEN021"] : ["CONVGEN025"];
                    if (spatial) return ["CONVGEN021"];
                    c = l.Units;
                    break;
            }
        }
        // A stack of only Flatten layers has nothing to compute.
        return layers.All(l => l.Kind == "Flatten") ? ["CONVGEN027"] : null;
    }
}
