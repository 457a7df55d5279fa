using System;
using System.Collections.Generic;
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
/// not say it <see cref="Layer.RunsOnSampleChunks"/> (a layer of the user's, unless it does). An activation that only those
/// leading layers read (not the lead's last outputs, which the later layers read) lives meanwhile in a buffer of the thread's
/// own, one chunk long, used again by every chunk and shared with the activations that are not live at the same time
/// (<see cref="DepthFirstPlan"/>): the chunk's layers then write into lines L2 already holds. Written at the chunk's rows of
/// the batch-long buffers instead, every chunk wrote into lines no cache held: MobileNetV2 at batch 50 ran 13-15% slower per
/// image than at batch 4, whose buffers stayed in L2 (11,722-11,874 against 13,543-13,652 images/s on one thread).
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

    /// <summary>
    /// A depth-first plan: how many leading steps run depth-first, on how many samples at a time; for each slot, the chunk
    /// buffer it lives in meanwhile (−1: its batch-long buffer), and each chunk buffer's floats per sample.
    /// </summary>
    private sealed record DepthFirstPlan(int Steps, int Chunk, int[] SlotBuffer, int[] BufferFloats)
    {
        public static readonly DepthFirstPlan None = new(0, 1, [], []);
    }

    /// <summary>The depth-first plan of the forward steps and of the folded inference steps.</summary>
    private DepthFirstPlan _forwardDepthFirst = DepthFirstPlan.None, _inferenceDepthFirst = DepthFirstPlan.None;

    /// <summary>The plan being run depth-first now, and its chunk (the plan's, or <see cref="DepthFirstChunk"/>).</summary>
    private DepthFirstPlan _depthFirst = DepthFirstPlan.None;
    private int _depthFirstChunk;

    /// <summary>Each part's chunk buffers: <c>[part][buffer]</c>, kept between calls.</summary>
    private float[][][] _chunkBuffers = [];

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

    /// <summary>How many slots Predict keeps in chunk buffers, and in how many buffers; for tests.</summary>
    internal (int Slots, int Buffers) DepthFirstChunkBuffers
    {
        get
        {
            var plan = RunsFolded(training: false, keep: false) ? _inferenceDepthFirst : _forwardDepthFirst;
            return (plan.SlotBuffer.Count(b => b >= 0), plan.BufferFloats.Length);
        }
    }

    /// <summary>Plans depth-first inference for the new graph's two step lists.</summary>
    private void PlanDepthFirst()
    {
        _forwardDepthFirst = PlanFor(_steps, _forwardSteps);
        _inferenceDepthFirst = _inferenceSteps is null ? DepthFirstPlan.None : PlanFor(_inferenceSteps, _inferenceSteps.Length);
    }

    /// <summary>
    /// The leading steps of <c>[0, to)</c> that run depth-first (up to the first whose layer's weights exceed
    /// <see cref="DepthFirstBytes"/> or that does not <see cref="Layer.RunsOnSampleChunks"/>), the samples per chunk (as many as
    /// keep the widest of those steps' activations within it), and the chunk buffers: a slot that only the leading steps touch
    /// (not the model's input or output) gets one, shared with the slots whose steps from first to last touch do not overlap its
    /// own (the greedy colouring of intervals, in order of their first step).
    /// </summary>
    private DepthFirstPlan PlanFor(ExecutionStep[] steps, int to)
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
        if (prefix == 0) return DepthFirstPlan.None;

        int slots = _slotSizes.Length;
        var firstTouch = new int[slots];
        var lastTouch = new int[slots];
        var touchedLater = new bool[slots];
        Array.Fill(firstTouch, int.MaxValue);
        Array.Fill(lastTouch, -1);
        for (int step = 0; step < to; step++)
            foreach (int slot in SlotsTouched(_nodes[steps[step].Node]))
            {
                if (step >= prefix)
                {
                    touchedLater[slot] = true;
                    continue;
                }
                firstTouch[slot] = Math.Min(firstTouch[slot], step);
                lastTouch[slot] = Math.Max(lastTouch[slot], step);
            }
        var slotBuffer = new int[slots];
        Array.Fill(slotBuffer, -1);
        var bufferEnds = new List<int>();
        var bufferFloats = new List<int>();
        foreach (int slot in Enumerable.Range(1, slots - 1).Where(s => lastTouch[s] >= 0 && !touchedLater[s] && s != _outputSlot).OrderBy(s => firstTouch[s]))
        {
            int buffer = bufferEnds.FindIndex(end => end < firstTouch[slot]);
            if (buffer < 0)
            {
                buffer = bufferEnds.Count;
                bufferEnds.Add(0);
                bufferFloats.Add(0);
            }
            bufferEnds[buffer] = lastTouch[slot];
            bufferFloats[buffer] = Math.Max(bufferFloats[buffer], _slotSizes[slot]);
            slotBuffer[slot] = buffer;
        }
        return new DepthFirstPlan(prefix, (int)Math.Clamp(DepthFirstBytes / (4 * widest), 1, int.MaxValue), slotBuffer, [.. bufferFloats]);
    }

    /// <summary>Every slot a node's forward step may read or write, folded or not (what <see cref="NodeContext"/> hands its layer).</summary>
    private static IEnumerable<int> SlotsTouched(Node node)
    {
        foreach (int slot in node.InputSlots) yield return slot;
        yield return node.OutputSlot;
        if (node.KeptSlot > 0) yield return node.KeptSlot;
        if (node.FusedNext is { } next) yield return next.OutputSlot;
        if (node.FoldedNormalization is { } normalization) yield return normalization.OutputSlot;
        if (node.FoldedActivation is { } activation) yield return activation.OutputSlot;
        if (node.FoldedAdd is { } add)
        {
            yield return add.OutputSlot;
            yield return node.ResidualSlot;
        }
    }

    /// <summary>
    /// Slot <paramref name="slot"/>'s activations for samples <c>[first, first + count)</c> of a depth-first chunk run by part
    /// <paramref name="part"/>: its chunk buffer when it has one (the chunk's first sample at its start), else its rows of the batch.
    /// </summary>
    internal Span<float> ChunkActivations(int slot, int first, int count, int part)
    {
        int buffer = _depthFirst.SlotBuffer[slot];
        return buffer < 0 ? SlotActivations(slot, first, count) : Buffers.AlignedSpan(_chunkBuffers[part][buffer], 0, count * _slotSizes[slot]);
    }

    /// <summary>Chunk buffers of <see cref="_depthFirst"/>'s sizes, <see cref="_depthFirstChunk"/> samples long, for <paramref name="parts"/> parts.</summary>
    private void EnsureChunkBuffers(int parts)
    {
        if (_chunkBuffers.Length < parts) Array.Resize(ref _chunkBuffers, parts);
        var sizes = _depthFirst.BufferFloats;
        for (int part = 0; part < parts; part++)
        {
            ref var buffers = ref _chunkBuffers[part];
            buffers ??= [];
            if (buffers.Length < sizes.Length) Array.Resize(ref buffers, sizes.Length);
            for (int b = 0; b < sizes.Length; b++) Buffers.EnsureAligned(ref buffers[b]!, sizes[b] * _depthFirstChunk);
        }
    }

    /// <summary>
    /// The forward steps <c>[0, to)</c> of <paramref name="steps"/> (the plan's, or the folded inference plan's): in Predict and
    /// Evaluate with at least a sample per thread, the leading ones depth-first (<paramref name="plan"/>, those steps' plan),
    /// then the rest layer by layer.
    /// </summary>
    private void RunForward(ExecutionStep[] steps, int to, DepthFirstPlan plan)
    {
        var pool = WorkerPool.Shared;
        if (CurrentKeep || CurrentTraining || !RunsDepthFirst || CurrentBatch < pool.Threads) plan = DepthFirstPlan.None;
        if (plan.Steps > 0)
        {
            int parts = Math.Min(pool.Threads, CurrentBatch);
            EnsureScratch(parts);
            _running = steps;
            _depthFirst = plan;
            _depthFirstChunk = DepthFirstChunk > 0 ? DepthFirstChunk : plan.Chunk;
            EnsureChunkBuffers(parts);
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
        int steps = _depthFirst.Steps, chunk = _depthFirstChunk;
        for (int first = s; first < e; first += chunk)
        {
            int count = Math.Min(chunk, e - first);
            for (int step = 0; step < steps; step++)
            {
                var node = _nodes[_running[step].Node];
                node.Layer.RunForward(new NodeContext(this, node, _running[step].Phase, 0, 1, first, count, part, chunkBuffers: true));
            }
        }
    }
}
