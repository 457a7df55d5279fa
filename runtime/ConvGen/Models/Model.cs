using System;
using System.Collections.Generic;
using System.Linq;

namespace ConvGen;

/// <summary>
/// The one model core of ConvGen. A model is a graph of layers (<see cref="Layer"/>), each reading the previous layer's output or
/// the outputs it names, planned once and then run many times:
/// <list type="bullet">
/// <item>every trainable parameter in one buffer (<see cref="ParameterBuffer"/>), every gradient in another
/// (<see cref="GradientBuffer"/>), non-trainable state in a third, so zeroing the gradients and an optimizer step are one loop each;</item>
/// <item>one activation buffer and one gradient buffer per layer output, planned for the batch capacity, so after the first
/// step a training step allocates nothing;</item>
/// <item>one executor: each layer's phases split over persistent worker threads (<see cref="Parallelism.Threads"/>).</item>
/// </list>
/// <see cref="Sequential"/> builds the graph from layers given at run time; a compiled network (<see cref="CompiledNetwork"/>)
/// is the same core whose layers run kernels the generator specialized to every size. Both train, predict, evaluate, save and
/// load through the members here.
/// </summary>
/// <remarks>
/// <para>
/// <b>Threads.</b> <see cref="Predict"/>, <see cref="Evaluate"/> and <see cref="SaveWeights"/> may be called from any number of
/// threads at once: they take turns on a lock held by the model, and give the same answers as serial calls. Every other call
/// that runs the layers or changes the model (<c>TrainStep</c>, <see cref="Fit"/>, <see cref="Forward"/>, <see cref="Backward"/>,
/// <see cref="LoadWeights"/>, <see cref="Compile"/>, building) needs the model to itself: while it runs, a call from another
/// thread throws <see cref="InvalidOperationException"/>, and it throws the same way if another thread is inside a call.
/// </para>
/// <para>
/// <b>Seeds.</b> Layer <c>i</c> (0-based, in order) draws its initial weights from <c>new Random(seed * 1_000_003 + i)</c>, each
/// parameter in declaration order, so a Sequential and a compiled network of the same layers start from the same weights.
/// </para>
/// </remarks>
public abstract partial class Model
{
    private readonly ModelGate _gate;
    private Node[] _nodes = [];
    private Layer[] _layers = [];
    private string[] _names = [];
    private Shape _inputShape;
    private int _outputSlot;
    private int[] _slotSizes = [];
    /// <summary>Each slot's activations (<see cref="Buffers.NewAligned"/>, read through <see cref="Buffers.AlignedSpan"/>): a sample's first element at a 64-byte boundary when the slot's size is a multiple of 16 floats.</summary>
    private float[][] _activations = [];
    private float[][] _deltas = [];
    private float[] _parameters = [], _gradients = [], _state = [];
    private Parameter[] _parameterViews = [];
    private Parameter[] _whole = [];
    private (string Name, Tensor Tensor)[] _namedParameters = [], _namedWeights = [];
    private int _capacity;
    private bool _fixedCapacity;
    private ModelNode[] _graph = [];

    private protected Model() => _gate = new ModelGate(GetType().Name, WeightsWritten);

    /// <summary>Takes the model for a call that changes it (see the thread contract above).</summary>
    private protected ModelGate.Scope EnterExclusive(string operation) => _gate.EnterExclusive(operation);

    /// <summary>The layers changed: the plan no longer holds until the model is built again.</summary>
    private protected void MarkNotBuilt() => IsBuilt = false;

    /// <summary>Whether the graph has been planned (a <see cref="Sequential"/> after <see cref="Sequential.Build"/>; a compiled network always).</summary>
    public bool IsBuilt { get; private set; }

    /// <summary>The layers, in order.</summary>
    public virtual IReadOnlyList<Layer> Layers => _layers;

    /// <summary>One input sample, without the batch dimension.</summary>
    public Shape InputShape => IsBuilt ? _inputShape : throw NotBuilt();

    /// <summary>One output sample (the last layer's), without the batch dimension.</summary>
    public Shape OutputShape => IsBuilt ? _nodes[^1].OutputShape : throw NotBuilt();

    /// <summary>Each layer's output shape for one sample, in layer order.</summary>
    public IReadOnlyList<Shape> OutputShapes => _nodes.Select(n => n.OutputShape).ToArray();

    /// <summary>The planned graph, layer by layer: inputs, output shapes, parameter counts and fusions.</summary>
    public IReadOnlyList<ModelNode> Nodes => _graph;

