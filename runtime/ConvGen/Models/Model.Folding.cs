using System;
using System.Linq;
using System.Threading;

namespace ConvGen;

/// <summary>
/// BatchNormalization folded into the layer before it, for inference. Where a BatchNormalization reads only a convolution
/// (Conv2D, DepthwiseConv2D, Conv1D) or Dense layer without an activation, and nothing else reads that layer (the planner
/// decides, see <c>ModelPlanner.PlanFolds</c>), <see cref="Predict"/> and <see cref="Evaluate"/> run the layer with
/// <c>w'[.., f] = w[.., f] · s[f]</c> and <c>b'[f] = (b[f] − moving_mean[f]) · s[f] + β[f]</c>, where
/// <c>s[f] = γ[f] / √(moving_variance[f] + ε)</c>, writing straight into the BatchNormalization's output buffer, and skip the
/// BatchNormalization: one pass over the activations (and, multithreaded, three waits) fewer per folded pair.
/// </summary>
/// <remarks>
/// The folded kernels and biases live in a buffer of their own, planned with the model, and are computed again at the start
/// of every <see cref="Predict"/> and <see cref="Evaluate"/> call (not per batch): the weights and statistics can change in ways
/// the model cannot see (writes through <see cref="ParameterBuffer"/>, <see cref="StateBuffer"/> or a parameter's span), and
/// folding costs one multiply per kernel weight, split over the threads, which is small next to a forward pass. Training and
/// <see cref="Forward"/> (which keeps every activation for a <see cref="Backward"/> that needs the BatchNormalization's input)
/// run every BatchNormalization as its own pass.
/// </remarks>
public abstract partial class Model
{
    /// <summary>The phase number the worker pool passes for folding; no step has it.</summary>
    private const int FoldPhase = -1;

    /// <summary>
    /// Kernel weights per thread below which folding does not take another thread (1 MB: ResNet-20's 272,186 fold in about
    /// 0.05 ms on one thread, less than waking another would save).
    /// </summary>
    private const int FoldGrain = 1 << 18;

    private ExecutionStep[]? _inferenceSteps;
    private float[] _folded = [];
    private Node[] _folds = [];
    private long _weightsVersion, _foldedVersion = -1;
    private volatile bool _weightsExposed;

    /// <summary>
    /// Whether <see cref="Predict"/> and <see cref="Evaluate"/> fold BatchNormalization into the layer before it where the plan
    /// allows (the default). False runs every BatchNormalization as its own pass with the moving statistics, as
    /// <c>Forward(x, training: false)</c> does; for tests and comparisons.
    /// </summary>
    internal bool FoldsBatchNormalization { get; set; } = true;

    /// <summary>
    /// Whether Predict and Evaluate may run stride-1 3x3 and 5x5 convolutions with Winograd's algorithm (the default; see
    /// <c>Winograd.For</c>); false runs the direct kernels, whose sums keep the order of training's forward pass; for tests and comparisons.
    /// </summary>
    internal bool UsesWinograd { get; set; } = true;

    /// <summary>Whether the forward pass running now is the folded one.</summary>
    internal bool CurrentFolded { get; private set; }

    /// <summary>Takes the folds of a new plan: the inference steps, the buffer, the folded layers.</summary>
    private void PlanFolding(ModelPlanner.Result plan)
    {
        _inferenceSteps = plan.InferenceSteps;
        _folded = Buffers.NewAligned(plan.FoldedSize);
        _folds = plan.Nodes.Where(n => n.FoldedNormalization is not null).ToArray();
        _foldedVersion = -1;
        CurrentFolded = false;
    }

    /// <summary>
    /// Whether a forward pass in this mode runs the folded plan: inference that keeps no activations (<see cref="Predict"/>,
    /// <see cref="Evaluate"/>), with something to fold.
    /// </summary>
    private bool RunsFolded(bool training, bool keep) => !training && !keep && _inferenceSteps is not null && FoldsBatchNormalization;

    /// <summary>
    /// Called as <see cref="Predict"/> and <see cref="Evaluate"/> begin: what is derived from the weights (the folds, a Dense
    /// layer's panels) is reused unless the weights may have changed since it was made: through ConvGen
    /// (<see cref="WeightsWritten"/>), or at any time once user code holds a writable view of them
    /// (<see cref="WeightsExposed"/>), whose writes no one sees: then every call starts a new version.
    /// </summary>
    private void NewVersionIfViewsHandedOut()
    {
        if (_weightsExposed) WeightsWritten();
    }

