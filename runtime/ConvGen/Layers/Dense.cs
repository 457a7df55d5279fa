using System;
using System.Numerics.Tensors;
using System.Threading;
using ConvGen.Internal;

namespace ConvGen;

/// <summary>
/// Keras' <c>Dense</c>: a fully connected layer <c>y = activation(x·W + b)</c> over a batch of feature vectors
/// <c>(batch, features)</c>, with a kernel <c>W</c> of shape <c>(features, units)</c> (Glorot uniform) and a bias <c>b</c> of
/// shape <c>(units,)</c> (zeros).
/// </summary>
/// <remarks>
/// The products run on the blocked GEMM; the threads split the output by columns (forward) and the weight gradient by rows
/// (backward), so each owns disjoint outputs and the results are bit-identical for any thread count. Inference with a large
/// kernel sums its rows in two fixed halves (see <see cref="SumsInHalves"/>), whatever the thread count and batch, so the
/// threads can split one sample's product too. Image input must be flattened first: put a <see cref="Flatten"/> layer in front.
/// </remarks>
public sealed class Dense : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <summary>
    /// <c>Gemm</c> with the kernel <c>[In, Out]</c> as its B; after a Flatten that the export leaves in channels-first order, the
    /// kernel's rows are permuted to that order (ConvGen's row <c>(position, channel)</c> is ONNX's <c>(channel, position)</c>).
    /// </summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        var kernel = Kernel.Value.Values;
        var weights = kernel.ToArray();
        if (onnx.IsFlattenedChannelsFirst(0, out var flattened))
        {
            int channels = flattened[flattened.Rank - 1], positions = flattened.Size / channels;
            for (int q = 0; q < positions; q++)
                for (int c = 0; c < channels; c++)
                    kernel.Slice((q * channels + c) * Units, Units).CopyTo(weights.AsSpan((c * positions + q) * Units, Units));
        }
        var inputs = new System.Collections.Generic.List<string> { onnx.Input(), onnx.Initializer("kernel", [_inputs, Units], weights) };
        if (Bias is { } bias) inputs.Add(onnx.Initializer("bias", [Units], bias.Value.Values));
        string linear = onnx.LinearOutput(Activation);
        onnx.Node("Gemm", [.. inputs], linear);
        onnx.Activate(Activation, linear, onnx.Output);
    }

    private int _inputs;

    /// <summary>Creates a dense layer with <paramref name="units"/> outputs; its weights are created when a model is built.</summary>
    /// <param name="units">Outputs per sample (at least 1).</param>
    /// <param name="activation">The activation fused into the layer.</param>
    /// <param name="useBias">Whether the layer adds a bias.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="units"/> is less than 1, or <paramref name="activation"/> is not defined.</exception>
    public Dense(int units, Activation activation = Activation.None, bool useBias = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(units, 1);
        if (!Enum.IsDefined(activation))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        Units = units;
        Activation = activation;
        UseBias = useBias;
    }

    /// <inheritdoc/>
    protected override string BaseName => "dense";

    /// <summary>Outputs per sample.</summary>
    public int Units { get; }

    /// <summary>The fused activation.</summary>
    public Activation Activation { get; }

    /// <summary>Whether the layer adds a bias.</summary>
    public bool UseBias { get; }

    /// <summary>The kernel <c>(features, units)</c>, row-major: <c>W[i, j]</c> connects input <c>i</c> to output <c>j</c>.</summary>
    /// <exception cref="InvalidOperationException">No model has been built with this layer.</exception>
    public Parameter Kernel => Parameters.Count > 0 ? Parameters[0] : throw NotBuilt();

    /// <summary>The bias <c>(units,)</c>, or null when the layer has no bias.</summary>
    /// <exception cref="InvalidOperationException">The layer uses a bias but no model has been built with it.</exception>
    public Parameter? Bias => !UseBias ? null : Parameters.Count > 1 ? Parameters[1] : throw NotBuilt();

    /// <inheritdoc/>
    protected internal override Activation OutputActivation => Activation;

    /// <inheritdoc/>
    protected internal override int ForwardPhases => (SumsInHalves ? 2 : 1) + (Activation == Activation.Softmax ? 1 : 0);

    /// <summary>
    /// Whether inference sums the kernel's rows in two halves, <c>y = (b + Σ_{i &lt; H} x_i·W_i) + Σ_{i ≥ H} x_i·W_i</c> with
    /// <c>H = features / 2</c> (each half in increasing <c>i</c>, the second from zero), on every path, thread count and batch
    /// size, so the bits never depend on them: for a kernel of at least <see cref="SampleSplitWeights"/> (the layers whose
    /// forward pass splits one sample between threads). Then one sample's product splits between two threads by rows of the
    /// kernel, each reading its half in place, whole rows, and leaving out the rows that zero inputs multiply: a split by
    /// columns took part of every row (a skipped row was a 256-byte gap the prefetchers fetch anyway). The second half's sums
    /// wait in <see cref="NodeContext.Kept"/> for phase 1, which adds them and applies the activation. Training sums in one
    /// pass (its forward pass splits by samples), so a training forward pass and <c>Predict</c> may differ in the last bits.
    /// The tutorial's 3136 × 1024 layer, batch 1 on two threads: 20% more images a second split by rows (5 alternating
    /// processes, a prototype without the phase that adds the halves).
    /// </summary>
    private bool SumsInHalves => SplitsWithinSample && _inputs >= 2;

    /// <summary>How many runs of kernel rows inference sums separately: 2 with <see cref="SumsInHalves"/>, else 1.</summary>
    private int RowRuns => SumsInHalves ? 2 : 1;

    /// <summary>Kernel rows <c>[k0, k1)</c> of run <paramref name="h"/> (see <see cref="RowRuns"/>): a half, or all of them.</summary>
    private (int K0, int K1) RowRun(int h) => !SumsInHalves ? (0, _inputs) : h == 0 ? (0, _inputs / 2) : (_inputs / 2, _inputs);

    /// <inheritdoc/>
    protected internal override int BackwardPhases => Activation != Activation.None ? 2 : 1;

    /// <inheritdoc/>
    internal override bool AcceptsFoldedNormalization => true;

    /// <summary>
    /// The forward pass splits one sample between the threads too (by halves of the kernel's rows, see <see cref="SumsInHalves"/>),
    /// for a kernel of at least <see cref="SampleSplitWeights"/>; a smaller one costs less than the threads' wait for each other.
    /// </summary>
    protected internal override bool SplitsWithinSample => (long)_inputs * Units >= SampleSplitWeights;

    /// <summary>
    /// 256K weights (1 MB), about 20 µs of streaming on one core here. LeNet-5's Dense layers (48K weights and less) split for
    /// one image made its two-thread inference slower: 26,715-27,576 against 34,612-35,408 images/s side by side.
    /// </summary>
    private const int SampleSplitWeights = 1 << 18;

    /// <summary>
    /// For inference of <see cref="Gemm.PackMinRows"/> rows or more, or of fewer on more than one part (threads splitting the
    /// columns) when the layer does not sum in halves (<see cref="SumsInHalves"/>): the kernel as a panel, in blocks of
    /// <see cref="Gemm.PanelColumns"/> columns whose rows are adjacent (<see cref="Gemm.PackPanel"/>; the block of columns
    /// <c>[j, j + 64)</c> at <c>_inputs · j</c>, or one such panel per half, see <see cref="Panel"/>), and the threads split the columns at block boundaries, so each streams
    /// weights of its own, block by block, summing in registers. Read in place, each thread took part of every kernel row, and
    /// the hardware prefetchers fetched the rest of the row too (a matrix-vector product on two threads ran slower than on
    /// one), and each row of the output went through memory every 4 kernel rows. The panel holds the same values, each output
    /// adds them in the same order, so the results keep their bits. With <see cref="Gemm.PackMinRows"/> rows or more, the
    /// GEMM's register tiles run on the panel as it is, where the GEMM would copy the kernel into its own panels on every call.
    /// The layout does not depend on the thread count: a block is copied again only when the weights (or the folding) changed.
    /// On one part with fewer rows, or by halves, the kernel is read in place, its rows whole (<see cref="Gemm.AddAB"/>): a row the input's
    /// zero leaves out (after a ReLU) is then a contiguous stretch (4 KiB, a page, for 1024 units) that no prefetcher fetches,
    /// where in the panel's blocks it is a 256-byte gap between rows that are read. The tutorial's batch-1 inference on one
    /// thread: 8% more images a second in place than on the panel (10 alternating processes), 12% at batch 4 (5).
    /// </summary>
    private float[]? _panels;

    /// <summary>For each block of the panel, the weights version and weights (folded or not) it was made from, and in the last bit whether it has an infinity or NaN.</summary>
    private long[]? _panelKeys;

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        var input = build.InputShape;
        if (input.Rank != 1)
        {
            string hint = input.Rank > 1
                ? $"{build.LayerName} takes one feature vector per sample; add a Flatten layer before it to turn {input} into ({input.Size},)"
                : $"{build.LayerName} takes one feature vector per sample";
            throw build.Mismatch(0, "(features,)", hint);
        }
        _inputs = input[0];
        // The pre-activation for the backward pass in training; the second half's sums in inference (SumsInHalves).
        if (Activations.NeedsPreActivation(Activation) || SumsInHalves) build.KeepPerSample = Units;
        build.AddParameter("kernel", new Shape(_inputs, Units), new GlorotUniform(), _inputs, Units);
        if (UseBias) build.AddParameter("bias", new Shape(Units), new Zeros(), _inputs, Units);
        return new Shape(Units);
    }

    /// <summary>
    /// Columns <c>[j0, j1)</c> of <c>activation(x·W + b)</c> for the whole batch: each thread reads only its slice of the weights.
    /// In inference with <see cref="SumsInHalves"/>, phase 0 sums the two halves (by columns on the panel, or on fewer than
    /// <see cref="Gemm.PackMinRows"/> rows one half a thread, in place) and phase 1 adds them and applies the activation.
    /// A softmax needs whole rows: then the last phase applies it to this part's samples.
    /// </summary>
    protected internal override void RunForward(in NodeContext c)
    {
        if (Activation == Activation.Softmax && c.Phase == ForwardPhases - 1)
        {
            var (s, e) = c.Rows;
            Activations.ApplyFused(c, Activation, s * Units, (e - s) * Units);
            return;
        }
        bool halves = SumsInHalves && !c.Training;
        if (c.Phase == 1)
        {
            if (halves) FinishHalves(c);
            return; // training: phase 0 did everything
        }
        int rows = c.Batch;
        var y = c.Output;
        // Without a bias of its own, a folded BatchNormalization's bias (inference), else none.
        var bias = UseBias ? c.Parameter(1) : c.FoldedBias;
        // Inference reads the kernel as a panel, but in place with fewer than 8 rows: on one part (see _panels), or by halves.
        bool inPlace = !c.Training && rows < Gemm.PackMinRows && (halves || c.Parts == 1);
        if (halves && inPlace)
        {
            // One half a part (both on one part); parts past the second have nothing to do here.
            if (c.Parts == 1)
            {
                SumHalfInPlace(c, 0, bias);
                SumHalfInPlace(c, 1, bias);
            }
            else if (c.Part < 2)
                SumHalfInPlace(c, c.Part, bias);
            return;
        }
        bool panel = !c.Training && !inPlace;
        var (j0, j1) = Parallelism.Split(Units, c.Parts, c.Part, panel ? Gemm.PanelColumns : 2 * Simd.Lanes);
        int width = j1 - j0;
        if (width <= 0) return;
        if (panel)
        {
            var panels = Panel(c, j0, j1, out bool finite);
            for (int h = 0; h < RowRuns; h++) // panel implies inference, so RowRuns is 2 exactly when halves
            {
                var (k0, k1) = RowRun(h);
                var sums = h == 0 ? y : c.Kept;
                StartSums(sums, rows, j0, width, h == 0 ? bias : default);
                Gemm.AddAPanel(rows, width, k1 - k0, c.Input().Slice(k0), _inputs, panels.Slice(k0 * Units + (k1 - k0) * j0, (k1 - k0) * width), sums.Slice(j0), Units, skipZeros: finite);
            }
            if (halves) return; // phase 1 adds the halves and applies the activation
        }
        else
        {
            StartSums(y, rows, j0, width, bias);
            Gemm.AddAB(rows, width, _inputs, c.Input(), _inputs, c.Parameter(0).Slice(j0), Units, y.Slice(j0), Units, skipZeros: inPlace && KernelIsFinite(c));
        }
        Activate(c, rows, j0, width);
    }

    /// <summary>
    /// Half <paramref name="h"/>'s sums over every column, reading the kernel in place and leaving out the rows that zero
    /// inputs multiply (when the kernel is finite): the first half's from the bias into the output, the second's from zeros into
    /// <see cref="NodeContext.Kept"/>.
    /// </summary>
    private void SumHalfInPlace(in NodeContext c, int h, ReadOnlySpan<float> bias)
    {
        var (k0, k1) = RowRun(h);
        var sums = h == 0 ? c.Output : c.Kept;
        StartSums(sums, c.Batch, 0, Units, h == 0 ? bias : default);
        Gemm.AddAB(c.Batch, Units, k1 - k0, c.Input().Slice(k0), _inputs, c.Parameter(0).Slice(k0 * Units), Units, sums, Units, skipZeros: KernelIsFinite(c));
    }

    /// <summary>Columns <c>[j0, j0 + width)</c> of the first <paramref name="rows"/> rows of <paramref name="sums"/> set to <paramref name="bias"/>, or to zeros when it is empty.</summary>
    private void StartSums(Span<float> sums, int rows, int j0, int width, ReadOnlySpan<float> bias)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = sums.Slice(r * Units + j0, width);
            if (bias.IsEmpty) row.Clear();
            else bias.Slice(j0, width).CopyTo(row);
        }
    }

    /// <summary>Phase 1 with <see cref="SumsInHalves"/>: this part's columns of the first half's sums (in the output) plus the second's (kept), then the activation.</summary>
    private void FinishHalves(in NodeContext c)
    {
        var (j0, j1) = Parallelism.Split(Units, c.Parts, c.Part, 2 * Simd.Lanes);
        int rows = c.Batch, width = j1 - j0;
        if (width <= 0) return;
        var y = c.Output;
        var second = c.Kept;
        for (int r = 0; r < rows; r++)
        {
            var row = y.Slice(r * Units + j0, width);
            TensorPrimitives.Add(row, second.Slice(r * Units + j0, width), row);
        }
        Activate(c, rows, j0, width);
    }

    /// <summary>A folded activation layer, then the fused activation (but a softmax, which the last phase applies), on columns <c>[j0, j0 + width)</c> of every row.</summary>
    private void Activate(in NodeContext c, int rows, int j0, int width)
    {
        var y = c.Output;
        if (c.FoldsActivation)
            for (int r = 0; r < rows; r++) c.FinishFolded(y.Slice(r * Units + j0, width));
        if (Activation == Activation.Softmax) return;
        for (int r = 0; r < rows; r++) Activations.ApplyFused(c, Activation, r * Units + j0, width);
    }

    /// <summary>Whether the kernel (folded or not) has no infinity or NaN, checked once per weights version (the parts that read it in place may ask at once: each gets the same answer).</summary>
    private bool KernelIsFinite(in NodeContext c)
    {
        long key = WeightsKey(c);
        long known = Volatile.Read(ref _kernelFinite);
        if ((known & ~1L) != key)
        {
            known = key + (Finite.All(c.Parameter(0)) ? 0 : 1);
            Volatile.Write(ref _kernelFinite, known);
        }
        return (known & 1) == 0;
    }

    /// <summary>The weights version and folding as a key whose last bit is free (for "has an infinity or NaN").</summary>
    private static long WeightsKey(in NodeContext c) => (c.WeightsVersion * 2 + (c.Folded ? 1 : 0)) * 2;

    /// <summary>The weights version and folding <see cref="KernelIsFinite"/> last checked, and in the last bit whether the kernel had an infinity or NaN.</summary>
    private long _kernelFinite = -2;

    /// <summary>
    /// The panel, with the blocks of columns <c>[j0, j1)</c> (<paramref name="j0"/> a block boundary, <paramref name="j1"/> one or
    /// the end) copied again when the weights or the folding changed since they were made; <paramref name="finite"/>: no
    /// infinity or NaN among them (the product may then skip the inputs that are zero). With <see cref="SumsInHalves"/> each
    /// half of the kernel's rows is a panel of its own: rows <c>[k0, k1)</c> at <c>k0 · Units</c>, its block of columns
    /// <c>[j, j + 64)</c> at <c>(k1 − k0) · j</c> from there; else the one panel's block at <c>features · j</c>.
    /// </summary>
    private ReadOnlySpan<float> Panel(in NodeContext c, int j0, int j1, out bool finite)
    {
        // The parts run at once: the first to get here allocates, the others take its arrays; each part then writes only its own blocks.
        var array = Volatile.Read(ref _panels) ?? Interlocked.CompareExchange(ref _panels, Buffers.NewAligned(_inputs * Units), null) ?? _panels!;
        var panels = Buffers.AlignedSpan(array, 0, _inputs * Units);
        var keys = Volatile.Read(ref _panelKeys) ?? Interlocked.CompareExchange(ref _panelKeys, NewKeys(), null) ?? _panelKeys!;
        long key = WeightsKey(c);
        finite = true;
        for (int q0 = j0; q0 < j1; q0 += Gemm.PanelColumns)
        {
            int q = q0 / Gemm.PanelColumns, w = Math.Min(Gemm.PanelColumns, Units - q0);
            if ((keys[q] & ~1L) != key)
            {
                bool blockFinite = true;
                for (int h = 0; h < RowRuns; h++)
                {
                    var (k0, k1) = RowRun(h);
                    int k = k1 - k0;
                    blockFinite &= Gemm.PackPanel(c.Parameter(0).Slice(k0 * Units + q0), Units, k, w, panels.Slice(k0 * Units + k * q0, k * w));
                }
                keys[q] = key + (blockFinite ? 0 : 1);
            }
            finite &= (keys[q] & 1) == 0;
        }
        return panels;

        long[] NewKeys()
        {
            var keys = new long[(Units + Gemm.PanelColumns - 1) / Gemm.PanelColumns];
            Array.Fill(keys, -2L);
            return keys;
        }
    }

    /// <summary>
    /// With an activation, phase 0 applies its backward to the output gradient (each thread its samples). Then: weight-gradient rows <c>[i0, i1)</c>
    /// (<c>dW += xᵀ·dy</c>) and bias columns over the whole batch, and the input gradient <c>dy·Wᵀ</c> of this thread's samples.
    /// </summary>
    protected internal override void RunBackward(in NodeContext c)
    {
        int rows = c.Batch;
        var dy = c.OutputGradient;
        if (BackwardPhases == 2 && c.Phase == 0)
        {
            var (s0, e0) = c.Rows;
            Activations.BackwardFused(c, Activation, s0 * Units, (e0 - s0) * Units);
            return;
        }
        var (i0, i1) = Parallelism.Split(_inputs, c.Parts, c.Part, 4);
        if (i1 > i0) Gemm.AddAtB(i1 - i0, Units, rows, c.Input().Slice(i0), _inputs, dy, Units, c.Gradient(0).Slice(i0 * Units), Units);
        if (UseBias)
        {
            var (j0, j1) = Parallelism.Split(Units, c.Parts, c.Part, Simd.Lanes);
            if (j1 > j0)
            {
                var db = c.Gradient(1).Slice(j0, j1 - j0);
                for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, dy.Slice(r * Units + j0, j1 - j0), db);
            }
        }
        if (!c.ComputesInputGradient()) return;
        var (s, e) = c.Rows;
        if (e <= s) return;
        var dx = c.InputGradient().Slice(s * _inputs, (e - s) * _inputs);
        if (!c.AccumulatesInputGradient()) dx.Clear();
        Gemm.AddABt(e - s, _inputs, Units, dy.Slice(s * Units, (e - s) * Units), Units, c.Parameter(0), Units, dx, _inputs);
    }

    private InvalidOperationException NotBuilt() => new($"{Name} has no weights yet: build a model with it first.");

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: Dense({Units}, {Activation})";
}