    /// <summary>The unique layer names, in order (<c>conv2d</c>, <c>conv2d_1</c>, <c>dense</c>, ..., or the names set on the layers).</summary>
    public IReadOnlyList<string> LayerNames => _names;

    /// <summary>The largest batch the buffers are planned for now. A compiled network's is fixed at construction; a Sequential's grows to the largest batch it has run.</summary>
    public int MaxBatchSize => _capacity;

    /// <summary>Total trainable parameters.</summary>
    public long ParameterCount => _parameters.Length;

    /// <summary>Total non-trainable state values (moving statistics), saved with the weights.</summary>
    public long StateCount => _state.Length;

    /// <summary>Every trainable parameter, layer after layer, each layer's in declaration order (kernel, then bias), in one buffer.</summary>
    /// <remarks>A writable view ConvGen cannot watch: from then on <c>Predict</c> and <c>Evaluate</c> recompute what they derive from the weights on every call (see <see cref="Tensor.Span"/>).</remarks>
    public Span<float> ParameterBuffer
    {
        get
        {
            WeightsExposed();
            return _parameters;
        }
    }

    /// <summary>The gradients, laid out like <see cref="ParameterBuffer"/>.</summary>
    public Span<float> GradientBuffer => _gradients;

    /// <summary>The non-trainable state (moving statistics) of every layer, layer after layer, in one buffer.</summary>
    /// <remarks>A writable view ConvGen cannot watch, as <see cref="ParameterBuffer"/> is.</remarks>
    public Span<float> StateBuffer
    {
        get
        {
            WeightsExposed();
            return _state;
        }
    }

    /// <summary>Per-layer views (kernel, then bias) into <see cref="ParameterBuffer"/> and <see cref="GradientBuffer"/>: the trainable parameters only.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameterViews;

    /// <summary>Every trainable parameter as <c>layer/parameter</c>, e.g. <c>conv2d/kernel</c>, in layer order.</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> NamedParameters() => _namedParameters;

    /// <summary>
    /// Everything <see cref="SaveWeights"/> writes, in order: each layer's parameters, then its state (e.g.
    /// <c>batch_normalization/moving_mean</c>).
    /// </summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> NamedWeights() => _namedWeights;

    /// <summary>
    /// Managed bytes allocated so far by the worker threads models run on (the caller's thread not included; add
    /// <see cref="GC.GetAllocatedBytesForCurrentThread"/> for it). Two readings around a training step show what the step
    /// allocated on every thread it used, for a fixed <see cref="Parallelism.Threads"/>.
    /// </summary>
    public static long WorkerAllocatedBytes => WorkerPool.Shared.WorkerAllocatedBytes;

