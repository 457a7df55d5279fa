using System;
using System.Collections.Generic;
using System.Linq;

namespace ConvGen;

/// <summary>One call the executor makes: a phase of a layer's forward or backward pass, split over the threads.</summary>
internal readonly record struct ExecutionStep(int Node, int Phase, bool Backward);

/// <summary>
/// Turns a list of layers into the graph a <see cref="Model"/> runs: names, inputs, shapes, buffer slots, parameter and state
/// offsets, which layers fuse, which input gradients add up, and the order of the phases. Everything here runs once per build.
/// </summary>
internal static class ModelPlanner
{
    /// <summary>
    /// The plan: the nodes, the size of each buffer slot (per sample), the steps (forward, then backward), the scratch per
    /// thread, the parameter and state counts; and, when some BatchNormalization folds, the forward steps of Predict and
    /// Evaluate (every forward step but the folded BatchNormalization layers'; null when none folds) and the floats of the
    /// buffer that holds the folded parameters.
    /// </summary>
    internal sealed record Result(Model.Node[] Nodes, int[] SlotSizes, ExecutionStep[] Steps, int ForwardSteps,
        int ScratchSize, int ParameterCount, int StateCount, ExecutionStep[]? InferenceSteps, int FoldedSize);

    /// <summary>Floats of a folded scale pattern at least: one value per channel, repeated to this length or more.</summary>
    private const int PatternFloats = 256;

    public static Result Plan(Shape inputShape, IReadOnlyList<Layer> layers)
    {
        var names = AssignNames(layers);
        var nodes = new Model.Node[layers.Count];
        var slotSizes = new List<int> { inputShape.Size };
        long parameters = 0, state = 0;
        int scratch = 0;
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var inputs = ResolveInputs(layers, names, i);
            var inputShapes = inputs.Select(j => j < 0 ? inputShape : nodes[j].OutputShape).ToArray();
            var inputSlots = inputs.Select(j => j < 0 ? 0 : nodes[j].OutputSlot).ToArray();
            var build = new LayerBuild(names[i], inputShapes);
            Shape output;
            try
            {
                output = layer.Build(build);
            }
            catch (ShapeMismatchException e)
            {
                string from = string.Join(" and ", inputs.Select((j, k) => $"{inputShapes[k]} from {(j < 0 ? "the model input" : $"layer {j} ({names[j]})")}"));
                throw new ShapeMismatchException(e.ParamName ?? "inputShape", e.Expected, e.Actual,
                    $"Layer {i} ({names[i]}) cannot take {from}: {e.Message}");
            }
            if (build.OutputIsInputView && output.Size != inputShapes[0].Size)
                throw new InvalidOperationException($"Layer {i} ({names[i]}) says its output {output} is a view of its input {inputShapes[0]}, but their sizes differ.");

            var node = new Model.Node
            {
                Layer = layer, Index = i, Name = names[i], Inputs = inputs, InputSlots = inputSlots, InputShapes = inputShapes,
                OutputShape = output, Alias = build.OutputIsInputView,
                ParameterDeclarations = [.. build.Parameters], StateDeclarations = [.. build.State], ScratchSize = build.ScratchPerThread,
                AccumulateInput = new bool[inputs.Length], FoldRelu = new bool[inputs.Length],
            };
            if (node.Alias)
            {
                node.OutputSlot = inputSlots[0];
            }
            else
            {
                node.OutputSlot = slotSizes.Count;
                slotSizes.Add(output.Size);
            }
            if (build.KeepPerSample > 0)
            {
                node.KeptSlot = slotSizes.Count;
                slotSizes.Add(build.KeepPerSample);
            }

            node.ParameterOffset = (int)parameters;
            node.ParameterOffsets = new int[node.ParameterDeclarations.Length];
            for (int p = 0; p < node.ParameterOffsets.Length; p++)
            {
                node.ParameterOffsets[p] = (int)parameters;
                parameters += node.ParameterDeclarations[p].Shape.Size;
                if (parameters > Array.MaxLength) throw new ArgumentException($"The model's parameters up to layer {i} ({names[i]}) exceed the largest array ({parameters}).", nameof(layers));
            }
            node.ParameterCount = (int)(parameters - node.ParameterOffset);
            node.StateOffsets = new int[node.StateDeclarations.Length];
            for (int s = 0; s < node.StateOffsets.Length; s++)
            {
                node.StateOffsets[s] = (int)state;
                state += node.StateDeclarations[s].Shape.Size;
                if (state > Array.MaxLength) throw new ArgumentException($"The model's state up to layer {i} ({names[i]}) exceeds the largest array.", nameof(layers));
            }
            scratch = Math.Max(scratch, node.ScratchSize);
            foreach (int j in inputs.Distinct())
                if (j >= 0) nodes[j].Consumers.Add(i);
            nodes[i] = node;
        }

