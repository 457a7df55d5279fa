using System;
using System.Linq;

namespace ConvGen;

/// <summary>
/// Depth-first inference. Layer by layer, a batch's activations go through memory between layers: at batch 50 a layer of
/// ResNet-20 writes 2.5 MB, more than a core's L2, so the next layer reads it back from L3 (or DRAM), and every layer of a
/// multithreaded pass ends with the threads waiting for each other. In <see cref="Predict"/> and <see cref="Evaluate"/> (no
/// backward pass follows, so no activation has to outlive the next layers) with at least one sample per thread, each thread
/// instead takes its share of the samples and runs the leading layers on a few of them at a time
/// (<see cref="DepthFirstBytes"/>), so each layer reads its input from the core's L2 where the layer before left it, and the
/// threads meet once. The layers after them run layer by layer: from the first whose weights alone exceed that budget (e.g.
/// the tutorial's 3136 × 1024 Dense, which reads its weights once per call and so wants every sample at once), or that does
/// not say it <see cref="Layer.RunsOnSampleChunks"/> (a layer of the user's, unless it does).
/// </summary>
/// <remarks>
/// Every sample's arithmetic is the same either way (each kernel computes a sample's outputs in an order that does not depend
/// on how many samples it is given), so the outputs keep their bits; the tests compare both orders bit for bit.
/// </remarks>
public abstract partial class Model
{
    /// <summary>The phase number the worker pool passes for depth-first inference; no step has it.</summary>
    private const int DepthFirstPhase = -2;

    /// <summary>
    /// The activations one depth-first chunk may touch in one layer (its inputs, output and residual): 512 KB, half of a
    /// 1 MB L2 (Zen 4/5; 2 MB on recent Xeons, 512 KB on Zen 3). At batch 50 on the Zen 5 here, 256 KB, 512 KB and 1 MB
    /// measured within the machine's noise of each other, and all ahead of layer by layer for MobileNetV2 and LeNet-5.
    /// </summary>
    internal const int DepthFirstBytes = 512 * 1024;

    /// <summary>The depth-first plan of the forward steps and of the folded inference steps: how many lead, on how many samples at a time.</summary>
    private (int Steps, int Chunk) _forwardDepthFirst, _inferenceDepthFirst;

    /// <summary>The plan being run depth-first now.</summary>
    private (int Steps, int Chunk) _depthFirst;

    /// <summary>Whether Predict and Evaluate may run depth-first (the default); false runs every layer over the whole batch, for tests and comparisons.</summary>
    internal bool RunsDepthFirst { get; set; } = true;

    /// <summary>When positive, the samples per depth-first chunk instead of what <see cref="DepthFirstBytes"/> gives; for tests.</summary>
    internal int DepthFirstChunk { get; set; }

    /// <summary>The layers Predict runs depth-first (those of the folded plan where it folds), in order; for tests.</summary>
    internal Layer[] DepthFirstLayers
    {
        get
        {
            bool folded = RunsFolded(training: false, keep: false);
            var (steps, plan) = folded ? (_inferenceSteps!, _inferenceDepthFirst) : (_steps, _forwardDepthFirst);
            return steps.Take(plan.Steps).Select(s => _nodes[s.Node].Layer).Distinct().ToArray();
        }
    }

    /// <summary>Plans depth-first inference for the new graph's two step lists.</summary>
    private void PlanDepthFirst()
    {
        _forwardDepthFirst = DepthFirstPlan(_steps, _forwardSteps);
        _inferenceDepthFirst = _inferenceSteps is null ? default : DepthFirstPlan(_inferenceSteps, _inferenceSteps.Length);
    }

    /// <summary>
    /// The leading steps of <c>[0, to)</c> that run depth-first (up to the first whose layer's weights exceed
    /// <see cref="DepthFirstBytes"/> or that does not <see cref="Layer.RunsOnSampleChunks"/>), and the samples per chunk: as many as keep the widest of those steps' activations within it.
    /// </summary>
    private (int Steps, int Chunk) DepthFirstPlan(ExecutionStep[] steps, int to)
    {
        int prefix = 0;
        long widest = 1;
        for (; prefix < to; prefix++)
        {
            var node = _nodes[steps[prefix].Node];
            if (!node.Layer.RunsOnSampleChunks || 4L * node.ParameterCount > DepthFirstBytes) break;
            long floats = _slotSizes[node.OutputSlot];
            foreach (int slot in node.InputSlots) floats += _slotSizes[slot];
            if (node.FoldedAdd is not null) floats += _slotSizes[node.ResidualSlot];
            widest = Math.Max(widest, floats);
        }
        return (prefix, (int)Math.Clamp(DepthFirstBytes / (4 * widest), 1, int.MaxValue));
    }

    /// <summary>
    /// The forward steps <c>[0, to)</c> of <paramref name="steps"/> (the plan's, or the folded inference plan's): in Predict and
    /// Evaluate with at least a sample per thread, the leading ones depth-first (<paramref name="plan"/>, those steps' plan),
    /// then the rest layer by layer.
    /// </summary>
    private void RunForward(ExecutionStep[] steps, int to, (int Steps, int Chunk) plan)
    {
        var pool = WorkerPool.Shared;
        if (CurrentKeep || CurrentTraining || !RunsDepthFirst || CurrentBatch < pool.Threads) plan = default;
        if (plan.Steps > 0)
        {
            int parts = Math.Min(pool.Threads, CurrentBatch);
            EnsureScratch(parts);
            _running = steps;
            _depthFirst = (plan.Steps, DepthFirstChunk > 0 ? DepthFirstChunk : plan.Chunk);
            pool.Run(this, DepthFirstPhase, parts);
        }
        Run(steps, plan.Steps, to);
    }

    /// <summary>
    /// Part <paramref name="part"/> of <paramref name="parts"/> of depth-first inference: its share of the samples, a chunk at a
    /// time, through the leading steps, each layer given the chunk as its whole batch (one part, this part's scratch).
    /// </summary>
    private void RunDepthFirst(int part, int parts)
    {
        var (s, e) = Parallelism.ChunkRange(CurrentBatch, parts, part);
        var (steps, chunk) = _depthFirst;
        for (int first = s; first < e; first += chunk)
        {
            int count = Math.Min(chunk, e - first);
            for (int step = 0; step < steps; step++)
            {
                var node = _nodes[_running[step].Node];
                node.Layer.RunForward(new NodeContext(this, node, _running[step].Phase, 0, 1, first, count, part));
            }
        }
    }
}
