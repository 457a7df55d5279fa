using System;

namespace ConvGen;

/// <summary>
/// What a layer's kernel works on in one call: the current batch's inputs, output and gradients in the model's planned
/// buffers, the layer's parameters, and which part of the work this thread does. Built by the model for every call; it
/// allocates nothing.
/// </summary>
/// <remarks>
/// Every span covers the whole batch (<see cref="Batch"/> samples); a part takes its share, usually the samples in
/// <see cref="Rows"/>. Parts of one phase run at the same time, so each writes only what it owns.
/// </remarks>
public readonly struct NodeContext
{
    private readonly Model _model;
    private readonly Model.Node _node;
    private readonly int _first, _count, _scratchPart;
    private readonly bool _chunkBuffers;

    /// <summary>Part <paramref name="part"/> of <paramref name="parts"/> of the whole batch.</summary>
    internal NodeContext(Model model, Model.Node node, int phase, int part, int parts)
        : this(model, node, phase, part, parts, 0, model.CurrentBatch, part, chunkBuffers: false)
    {
    }

    /// <summary>
    /// Part <paramref name="part"/> of <paramref name="parts"/> of the samples <c>[first, first + count)</c> of the batch, which the
    /// forward spans then cover as if they were the whole batch (depth-first inference), using part
    /// <paramref name="scratchPart"/>'s scratch and, with <paramref name="chunkBuffers"/>, its chunk buffers for the slots the
    /// depth-first plan keeps there.
    /// </summary>
    internal NodeContext(Model model, Model.Node node, int phase, int part, int parts, int first, int count, int scratchPart, bool chunkBuffers)
    {
        _chunkBuffers = chunkBuffers;
        _model = model;
        _node = node;
        Phase = phase;
        Part = part;
        Parts = parts;
        _first = first;
        _count = count;
        _scratchPart = scratchPart;
    }

    /// <summary>The phase of the layer's pass being run (0 unless the layer has several).</summary>
    public int Phase { get; }

    /// <summary>Which part of the phase this call does, in <c>[0, Parts)</c>; part 0 runs on the calling thread.</summary>
    public int Part { get; }

    /// <summary>How many parts the phase is split into: the thread count, at most the batch, unless the layer
    /// <see cref="Layer.SplitsWithinSample"/> (then, in its forward phases, every thread; parts past the last sample get empty <see cref="Rows"/>).</summary>
    public int Parts { get; }

    /// <summary>
    /// Samples in the current batch: in <c>Predict</c> and <c>Evaluate</c>, where a worker may run several layers on a few samples
    /// at a time, those samples (every activation span then starts at the first of them).
    /// </summary>
    public int Batch => _count;

    /// <summary>The samples <c>[Start, End)</c> this part owns: the batch split into <see cref="Parts"/> nearly equal chunks.</summary>
    public (int Start, int End) Rows => Parallelism.ChunkRange(_count, Parts, Part);

    /// <summary>The samples of the whole pass (<see cref="Batch"/> is a depth-first chunk's while the leading layers run on chunks).</summary>
    internal int PassBatch => _model.CurrentBatch;

    /// <summary>Whether the model runs for training (dropout active, batch statistics) rather than inference.</summary>
    public bool Training => _model.CurrentTraining;

    /// <summary>
    /// Whether a backward pass may follow, so every output must be stored; false in <c>Predict</c> and <c>Evaluate</c>, where a
    /// layer that fuses the next layer's forward may skip storing its own output.
    /// </summary>
    public bool KeepActivations => _model.CurrentKeep;

    /// <summary>How many training forward passes the model has run since it was initialized, this one included.</summary>
    public long TrainingPass => _model.TrainingPasses;

    /// <summary>This layer's seed, derived from the model's: <c>seed * 1_000_003 + layer index</c>.</summary>
    public int Seed => _node.Seed;

    /// <summary>One sample of input <paramref name="index"/>.</summary>
    public Shape InputShape(int index = 0) => _node.InputShapes[index];

    /// <summary>One sample of the output.</summary>
    public Shape OutputShape => _node.OutputShape;

    /// <summary>Input <paramref name="index"/> for the whole batch.</summary>
    public ReadOnlySpan<float> Input(int index = 0) => SlotActivations(_node.InputSlots[index]);

    /// <summary>
    /// The output for the whole batch. For a layer with a BatchNormalization folded into it, in Predict and Evaluate: that
    /// layer's output, which the folded parameters compute.
    /// </summary>
    public Span<float> Output => SlotActivations(Folded ? (_node.FoldedAdd ?? _node.FoldedActivation ?? _node.FoldedNormalization!).OutputSlot : _node.OutputSlot);

    /// <summary>Slot <paramref name="slot"/>'s activations for this call's samples.</summary>
    private Span<float> SlotActivations(int slot) => _chunkBuffers
        ? _model.ChunkActivations(slot, _first, _count, _scratchPart)
        : _model.SlotActivations(slot, _first, _count);

    /// <summary>
    /// The output of the next layer, whose forward this layer computes (see <see cref="Layer.CanFuseForward"/>); empty when it
    /// fuses nothing.
    /// </summary>
    public Span<float> FusedOutput => _node.FusedNext is { } next ? SlotActivations(next.OutputSlot) : default;

    /// <summary>
    /// The layer's kept values for the whole batch, <see cref="LayerBuild.KeepPerSample"/> floats per sample, laid out like
    /// <see cref="Output"/> and kept from the forward to the backward pass (e.g. a fused SiLU's pre-activation); empty when
    /// the layer keeps nothing. Write it only when <see cref="KeepActivations"/>.
    /// </summary>
    public Span<float> Kept => _node.KeptSlot > 0 ? SlotActivations(_node.KeptSlot) : default;

    /// <summary>The gradient of the loss with respect to the output, for the whole batch. A layer may change it in place (its activation's backward).</summary>
    public Span<float> OutputGradient => _model.SlotGradients(_node.OutputSlot);

    /// <summary>Whether the consumer of this layer's output already applied this layer's <see cref="Layer.OutputActivation"/> to <see cref="OutputGradient"/>.</summary>
    public bool OutputGradientMasked => _node.MaskedByConsumer;

    /// <summary>Whether the model needs the gradient of input <paramref name="index"/> (not for the model's input, unless asked for).</summary>
    public bool ComputesInputGradient(int index = 0) => _node.InputSlots[index] != 0 || _model.InputGradientRequested;

    /// <summary>Whether input <paramref name="index"/>'s gradient must be added to what another consumer of that input already wrote, rather than written.</summary>
    public bool AccumulatesInputGradient(int index = 0) => _node.AccumulateInput[index];

    /// <summary>
    /// Whether to apply input <paramref name="index"/>'s ReLU while writing its gradient (zero where that input is not positive),
    /// for a layer that <see cref="Layer.FoldsInputRelu"/>.
    /// </summary>
    public bool FoldsInputRelu(int index = 0) => _node.FoldRelu[index];

    /// <summary>The gradient of input <paramref name="index"/> for the whole batch.</summary>
    public Span<float> InputGradient(int index = 0) => _model.SlotGradients(_node.InputSlots[index]);

    /// <summary>All of the layer's parameters, in declaration order, one after another (folded, see <see cref="Parameter"/>).</summary>
    public ReadOnlySpan<float> Weights => Folded ? _model.FoldedWeights(_node) : _model.ParameterSpan(_node.ParameterOffset, _node.ParameterCount);

    /// <summary>
    /// Parameter <paramref name="index"/> in declaration order. For a layer with a BatchNormalization folded into it, in Predict
    /// and Evaluate: the kernel and bias with the normalization folded in (see <see cref="Layer.AcceptsFoldedNormalization"/>).
    /// </summary>
    public ReadOnlySpan<float> Parameter(int index) => Folded
        ? _model.FoldedParameter(_node, index)
        : _model.ParameterSpan(_node.ParameterOffsets[index], _node.ParameterDeclarations[index].Shape.Size);

    /// <summary>
    /// Whether this forward pass runs the layer with a BatchNormalization folded into it (Predict and Evaluate, see
    /// <see cref="Layer.AcceptsFoldedNormalization"/>).
    /// </summary>
    internal bool Folded => _model.CurrentFolded && _node.FoldedNormalization is not null;

    /// <summary>Whether this pass may run a convolution with Winograd's algorithm: inference that keeps no activations, the model allowing it.</summary>
    internal bool UsesWinograd => !Training && !KeepActivations && _model.UsesWinograd;

    /// <summary>The model's <see cref="Model.WeightsVersion"/>: data a layer derives from its weights is current if made at this version.</summary>
    internal long WeightsVersion => _model.WeightsVersion;

    /// <summary>Whether this forward pass applies a folded activation layer (<see cref="Model.Node.FoldedActivation"/>) to its output.</summary>
    internal bool FoldsActivation => Folded && _node.FoldedActivation is not null;

    /// <summary>
    /// The activation a kernel can apply as it stores its output, when the folded activation layer (<see cref="FoldsActivation"/>)
    /// is a <see cref="ConvGen.ReLU"/> or <see cref="ConvGen.ReLU6"/>; <see cref="Activation.None"/> otherwise.
    /// </summary>
    internal Activation FoldedKernelActivation => !FoldsActivation ? Activation.None : _node.FoldedActivation!.Layer switch
    {
        ReLU => Activation.ReLU,
        ReLU6 => Activation.ReLU6,
        _ => Activation.None,
    };

    /// <summary>
    /// Whether this forward pass adds a folded residual <see cref="Add"/>'s other input (<see cref="Residual"/>) to its output, then
    /// applies the Add's activation (<see cref="ResidualActivation"/>), writing the Add's output (<see cref="Model.Node.FoldedAdd"/>).
    /// </summary>
    internal bool FoldsResidual => Folded && _node.FoldedAdd is not null;

    /// <summary>With <see cref="FoldsResidual"/>: the residual for the whole batch, laid out as <see cref="Output"/>.</summary>
    internal ReadOnlySpan<float> Residual => SlotActivations(_node.ResidualSlot);

    /// <summary>With <see cref="FoldsResidual"/>: the folded Add's activation (None, ReLU or ReLU6).</summary>
    internal Activation ResidualActivation => ((Add)_node.FoldedAdd!.Layer).Activation;

    /// <summary>
    /// For a layer with a BatchNormalization and an activation folded into it (<see cref="FoldsActivation"/>), on part of its
    /// output just written (whole pixels, still in cache): applies the activation.
    /// </summary>
    internal void FinishFolded(Span<float> y) => ((ElementwiseLayer)_node.FoldedActivation!.Layer).ForwardInPlace(y);

    /// <summary>
    /// For a layer with a BatchNormalization and a residual Add folded into it (<see cref="FoldsResidual"/>) whose kernel did
    /// not add the residual, on part of its output just written (whole pixels, still in cache) and the residual at the same
    /// place: adds it and applies the Add's activation, as the Add's own pass would.
    /// </summary>
    internal void FinishResidual(Span<float> y, ReadOnlySpan<float> residual)
    {
        System.Numerics.Tensors.TensorPrimitives.Add(y, residual, y);
        Activations.Forward(ResidualActivation, y, y, OutputShape[OutputShape.Rank - 1]);
    }

    /// <summary>
    /// When <see cref="Folded"/>: the folded bias, one value per output channel, which a layer without a bias of its own gives its
    /// kernel to start its sums at (a layer with one reads it as <see cref="Parameter"/> 1). Empty otherwise.
    /// </summary>
    internal ReadOnlySpan<float> FoldedBias => Folded ? _model.FoldedBias(_node) : default;

    /// <summary>The gradients of all the layer's parameters, laid out like <see cref="Weights"/>.</summary>
    public Span<float> Gradients => _model.GradientSpan(_node.ParameterOffset, _node.ParameterCount);

    /// <summary>The gradient of parameter <paramref name="index"/>.</summary>
    public Span<float> Gradient(int index) => _model.GradientSpan(_node.ParameterOffsets[index], _node.ParameterDeclarations[index].Shape.Size);

    /// <summary>State tensor <paramref name="index"/> in declaration order.</summary>
    public Span<float> State(int index) => _model.StateSpan(_node.StateOffsets[index], _node.StateDeclarations[index].Shape.Size);

    /// <summary>This part's scratch: <see cref="LayerBuild.ScratchPerThread"/> floats, kept between this layer's phases.</summary>
    public Span<float> Scratch => _model.Scratch(_scratchPart, _node.ScratchSize);

    /// <summary>Part <paramref name="part"/>'s scratch, e.g. to sum the parts' gradients in a later phase.</summary>
    public Span<float> ScratchOf(int part) => _model.Scratch(part == Part ? _scratchPart : part, _node.ScratchSize);

    /// <summary>
    /// The second backward phase of a layer whose parts other than 0 wrote their parameter gradients into their scratch: this part
    /// adds its slice of the first <paramref name="count"/> gradients of every other part's scratch, in part order (so the sum is the
    /// same at every run), into <see cref="Gradients"/>.
    /// </summary>
    public void AddPartGradients(int count)
    {
        if (Parts == 1) return;
        var (from, to) = Parallelism.Split(count, Parts, Part, grain: 16);
        var total = Gradients.Slice(from, to - from);
        for (int q = 1; q < Parts; q++) System.Numerics.Tensors.TensorPrimitives.Add(total, ScratchOf(q).Slice(from, to - from), total);
    }
}