        if (nodes.All(n => n.Alias))
            throw new ArgumentException("Every layer only reinterprets its input (Flatten); the model computes nothing. Add a layer that does, such as Dense.", nameof(layers));
        for (int i = 0; i < nodes.Length - 1; i++)
        {
            if (nodes[i].Consumers.Count == 0)
                throw new ArgumentException(
                    $"The output of layer {i} ({names[i]}) is never used: the next layer reads '{InputList(layers[i + 1])}' and no later layer names '{names[i]}'. " +
                    $"Read it with Input = \"{names[i]}\" or an Add/Concatenate, or remove the layer.", nameof(layers));
        }

        PlanFusion(nodes);
        int foldedSize = PlanFolds(nodes);
        PlanGradients(nodes, slotSizes.Count);
        var steps = new List<ExecutionStep>();
        foreach (var node in nodes)
        {
            if (node.Alias || node.ForwardFused) continue;
            for (int phase = 0; phase < node.Layer.ForwardPhases; phase++) steps.Add(new ExecutionStep(node.Index, phase, Backward: false));
        }
        int forwardSteps = steps.Count;
        foreach (var node in nodes.Reverse())
        {
            if (node.Alias) continue;
            for (int phase = 0; phase < node.Layer.BackwardPhases; phase++) steps.Add(new ExecutionStep(node.Index, phase, Backward: true));
        }
        var inference = foldedSize == 0 ? null : steps.Take(forwardSteps).Where(s => nodes[s.Node].FoldedInto is null).ToArray();
        return new Result(nodes, [.. slotSizes], [.. steps], forwardSteps, scratch, (int)parameters, (int)state, inference, foldedSize);
    }

    private static string InputList(Layer layer) => string.Join("', '", layer.InputNames.Select(n => n ?? "the previous layer"));

    /// <summary>Keras' unique names (see <see cref="LayerNaming"/>), or an error naming the two layers that share one.</summary>
    private static string[] AssignNames(IReadOnlyList<Layer> layers)
    {
        var requests = layers.Select(l => (l.BaseNameForPlanning, l.HasExplicitName ? l.Name : null)).ToArray();
        var names = LayerNaming.Assign(requests, out int duplicate);
        if (names is not null) return names;
        string name = layers[duplicate].Name;
        if (name == LayerNaming.ModelInput)
            throw new ArgumentException($"Layer {duplicate} is named '{name}', which names the model's input; choose another name.", nameof(layers));
        int first = Enumerable.Range(0, duplicate).First(j => layers[j].HasExplicitName && layers[j].Name == name);
        throw new ArgumentException($"Layers {first} and {duplicate} are both named '{name}'; every layer name in a model must be unique.", nameof(layers));
    }

    /// <summary>The producer of each of layer <paramref name="i"/>'s inputs: an earlier layer's index, or -1 for the model's input.</summary>
    private static int[] ResolveInputs(IReadOnlyList<Layer> layers, string[] names, int i)
    {
        var requested = layers[i].InputNames;
        if (requested.Count == 0) throw new ArgumentException($"Layer {i} ({names[i]}) reads no input.", nameof(layers));
        var inputs = new int[requested.Count];
        for (int k = 0; k < requested.Count; k++)
        {
            string? name = requested[k];
            if (name is null) { inputs[k] = i - 1; continue; }
            if (name == LayerNaming.ModelInput) { inputs[k] = -1; continue; }
            int j = Array.IndexOf(names, name);
            if (j < 0)
                throw new ArgumentException($"Layer {i} ({names[i]}) reads '{name}', but no layer has that name; the layers before it are: " +
                    $"{(i == 0 ? "none" : string.Join(", ", names.Take(i)))} (and '{LayerNaming.ModelInput}', the model's input).", nameof(layers));
            if (j >= i)
                throw new ArgumentException($"Layer {i} ({names[i]}) reads '{name}', which is layer {j}, {(j == i ? "itself" : "after it")}; a layer can read only earlier layers.", nameof(layers));
            inputs[k] = j;
        }
        return inputs;
    }

    /// <summary>
    /// Layer fusions: a layer whose next layer reads only it, and is its only reader, may compute that layer's forward too; a
    /// ReLU layer whose only reader can fold the mask into its input gradient leaves the mask to it.
    /// </summary>
    private static void PlanFusion(Model.Node[] nodes)
    {
        for (int i = 0; i + 1 < nodes.Length; i++)
        {
            Model.Node node = nodes[i], next = nodes[i + 1];
            if (!node.Alias && !next.Alias && !node.ForwardFused && next.Inputs is [var only] && only == i && node.Consumers is [var reader] && reader == i + 1
                && node.Layer.CanFuseForward(next.Layer, node.OutputShape))
            {
                node.FusedNext = next;
                next.ForwardFused = true;
            }
        }
        foreach (var node in nodes)
        {
            if (node.Alias || node.Layer.OutputActivation != Activation.ReLU || node.Consumers is not [var reader]) continue;
            var consumer = nodes[reader];
            if (!consumer.Layer.FoldsInputRelu || consumer.Inputs.Count(j => j == node.Index) != 1) continue;
            consumer.FoldRelu[Array.IndexOf(consumer.Inputs, node.Index)] = true;
            node.MaskedByConsumer = true;
        }
    }

    /// <summary>
    /// BatchNormalization folded into the layer before it for inference: where a BatchNormalization reads only a layer that
    /// <see cref="Layer.AcceptsFoldedNormalization"/> (a convolution or Dense) without an activation, and nothing else reads that
    /// layer, the layer runs in Predict and Evaluate with its kernel and bias scaled and shifted per channel and writes the
    /// BatchNormalization's output buffer, and the BatchNormalization runs no pass. When the BatchNormalization's only reader is an
    /// element-wise activation layer (<see cref="ElementwiseLayer.Folds"/>) reading only it, that layer folds too: the producer
    /// applies it to each chunk of its output while in cache and writes the activation's buffer. When it is a residual
    /// <see cref="Add"/> of two inputs whose other input is computed before the producer runs, with no activation, ReLU or ReLU6, and
    /// the producer <see cref="Layer.AcceptsFoldedResidual"/>, the Add folds too: the producer adds the other input and applies the
    /// activation as it stores, and writes the Add's buffer. Lays out the buffer of folded parameters,
    /// per folded layer: the kernel, the bias (one per channel), the scale pattern; returns its size (0: nothing folds).
    /// </summary>
    private static int PlanFolds(Model.Node[] nodes)
    {
        long size = 0;
        foreach (var node in nodes)
        {
            if (node.Layer is not BatchNormalization || node.Inputs is not [var p] || p < 0) continue;
            var producer = nodes[p];
            if (producer.Alias || producer.ForwardFused || producer.FusedNext is not null || producer.Consumers is not [var only] || only != node.Index
                || !producer.Layer.AcceptsFoldedNormalization || producer.Layer.OutputActivation != Activation.None
                || producer.ParameterDeclarations.Length is not (1 or 2))
                continue;
            int channels = producer.OutputShape[producer.OutputShape.Rank - 1];
            producer.FoldedNormalization = node;
            node.FoldedInto = producer;
            if (node.Consumers is [var reader] && nodes[reader] is { Layer: ElementwiseLayer { Folds: true }, Alias: false, ForwardFused: false, Inputs: [_] } activation)
            {
                producer.FoldedActivation = activation;
                activation.FoldedInto = producer;
            }
            else if (node.Consumers is [var adder] && producer.Layer.AcceptsFoldedResidual
                && nodes[adder] is { Layer: Add { Activation: Activation.None or Activation.ReLU or Activation.ReLU6 }, Alias: false, ForwardFused: false, Inputs: [var a, var b] } add
                && (a == node.Index) != (b == node.Index) && (a == node.Index ? b : a) < producer.Index)
            {
                producer.FoldedAdd = add;
                producer.ResidualSlot = add.InputSlots[a == node.Index ? 1 : 0];
                add.FoldedInto = producer;
            }
            size = (size + 15) & ~15L; // each layer's folded weights at a 64-byte boundary of the aligned buffer
            producer.FoldOffset = (int)size;
            producer.FoldPattern = channels * Math.Max(1, (PatternFloats + channels - 1) / channels);
            size += producer.ParameterDeclarations[0].Shape.Size + (long)channels + producer.FoldPattern;
            if (size > Array.MaxLength - Buffers.Slack) throw new ArgumentException($"The folded parameters up to layer {node.Index} ({node.Name}) exceed the largest array.", nameof(nodes));
        }
        return (int)size;
    }

    /// <summary>
    /// Which consumer writes each input gradient and which add to it: backward runs the layers in reverse, so the first of them
    /// (the last reader in forward order) writes a buffer and the rest add. The loss writes the last layer's gradient.
    /// </summary>
    private static void PlanGradients(Model.Node[] nodes, int slots)
    {
        var written = new bool[slots];
        written[nodes[^1].OutputSlot] = true;
        for (int i = nodes.Length - 1; i >= 0; i--)
        {
            var node = nodes[i];
            if (node.Alias) continue;
            for (int k = 0; k < node.InputSlots.Length; k++)
            {
                int slot = node.InputSlots[k];
                node.AccumulateInput[k] = written[slot];
                written[slot] = true;
            }
        }
    }
}