    /// <summary>
    /// Changes whenever the parameters or state may have changed: what is computed from them (the folds, a Dense layer's
    /// panels) is up to date if it was computed at this version.
    /// </summary>
    internal long WeightsVersion => Volatile.Read(ref _weightsVersion);

    /// <summary>The parameters or state changed, or may change, through ConvGen (an exclusive call, loading, an optimizer step, an element set): a new version, so the next folded pass folds again.</summary>
    internal void WeightsWritten() => Interlocked.Increment(ref _weightsVersion); // optimizer parts write on several threads

    /// <summary>User code took a writable view of the parameters or state (<see cref="Tensor.Span"/>, <see cref="ParameterBuffer"/>): from now on every Predict and Evaluate starts a new version.</summary>
    internal void WeightsExposed()
    {
        _weightsExposed = true;
        WeightsWritten();
    }

    /// <summary>How many times the folds were computed, for tests that check they are reused, and recomputed when they must be.</summary>
    internal int FoldCount { get; private set; }

    /// <summary>
    /// Computes every folded layer's parameters from its own and its BatchNormalization's: the scales and biases (one per
    /// channel) on this thread, then the kernels split over the threads.
    /// </summary>
    private void Fold()
    {
        _foldedVersion = WeightsVersion;
        long work = 0;
        foreach (var node in _folds)
        {
            var normalization = (BatchNormalization)node.FoldedNormalization!.Layer;
            var scale = FoldedScale(node);
            normalization.FoldedScale(scale);
            var bias = node.ParameterDeclarations.Length > 1 ? ParameterSpan(node.ParameterOffsets[1], node.ParameterDeclarations[1].Shape.Size) : default;
            normalization.FoldedBias(bias, scale, FoldedBias(node));
            work += node.ParameterDeclarations[0].Shape.Size;
        }
        var pool = WorkerPool.Shared;
        pool.Run(this, FoldPhase, (int)Math.Clamp(work / FoldGrain, 1, pool.Threads));
        FoldCount++;
    }

    /// <summary>This part's share of every folded kernel: whole rows of output channels, scaled per channel.</summary>
    private void FoldPart(int part, int parts)
    {
        foreach (var node in _folds)
        {
            int size = node.ParameterDeclarations[0].Shape.Size, channels = node.OutputShape[node.OutputShape.Rank - 1];
            var (r0, r1) = Parallelism.ChunkRange(size / channels, parts, part);
            int start = r0 * channels, count = (r1 - r0) * channels;
            BatchNormalization.MultiplyPerChannel(ParameterSpan(node.ParameterOffsets[0] + start, count), FoldedScale(node),
                Folded(node, start, count));
        }
    }

    /// <summary>A folded layer's parameter <paramref name="index"/> (0 the kernel, 1 the bias), as the layer declared it.</summary>
    internal ReadOnlySpan<float> FoldedParameter(Node node, int index) => index == 0
        ? Folded(node, 0, node.ParameterDeclarations[0].Shape.Size)
        : Folded(node, node.ParameterDeclarations[0].Shape.Size, node.ParameterDeclarations[index].Shape.Size);

    /// <summary>A folded layer's parameters, laid out as <see cref="NodeContext.Weights"/>: the kernel, then the bias if it has one.</summary>
    internal ReadOnlySpan<float> FoldedWeights(Node node) => Folded(node, 0, node.ParameterCount);

    /// <summary>A folded layer's bias, one per output channel (the layer's kernel starts its sums at it).</summary>
    internal Span<float> FoldedBias(Node node) => Folded(node, node.ParameterDeclarations[0].Shape.Size, Channels(node));

    /// <summary>A folded layer's scale, one per channel, repeated.</summary>
    private Span<float> FoldedScale(Node node) => Folded(node, node.ParameterDeclarations[0].Shape.Size + Channels(node), node.FoldPattern);

    /// <summary>Floats <c>[offset, offset + length)</c> of a layer's folded parameters, in the aligned buffer (each layer's at a multiple of 16 floats from its 64-byte boundary).</summary>
    private Span<float> Folded(Node node, int offset, int length) => Buffers.AlignedSpan(_folded, node.FoldOffset + offset, length);

    private static int Channels(Node node) => node.OutputShape[node.OutputShape.Rank - 1];
}