    /// <summary>
    /// Plans the graph of <paramref name="layers"/> for samples of <paramref name="inputShape"/>: resolves every layer's inputs,
    /// infers every shape, lays out parameters, state and buffers, and initializes the weights from <paramref name="seed"/>.
    /// </summary>
    /// <param name="inputShape">One input sample.</param>
    /// <param name="layers">The layers in order.</param>
    /// <param name="seed">The initialization seed.</param>
    /// <param name="capacity">Samples to plan the buffers for now.</param>
    /// <param name="fixedCapacity">Whether a larger batch is refused (compiled networks) rather than growing the buffers.</param>
    /// <param name="initialize">False leaves every weight and state value 0 (only the layers' seeds are set): for a caller that
    /// loads all of them next, or fails.</param>
    /// <exception cref="ArgumentException">A layer is null or used twice, names repeat, or an input names no earlier layer.</exception>
    /// <exception cref="ShapeMismatchException">A layer cannot take its input; the message names the layer, its input and both shapes.</exception>
    private protected void Plan(Shape inputShape, IReadOnlyList<Layer> layers, int seed, int capacity, bool fixedCapacity, bool initialize = true)
    {
        if (layers.Count == 0) throw new InvalidOperationException("The model has no layers; add some before building it.");
        if (inputShape.Rank == 0) throw new ArgumentException("The input shape needs at least one dimension, such as (28, 28, 1).", nameof(inputShape));
        var seen = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i] is null) throw new ArgumentException($"Layer {i} of {layers.Count} is null.", nameof(layers));
            if (!seen.Add(layers[i])) throw new ArgumentException($"Layer {i} ({layers[i].Name}) is the same object as an earlier layer; a layer can appear once in a model (create another for a second use).", nameof(layers));
            if (layers[i].Owner is { } owner && owner != this)
                throw new ArgumentException($"Layer {i} ({layers[i].Name}) belongs to another model, whose buffers hold its weights; a layer can be in one model (create another, and copy weights with SaveWeights/LoadWeights).", nameof(layers));
        }
        IsBuilt = false;
        var plan = ModelPlanner.Plan(inputShape, layers);

        _layers = [.. layers];
        _nodes = plan.Nodes;
        _names = plan.Nodes.Select(n => n.Name).ToArray();
        _inputShape = inputShape;
        _slotSizes = plan.SlotSizes;
        _outputSlot = _nodes[^1].OutputSlot;
        _steps = plan.Steps;
        _forwardSteps = plan.ForwardSteps;
        PlanFolding(plan);
        PlanDepthFirst();
        _scratchSize = plan.ScratchSize;
        _scratch = [];

        _parameters = new float[plan.ParameterCount];
        // Pinned (never moved by the GC), so data-parallel training can hand slices of it to native code that works in the background.
        _gradients = GC.AllocateArray<float>(plan.ParameterCount, pinned: true);
        _state = new float[plan.StateCount];
        _whole = _parameters.Length == 0 ? [] :
            [new Parameter("parameters", new Tensor(new Shape(_parameters.Length), _parameters) { WeightsOf = this }, new Tensor(new Shape(_gradients.Length), _gradients))
             {
                 // The variables in it, for per-variable rules (Optimizer.ClipNorm): the layers' parameters lie in order, back to back.
                 Variables = [.. _nodes.SelectMany(n => n.ParameterOffsets), plan.ParameterCount],
             }];
        var views = new List<Parameter>();
        var named = new List<(string, Tensor)>();
        var weights = new List<(string, Tensor)>();
        foreach (var node in _nodes)
        {
            var parameters = new Parameter[node.ParameterDeclarations.Length];
            for (int p = 0; p < parameters.Length; p++)
            {
                var d = node.ParameterDeclarations[p];
                parameters[p] = new Parameter(d.Name, new Tensor(d.Shape, _parameters, node.ParameterOffsets[p]) { WeightsOf = this }, new Tensor(d.Shape, _gradients, node.ParameterOffsets[p]));
                views.Add(parameters[p]);
                var entry = ($"{node.Name}/{d.Name}", parameters[p].Value);
                named.Add(entry);
                weights.Add(entry);
            }
            var state = new (string, Tensor)[node.StateDeclarations.Length];
            for (int s = 0; s < state.Length; s++)
            {
                var d = node.StateDeclarations[s];
                state[s] = (d.Name, new Tensor(d.Shape, _state, node.StateOffsets[s]) { WeightsOf = this });
                weights.Add(($"{node.Name}/{d.Name}", state[s].Item2));
            }
            node.Layer.Bind(this, node.Name, parameters, state);
        }
        _graph = _nodes.Select(n => new ModelNode(n.Index, n.Name, n.Layer,
            n.Inputs.Select(j => j < 0 ? LayerNaming.ModelInput : _names[j]).ToArray(), n.OutputShape,
            n.ParameterCount, n.StateDeclarations.Sum(d => (long)d.Shape.Size), n.Alias,
            n.ForwardFused ? _names[n.Index - 1] : null,
            n.MaskedByConsumer ? _names[n.Consumers[0]] : null, n.FoldedInto?.Name)).ToArray();
        _gradientsReadyFrom = GradientReadiness(plan.Steps, plan.ForwardSteps);
        _regularized = RegularizedKernels();
        _parameterViews = [.. views];
        _namedParameters = [.. named];
        _namedWeights = [.. weights];

        _fixedCapacity = fixedCapacity;
        _capacity = 0;
        _activations = new float[_slotSizes.Length][];
        _deltas = new float[_slotSizes.Length][];
        for (int s = 0; s < _slotSizes.Length; s++) _activations[s] = _deltas[s] = [];
        ResetCallState();
        if (capacity > 0) Allocate(capacity, nameof(capacity));
        IsBuilt = true;
        InitializeCore(seed, initialize);
    }

    /// <summary>
    /// Re-initializes every parameter and state tensor from <paramref name="seed"/>: layer <c>i</c> draws from
    /// <c>new Random(seed * 1_000_003 + i)</c>, each tensor in declaration order with its declared initializer (Keras' defaults:
    /// Glorot-uniform kernels, zero biases).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not built, or another thread is using it.</exception>
    public void Initialize(int seed)
    {
        using var scope = _gate.EnterExclusive(nameof(Initialize));
        if (!IsBuilt) throw NotBuilt();
        InitializeCore(seed);
    }

    private void InitializeCore(int seed, bool weights = true)
    {
        for (int i = 0; i < _nodes.Length; i++)
        {
            var node = _nodes[i];
            node.Seed = unchecked(seed * 1_000_003 + i);
            if (!weights) continue;
            var random = new Random(node.Seed);
            for (int p = 0; p < node.ParameterDeclarations.Length; p++)
            {
                var d = node.ParameterDeclarations[p];
                d.Initializer.Initialize(_parameters.AsSpan(node.ParameterOffsets[p], d.Shape.Size), d.FanIn, d.FanOut, random);
            }
            for (int s = 0; s < node.StateDeclarations.Length; s++)
            {
                var d = node.StateDeclarations[s];
                d.Initializer.Initialize(_state.AsSpan(node.StateOffsets[s], d.Shape.Size), d.FanIn, d.FanOut, random);
            }
        }
        TrainingPasses = 0;
    }

    /// <summary>Plans the activation and gradient buffers for <paramref name="capacity"/> samples.</summary>
    private void Allocate(int capacity, string paramName)
    {
        for (int s = 1; s < _slotSizes.Length; s++)
        {
            long size = (long)_slotSizes[s] * capacity;
            if (size > Array.MaxLength - Buffers.Slack)
                throw new ArgumentOutOfRangeException(paramName, capacity, $"{capacity} samples of {_slotSizes[s]} activations exceed the largest array; use a smaller batch.");
        }
        for (int s = 1; s < _slotSizes.Length; s++)
        {
            _activations[s] = Buffers.NewAligned(_slotSizes[s] * capacity);
            _deltas[s] = new float[_slotSizes[s] * capacity];
        }
        // A kept slot (a layer's own values from forward to backward) has no gradient.
        foreach (var node in _nodes)
            if (node.KeptSlot > 0) _deltas[node.KeptSlot] = [];
        if (_deltas[0].Length > 0) _deltas[0] = new float[_slotSizes[0] * capacity];
        _capacity = capacity;
        _outputView = _lossGradientView = null;
    }

    /// <summary>Makes room for <paramref name="batch"/> samples: refused beyond a fixed capacity, otherwise the buffers grow (once, not per step).</summary>
    private void EnsureCapacity(int batch, string paramName, Shape shape)
    {
        if (batch <= _capacity) return;
        if (_fixedCapacity)
            throw new ShapeMismatchException(paramName, $"a batch of 1 to {_capacity} samples (MaxBatchSize)", shape.ToString(),
                "construct the network with a larger maxBatchSize, or use Predict/Evaluate, which split the data");
        Allocate(batch, paramName);
    }

    // ------------------------------------------------------------------ what NodeContext reads

    internal int CurrentBatch { get; private set; }

    internal bool CurrentTraining { get; private set; }

    internal bool CurrentKeep { get; private set; }

    internal bool InputGradientRequested { get; private set; }

    internal long TrainingPasses { get; private set; }

    /// <summary>Slot <paramref name="slot"/>'s activations for the current batch (slot 0 is the caller's input).</summary>
    internal Span<float> SlotActivations(int slot) => SlotActivations(slot, 0, CurrentBatch);

    /// <summary>Slot <paramref name="slot"/>'s activations for samples <c>[first, first + count)</c> of the current batch.</summary>
    internal Span<float> SlotActivations(int slot, int first, int count) => slot == 0
        ? _input.AsSpan(_inputOffset + first * _slotSizes[0], count * _slotSizes[0])
        : Buffers.AlignedSpan(_activations[slot], first * _slotSizes[slot], count * _slotSizes[slot]);

    /// <summary>Slot <paramref name="slot"/>'s gradients for the current batch.</summary>
    internal Span<float> SlotGradients(int slot) => _deltas[slot].AsSpan(0, CurrentBatch * _slotSizes[slot]);

    /// <summary>Every parameter, for ConvGen's own reads (not a view handed to user code, unlike <see cref="ParameterBuffer"/>).</summary>
    internal ReadOnlySpan<float> ParameterValues => _parameters;

    /// <summary>The state, for ConvGen's own reads.</summary>
    internal ReadOnlySpan<float> StateValues => _state;

    /// <summary>Every parameter, for ConvGen's own writes (restoring the best weights): a new weights version, so what is derived from them is made again once.</summary>
    internal Span<float> WrittenParameters
    {
        get
        {
            WeightsWritten();
            return _parameters;
        }
    }

    /// <summary>The state, for ConvGen's own writes.</summary>
    internal Span<float> WrittenState
    {
        get
        {
            WeightsWritten();
            return _state;
        }
    }

    internal ReadOnlySpan<float> ParameterSpan(int offset, int count) => _parameters.AsSpan(offset, count);

    internal Span<float> GradientSpan(int offset, int count) => _gradients.AsSpan(offset, count);

    internal Span<float> StateSpan(int offset, int count) => _state.AsSpan(offset, count);

    internal Span<float> Scratch(int part, int size) => _scratch[part].AsSpan(0, size);

    private InvalidOperationException NotBuilt() =>
        new($"The {GetType().Name} is not built: call Build(inputShape, seed) after adding its layers.");

    /// <summary>One layer of the planned graph.</summary>
    internal sealed class Node
    {
        public required Layer Layer { get; init; }
        public required int Index { get; init; }
        public required string Name { get; init; }

        /// <summary>The producing layers of each input (-1 for the model's input).</summary>
        public required int[] Inputs { get; init; }
        public required int[] InputSlots { get; init; }
        public required Shape[] InputShapes { get; init; }
        public required Shape OutputShape { get; init; }
        public int OutputSlot { get; set; }

        /// <summary>The slot of the floats the layer keeps from forward to backward (<see cref="LayerBuild.KeepPerSample"/>), or 0 for none; it has no gradient.</summary>
        public int KeptSlot { get; set; }

        /// <summary>The output is the first input reinterpreted (Flatten): same buffers, no kernels.</summary>
        public bool Alias { get; init; }

        public required WeightDeclaration[] ParameterDeclarations { get; init; }
        public int[] ParameterOffsets { get; set; } = [];
        public int ParameterOffset { get; set; }
        public int ParameterCount { get; set; }
        public required WeightDeclaration[] StateDeclarations { get; init; }
        public int[] StateOffsets { get; set; } = [];
        public int ScratchSize { get; init; }

        public List<int> Consumers { get; } = [];

        /// <summary>Per input: whether its gradient adds to another consumer's (false: the first writer overwrites).</summary>
        public bool[] AccumulateInput { get; set; } = [];

        /// <summary>Per input: whether this layer applies the input's ReLU as it writes the input gradient.</summary>
        public bool[] FoldRelu { get; set; } = [];

        /// <summary>This layer's ReLU backward is done by its only consumer.</summary>
        public bool MaskedByConsumer { get; set; }

        /// <summary>The next layer, whose forward this layer computes; null when none is fused.</summary>
        public Node? FusedNext { get; set; }

        /// <summary>Whether the previous layer computes this layer's forward.</summary>
        public bool ForwardFused { get; set; }

        /// <summary>The BatchNormalization folded into this layer for inference (it reads only this layer), or null.</summary>
        public Node? FoldedNormalization { get; set; }

        /// <summary>
        /// The activation layer after the folded BatchNormalization, folded into this layer too (inference applies it to each chunk
        /// of this layer's output while in cache), or null.
        /// </summary>
        public Node? FoldedActivation { get; set; }

        /// <summary>
        /// The residual <see cref="ConvGen.Add"/> after the folded BatchNormalization (its only reader), folded into this layer too:
        /// inference adds the Add's other input to each output, then the Add's activation, as the kernel stores it; or null.
        /// </summary>
        public Node? FoldedAdd { get; set; }

        /// <summary>With <see cref="FoldedAdd"/>: the slot of the Add's other input, the residual (written before this layer runs).</summary>
        public int ResidualSlot { get; set; }

        /// <summary>
        /// For a BatchNormalization folded into the layer before it, or the activation layer or residual Add after such a
        /// BatchNormalization: that layer (which then writes this one's output).
        /// </summary>
        public Node? FoldedInto { get; set; }

        /// <summary>Where this layer's folded parameters start in the model's folded buffer: the kernel, then the bias (one per output channel), then the scale pattern.</summary>
        public int FoldOffset { get; set; }

        /// <summary>Floats of the folded scale pattern: one value per output channel, repeated a whole number of times.</summary>
        public int FoldPattern { get; set; }

        public int Seed { get; set; }
    }
}
