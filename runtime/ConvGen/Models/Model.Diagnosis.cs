using System;
using System.Globalization;
using System.Linq;
using System.Text;

namespace ConvGen;

public abstract partial class Model
{
    /// <summary>
    /// The exception for a step that went non-finite, naming where it happened first, in the order the values were computed:
    /// weights already non-finite before the step; else each layer's output; else the loss or its gradient; else, backward from
    /// the last layer, each layer's parameter gradients and then the input gradients it wrote. Runs only on failure.
    /// </summary>
    private NonFiniteLossException NonFinite(float loss, long step, bool afterBackward)
    {
        string? inputNote = DescribeInput();
        foreach (var node in _nodes)
        {
            for (int p = 0; p < node.ParameterDeclarations.Length; p++)
            {
                var values = _parameters.AsSpan(node.ParameterOffsets[p], node.ParameterDeclarations[p].Shape.Size);
                if (FirstNonFinite(values) is int at)
                    return new(loss, step, NonFiniteOrigin.Weights, node.Index, node.Name, node.ParameterDeclarations[p].Name,
                        $"{node.ParameterDeclarations[p].Name}[{at}] is {values[at]}; the weights were already non-finite before this step");
            }
        }
        foreach (var node in _nodes)
        {
            if (node.Alias) continue;
            var values = SlotActivations(node.OutputSlot);
            if (FirstNonFinite(values) is int at)
                return new(loss, step, NonFiniteOrigin.Output, node.Index, node.Name, null, Join($"output element {at} is {values[at]}", inputNote));
        }
        if (!afterBackward || FirstNonFinite(SlotGradients(_outputSlot)) is not null)
            return new(loss, step, NonFiniteOrigin.Loss, -1, null, null, Join(afterBackward ? "the loss gradient is not finite" : null, inputNote));
        for (int i = _nodes.Length - 1; i >= 0; i--)
        {
            var node = _nodes[i];
            if (node.Alias) continue;
            for (int p = 0; p < node.ParameterDeclarations.Length; p++)
            {
                var gradient = _gradients.AsSpan(node.ParameterOffsets[p], node.ParameterDeclarations[p].Shape.Size);
                if (FirstNonFinite(gradient) is int at)
                    return new(loss, step, NonFiniteOrigin.Gradient, i, node.Name, node.ParameterDeclarations[p].Name, Join($"gradient element {at} is {gradient[at]}", inputNote));
            }
            foreach (int slot in node.InputSlots)
            {
                if (slot == 0) continue;
                var gradient = SlotGradients(slot);
                if (FirstNonFinite(gradient) is int at)
                    return new(loss, step, NonFiniteOrigin.Gradient, i, node.Name, null, Join($"input gradient element {at} is {gradient[at]}", inputNote));
            }
        }
        // Only reached if a caller reports a failure none of the buffers shows.
        return new(loss, step, NonFiniteOrigin.Loss, -1, null, null, inputNote);
    }

    private static int? FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i])) return i;
        }
        return null;
    }

    /// <summary>A note when the input batch itself holds NaN or infinity (null otherwise): the usual cause.</summary>
    private string? DescribeInput()
    {
        var values = SlotActivations(0);
        if (FirstNonFinite(values) is not int first) return null;
        int count = 0;
        foreach (float v in values) if (!float.IsFinite(v)) count++;
        int sample = first / _slotSizes[0];
        return $"the input batch itself holds {count} NaN or infinite value{(count == 1 ? "" : "s")}, the first in sample {sample}";
    }

    private static string? Join(string? a, string? b) => a is null ? b : b is null ? a : $"{a}; {b}";

    /// <summary>
    /// A Keras-like table of the layers: name and type, output shape, parameter count, and (for a graph that is not a plain
    /// chain) the layers each one reads; then the totals, and which BatchNormalization layers are folded into the layer before
    /// them for inference (<see cref="ModelNode.FoldedInto"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not built.</exception>
    public string Summary()
    {
        if (!IsBuilt) throw NotBuilt();
        bool chain = _nodes.All(n => n.Inputs is [var only] && only == n.Index - 1);
        var rows = _graph.Select(n => new[]
        {
            $"{n.Name} ({n.Layer.TypeName})",
            "(None, " + string.Join(", ", n.OutputShape.Dimensions.ToArray()) + ")",
            (n.ParameterCount + n.StateCount).ToString("N0", CultureInfo.InvariantCulture),
            string.Join(", ", n.Inputs),
        }).ToList();
        int[] widths = [Math.Max(28, rows.Max(r => r[0].Length) + 2), Math.Max(25, rows.Max(r => r[1].Length) + 2), chain ? 12 : 14, Math.Max(14, rows.Max(r => r[3].Length))];
        string[] headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"];
        int columns = chain ? 3 : 4, total = widths.Take(columns).Sum();
        string Row(string[] cells) => string.Concat(Enumerable.Range(0, columns).Select(c => c == columns - 1 ? cells[c] : cells[c].PadRight(widths[c])));
        var sb = new StringBuilder();
        string rule = new('_', total), thick = new('=', total);
        sb.Append("Model: \"").Append(chain ? "sequential" : "functional").AppendLine("\"").AppendLine(rule);
        sb.AppendLine(Row(headers)).AppendLine(thick);
        for (int i = 0; i < rows.Count; i++)
        {
            sb.AppendLine(Row(rows[i]));
            sb.AppendLine(i == rows.Count - 1 ? thick : rule);
        }
        long all = ParameterCount + StateCount;
        sb.Append("Total params: ").AppendLine(all.ToString("N0", CultureInfo.InvariantCulture));
        sb.Append("Trainable params: ").AppendLine(ParameterCount.ToString("N0", CultureInfo.InvariantCulture));
        sb.Append("Non-trainable params: ").AppendLine(StateCount.ToString("N0", CultureInfo.InvariantCulture));
        var folded = _graph.Where(n => n.FoldedInto is not null).Select(n => $"{n.Name} into {n.FoldedInto}").ToArray();
        if (folded.Length > 0) sb.Append("Folded for inference: ").AppendLine(string.Join(", ", folded));
        return sb.ToString();
    }
}
