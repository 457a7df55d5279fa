// This file is compiled into both the runtime (ConvGen) and the generator (ConvGen.Generator, netstandard2.0), so a compiled
// network and a Sequential of the same layers name them the same way.
using System.Collections.Generic;

namespace ConvGen;

/// <summary>
/// Keras' layer names: a layer without an explicit name gets its kind's base name (<c>conv2d</c>, <c>dense</c>, <c>add</c>),
/// with <c>_1</c>, <c>_2</c>, ... for the second and later layers of a kind. Explicit names are kept; a default name skips
/// any name already taken. <see cref="ModelInput"/> names the model's input.
/// </summary>
internal static class LayerNaming
{
    /// <summary>The name a layer's <c>Input</c> uses to read the model's input.</summary>
    public const string ModelInput = "input";

    /// <summary>
    /// The unique names of layers given as (base name, explicit name or null), in order. Returns null, with the index of the
    /// offending layer in <paramref name="duplicate"/>, when an explicit name repeats an earlier one or is <see cref="ModelInput"/>.
    /// </summary>
    public static string[]? Assign(IReadOnlyList<(string BaseName, string? ExplicitName)> layers, out int duplicate)
    {
        duplicate = -1;
        var taken = new HashSet<string>(System.StringComparer.Ordinal) { ModelInput };
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i].ExplicitName is string name && !taken.Add(name))
            {
                duplicate = i;
                return null;
            }
        }
        var counters = new Dictionary<string, int>(System.StringComparer.Ordinal);
        var names = new string[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i].ExplicitName is string name)
            {
                names[i] = name;
                continue;
            }
            string baseName = layers[i].BaseName;
            counters.TryGetValue(baseName, out int next);
            string candidate;
            do
            {
                candidate = next == 0 ? baseName : baseName + "_" + next.ToString(System.Globalization.CultureInfo.InvariantCulture);
                next++;
            }
            while (!taken.Add(candidate));
            counters[baseName] = next;
            names[i] = candidate;
        }
        return names;
    }
}
