using System;
using System.Collections.Generic;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>
/// The base of every network the generator compiles from stacked layer attributes (<see cref="InputAttribute"/>). The generated
/// subclass supplies kernels specialized to every size; this class owns the memory and the training step:
/// <list type="bullet">
/// <item>all parameters in one buffer (<see cref="ParameterBuffer"/>) and all gradients in another, so zeroing the gradients
/// and an optimizer step are one loop each;</item>
/// <item>activation and gradient buffers planned at construction for <see cref="MaxBatchSize"/> samples, so after the
/// first step a training step allocates nothing on the managed heap;</item>
/// <item>persistent worker threads (<see cref="Parallelism.Threads"/>) that each layer's phases are split over.</item>
/// </list>
/// Layer names, initialization and <see cref="NamedParameters"/> match a <see cref="Sequential"/> of the same layers, so weights
/// saved by one load into the other.
/// </summary>
/// <remarks>
/// The thread contract is <see cref="Sequential"/>'s: <see cref="Predict"/>, <see cref="Evaluate"/> and <see cref="SaveWeights"/>
/// may be called from many threads at once (they take turns); training, loading and the raw <see cref="Forward"/>/<see cref="Backward"/>
/// throw <see cref="InvalidOperationException"/> instead of running while another thread uses the network.
/// </remarks>
public abstract class CompiledNetwork : IModel, IPhaseRunner
{
    private readonly NetworkLayout _layout;
    private readonly float[] _parameters, _gradients;
    private readonly float[][] _activations, _deltas;
    private float[][] _scratch = [];
    private readonly Parameter _all;
    private readonly Parameter[] _allList;
    private readonly Parameter[] _layerParameters;
    private readonly (string Name, Tensor Tensor)[] _named;
    private readonly string[] _layerNames;
    private float[] _input = [];
    private int _inputOffset = -1;
    private Tensor? _outputView, _gradientView;
    private IOptimizer? _optimizer;
    private ILoss? _loss;
    private readonly ModelGate _gate;

    /// <summary>Plans every buffer for <paramref name="maxBatchSize"/> samples and initializes the weights from <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBatchSize"/> is less than 1, or the buffers would exceed 2^31 floats.</exception>
    protected CompiledNetwork(NetworkLayout layout, int maxBatchSize, int seed)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        _layout = layout;
        _gate = new ModelGate(GetType().Name);
        MaxBatchSize = maxBatchSize;
        _parameters = new float[layout.ParameterCount];
        _gradients = new float[layout.ParameterCount];
        _activations = new float[layout.BufferSizes.Count + 1][];
        _deltas = new float[layout.BufferSizes.Count + 1][];
        _activations[0] = _deltas[0] = [];
        for (int i = 0; i < layout.BufferSizes.Count; i++)
        {
            long size = (long)layout.BufferSizes[i] * maxBatchSize;
            if (size > Array.MaxLength)
                throw new ArgumentOutOfRangeException(nameof(maxBatchSize), maxBatchSize, $"{maxBatchSize} samples of {layout.BufferSizes[i]} activations exceed the largest array; use a smaller maximum batch.");
            _activations[i + 1] = new float[size];
            _deltas[i + 1] = new float[size];
        }

        _all = new Parameter("parameters", new Tensor(new Shape(_parameters.Length), _parameters), new Tensor(new Shape(_gradients.Length), _gradients));
        _allList = [_all];
        var parameters = new List<Parameter>();
        var named = new List<(string, Tensor)>();
        _layerNames = new string[layout.Layers.Count];
        for (int i = 0; i < layout.Layers.Count; i++)
        {
            var layer = layout.Layers[i];
            _layerNames[i] = layer.Name;
            foreach (var p in layer.Parameters)
            {
                var parameter = new Parameter(p.Name, new Tensor(p.Shape, _parameters, p.Offset), new Tensor(p.Shape, _gradients, p.Offset));
                parameters.Add(parameter);
                named.Add(($"{layer.Name}/{p.Name}", parameter.Value));
            }
        }
        _layerParameters = [.. parameters];
        _named = [.. named];
        Initialize(seed);
    }

    /// <summary>The largest batch <see cref="Forward"/> and <see cref="TrainStep(Tensor, ReadOnlySpan{int}, out int)"/> take; the buffers are planned for it.</summary>
    public int MaxBatchSize { get; }

    /// <summary>One input sample, <c>(height, width, channels)</c>.</summary>
    public Shape InputShape => _layout.InputShape;

    /// <summary>One output sample.</summary>
    public Shape OutputShape => _layout.Layers[^1].OutputShape;

    /// <summary>The layers as the generator planned them.</summary>
    public IReadOnlyList<NetworkLayer> Layers => _layout.Layers;

    /// <summary>Unique layer names, as <see cref="Sequential.LayerNames"/> gives them for the same layers.</summary>
    public IReadOnlyList<string> LayerNames => _layerNames;

    /// <summary>Total trainable parameters.</summary>
    public long ParameterCount => _parameters.Length;

    /// <summary>Every parameter, layer after layer (kernel, then bias), in one buffer.</summary>
    public Span<float> ParameterBuffer => _parameters;

    /// <summary>The gradients, laid out like <see cref="ParameterBuffer"/>.</summary>
    public Span<float> GradientBuffer => _gradients;

    /// <summary>Per-layer views (kernel, then bias) into <see cref="ParameterBuffer"/> and <see cref="GradientBuffer"/>.</summary>
    public IReadOnlyList<Parameter> Parameters => _layerParameters;

    /// <summary>Every parameter as <c>layer/parameter</c> (e.g. <c>conv2d/kernel</c>), as <see cref="Sequential.NamedParameters"/> names them.</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> NamedParameters() => _named;

    /// <summary>
    /// Managed bytes allocated so far by the worker threads compiled networks run on (the caller's thread not included; add
    /// <see cref="GC.GetAllocatedBytesForCurrentThread"/> for it). Two readings around a training step show what the step
    /// allocated on every thread it used, for a fixed <see cref="Parallelism.Threads"/>.
    /// </summary>
    public static long WorkerAllocatedBytes => WorkerPool.Shared.WorkerAllocatedBytes;

    /// <summary>The optimizer set by <see cref="Compile"/>.</summary>
    public IOptimizer? Optimizer => _optimizer;

    /// <summary>The loss set by <see cref="Compile"/>.</summary>
    public ILoss? Loss => _loss;

    /// <summary>The Keras-style summary table, generated at build time; equal to <see cref="Sequential.Summary"/> for the same layers.</summary>
    public abstract string Summary();

    /// <summary>
    /// Re-initializes as <see cref="Sequential.Build"/> does for the same layers and seed: layer <c>i</c> draws its Glorot-uniform
    /// kernel from <c>new Random(seed * 1_000_003 + i)</c>; biases are zero.
    /// </summary>
    public void Initialize(int seed)
    {
        var glorot = new GlorotUniform();
        for (int i = 0; i < _layout.Layers.Count; i++)
        {
            var layer = _layout.Layers[i];
            if (layer.Parameters.Length == 0) continue;
            var random = new Random(unchecked(seed * 1_000_003 + i));
            var kernel = layer.Parameters[0];
            glorot.Initialize(_parameters.AsSpan(kernel.Offset, kernel.Shape.Size), layer.FanIn, layer.FanOut, random);
            for (int p = 1; p < layer.Parameters.Length; p++)
                _parameters.AsSpan(layer.Parameters[p].Offset, layer.Parameters[p].Shape.Size).Clear();
        }
    }

    /// <summary>Sets the optimizer and loss <see cref="TrainStep(Tensor, ReadOnlySpan{int}, out int)"/> uses.</summary>
    public CompiledNetwork Compile(IOptimizer optimizer, ILoss loss)
    {
        _optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        _loss = loss ?? throw new ArgumentNullException(nameof(loss));
        return this;
    }

    /// <summary>
    /// The network's output for a batch of at most <see cref="MaxBatchSize"/> samples. The result is a view of an internal buffer,
    /// overwritten by the next call: copy it to keep it. The batch is kept for <see cref="Backward"/>.
    /// </summary>
    /// <exception cref="ShapeMismatchException"><paramref name="input"/> is not <c>(batch, InputShape)</c> with 1 &lt;= batch &lt;= <see cref="MaxBatchSize"/>.</exception>
    public Tensor Forward(Tensor input)
    {
        using var scope = _gate.EnterExclusive(nameof(Forward));
        return ForwardCore(input, keepActivations: true);
    }

    /// <param name="input">The batch.</param>
    /// <param name="keepActivations">Whether a backward pass may follow: false (Predict, Evaluate) lets fused kernels skip
    /// storing activations only the backward pass reads.</param>
    private Tensor ForwardCore(Tensor input, bool keepActivations)
    {
        int batch = CheckBatch(input, nameof(input));
        (_input, _inputOffset) = input.Storage;
        Batch = batch;
        KeepActivations = keepActivations;
        ForwardPass();
        return OutputView(batch);
    }

    /// <summary>
    /// Back-propagates <paramref name="outputGradient"/> (shaped like the last <see cref="Forward"/> output) and <b>adds</b> the
    /// parameter gradients into <see cref="GradientBuffer"/>; call <see cref="ZeroGradients"/> first for a fresh gradient.
    /// </summary>
    public void Backward(Tensor outputGradient)
    {
        using var scope = _gate.EnterExclusive(nameof(Backward));
        ArgumentNullException.ThrowIfNull(outputGradient);
        if (_inputOffset < 0) throw new InvalidOperationException("Backward was called before Forward.");
        if (!KeepActivations)
            throw new InvalidOperationException("Backward needs the activations of a Forward call, but Predict or Evaluate ran after the last Forward; call Forward again first.");
        var expected = OutputView(Batch).Shape;
        if (outputGradient.Shape != expected)
            throw new ShapeMismatchException(nameof(outputGradient), expected.ToString(), outputGradient.Shape.ToString(), "Backward needs the shape of the last forward output");
        outputGradient.Span.CopyTo(_deltas[^1]);
        BackwardPass();
    }

    /// <summary>Sets every gradient to zero (one loop over <see cref="GradientBuffer"/>).</summary>
    public void ZeroGradients() => _gradients.AsSpan().Clear();

    /// <summary>
    /// One training step on a batch of at most <see cref="MaxBatchSize"/> samples with the compiled optimizer and loss: forward,
    /// loss, backward, one optimizer loop over all parameters. Returns the batch loss and the number of correct predictions.
    /// Allocates nothing on the managed heap after the first step (for a given batch size).
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="Compile"/> was not called.</exception>
    /// <exception cref="NonFiniteLossException">The loss or a gradient is NaN or infinite; the weights are those before the step, and the exception names the first layer that went non-finite.</exception>
    public float TrainStep(Tensor images, ReadOnlySpan<int> labels, out int correct)
    {
        if (_optimizer is null || _loss is null)
            throw new InvalidOperationException("The network has no optimizer or loss; call Compile(optimizer, loss) first, or pass an optimizer to TrainStep.");
        using var scope = _gate.EnterExclusive(nameof(TrainStep));
        return Step(images, labels, _optimizer, _loss, out correct);
    }

    /// <summary>
    /// One training step with <paramref name="optimizer"/> and the compiled loss (sparse categorical cross-entropy from logits when
    /// none was compiled). Returns the batch loss.
    /// </summary>
    /// <exception cref="NonFiniteLossException">The loss is NaN or infinite; the weights are those before the step.</exception>
    public float TrainStep(Tensor images, ReadOnlySpan<int> labels, IOptimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        using var scope = _gate.EnterExclusive(nameof(TrainStep));
        return Step(images, labels, optimizer, _loss ??= new SparseCategoricalCrossentropy(fromLogits: true), out _);
    }

    private float Step(Tensor images, ReadOnlySpan<int> labels, IOptimizer optimizer, ILoss loss, out int correct)
    {
        int batch = CheckBatch(images, nameof(images));
        if (labels.Length != batch)
            throw new ShapeMismatchException(nameof(labels), $"{batch} labels, one per image", $"{labels.Length} labels");
        var output = ForwardCore(images, keepActivations: true);
        var gradient = GradientView(batch);
        float value = loss.Compute(output, labels, gradient);
        correct = Metrics.CountCorrect(output, labels);
        if (!float.IsFinite(value)) throw NonFinite(value, optimizer.Iterations + 1, gradients: false);
        ZeroGradients();
        BackwardPass();
        // One pass over all gradients (MaxMagnitude is NaN if any is NaN): a bad step never reaches the weights.
        if (!float.IsFinite(TensorPrimitives.MaxMagnitude(_gradients))) throw NonFinite(value, optimizer.Iterations + 1, gradients: true);
        optimizer.Step(_allList);
        return value;
    }

    /// <summary>
    /// The exception for a step that went non-finite, naming the first place it happened: weights already non-finite, else
    /// (for a bad loss) the first layer whose output is, else (for bad gradients) the last layer's parameters backward first.
    /// Runs only on failure.
    /// </summary>
    private NonFiniteLossException NonFinite(float loss, long step, bool gradients)
    {
        static bool Bad(ReadOnlySpan<float> values) => !float.IsFinite(TensorPrimitives.MaxMagnitude(values));
        var layers = _layout.Layers;
        for (int i = 0; i < layers.Count; i++)
            foreach (var p in layers[i].Parameters)
                if (Bad(_parameters.AsSpan(p.Offset, p.Shape.Size)))
                    return new NonFiniteLossException(loss, step, NonFiniteOrigin.Weights, i, layers[i].Name, p.Name, "the weights were already non-finite before this step");
        if (!gradients)
        {
            if (Bad(Input)) return new NonFiniteLossException(loss, step, NonFiniteOrigin.Output, -1, null, null, "the input batch itself holds non-finite values");
            int buffer = 0;
            for (int i = 0; i < layers.Count; i++)
            {
                if (layers[i].TypeName != "Flatten") buffer++;
                if (Bad(_activations[buffer].AsSpan(0, Batch * layers[i].OutputShape.Size)))
                    return new NonFiniteLossException(loss, step, NonFiniteOrigin.Output, i, layers[i].Name, null, null);
            }
            return new NonFiniteLossException(loss, step, NonFiniteOrigin.Loss, -1, null, null, null);
        }
        for (int i = layers.Count - 1; i >= 0; i--)
            foreach (var p in layers[i].Parameters)
                if (Bad(_gradients.AsSpan(p.Offset, p.Shape.Size)))
                    return new NonFiniteLossException(loss, step, NonFiniteOrigin.Gradient, i, layers[i].Name, p.Name, null);
        return new NonFiniteLossException(loss, step, NonFiniteOrigin.Gradient, -1, null, null, null);
    }

    /// <summary>
    /// Trains for <paramref name="epochs"/> shuffled passes in batches of <paramref name="batchSize"/> (at most
    /// <see cref="MaxBatchSize"/>) with the compiled optimizer and loss: the same loop, progress and history as <see cref="Sequential.Fit"/>.
    /// </summary>
    public IReadOnlyList<EpochResult> Fit(Tensor images, int[] labels, int epochs, int batchSize, FitOptions? options = null)
    {
        using var scope = _gate.EnterExclusive(nameof(Fit));
        if (_optimizer is null || _loss is null)
            throw new InvalidOperationException("The network has no optimizer or loss; call Compile(optimizer, loss) first.");
        if (batchSize > MaxBatchSize)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"batchSize is {batchSize}, but the network's buffers were planned for at most {MaxBatchSize} (its maxBatchSize).");
        return TrainingLoop.Fit(this, images, labels, epochs, batchSize, options);
    }

    /// <summary>The outputs for every sample, in batches of at most <paramref name="batchSize"/> and <see cref="MaxBatchSize"/>. The result is a new tensor. Safe to call from several threads at once.</summary>
    public Tensor Predict(Tensor images, int batchSize = 500)
    {
        using var scope = _gate.EnterShared(nameof(Predict));
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        CheckSamples(images, nameof(images));
        int count = images.Shape[0], row = OutputShape.Size, step = Math.Min(batchSize, MaxBatchSize);
        var result = new Tensor(OutputShape.WithBatch(count));
        for (int start = 0; start < count; start += step)
        {
            int n = Math.Min(step, count - start);
            ForwardCore(images.SliceBatch(start, n), keepActivations: false).Span.CopyTo(result.Span.Slice(start * row, n * row));
        }
        return result;
    }

    /// <summary>Mean loss (the compiled loss, or cross-entropy from logits) and accuracy over every sample, in batches of at most <paramref name="batchSize"/> and <see cref="MaxBatchSize"/>. Safe to call from several threads at once.</summary>
    public (float Loss, float Accuracy) Evaluate(Tensor images, int[] labels, int batchSize = 500)
    {
        using var scope = _gate.EnterShared(nameof(Evaluate));
        TrainingLoop.CheckData(this, images, labels, nameof(images), nameof(labels));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int count = images.Shape[0], step = Math.Min(batchSize, MaxBatchSize);
        var loss = _loss ?? new SparseCategoricalCrossentropy(fromLogits: true);
        double lossSum = 0;
        long correct = 0;
        for (int start = 0; start < count; start += step)
        {
            int n = Math.Min(step, count - start);
            var output = ForwardCore(images.SliceBatch(start, n), keepActivations: false);
            var batchLabels = labels.AsSpan(start, n);
            lossSum += loss.Compute(output, batchLabels) * (double)n;
            correct += Metrics.CountCorrect(output, batchLabels);
        }
        return ((float)(lossSum / count), (float)correct / count);
    }

    /// <summary>Saves every parameter by name (see <see cref="Serialization.WeightsFile"/>); a <see cref="Sequential"/> of the same layers loads the file.</summary>
    public void SaveWeights(string path)
    {
        using var scope = _gate.EnterShared(nameof(SaveWeights));
        Serialization.WeightsFile.Save(path, _named);
    }

    /// <summary>Loads parameters saved by this network or by a <see cref="Sequential"/> of the same layers.</summary>
    public void LoadWeights(string path)
    {
        using var scope = _gate.EnterExclusive(nameof(LoadWeights));
        Serialization.WeightsFile.LoadInto(path, _named);
    }

    // ------------------------------------------------------------------ for the generated subclass

    /// <summary>Samples in the current batch.</summary>
    protected int Batch { get; private set; }

    /// <summary>The current batch's input, <c>[Batch, InputShape]</c>.</summary>
    protected ReadOnlySpan<float> Input => _input.AsSpan(_inputOffset, Batch * _layout.InputShape.Size);

    /// <summary>All parameters.</summary>
    protected ReadOnlySpan<float> Weights => _parameters;

    /// <summary>All parameter gradients.</summary>
    protected Span<float> Gradients => _gradients;

    /// <summary>Activation buffer <paramref name="index"/> (1-based; 0 is the input), sized for <see cref="MaxBatchSize"/>.</summary>
    protected Span<float> ActivationBuffer(int index) => _activations[index];

    /// <summary>The gradient buffer matching <see cref="ActivationBuffer"/>.</summary>
    protected Span<float> DeltaBuffer(int index) => _deltas[index];

    /// <summary>Gradient scratch of thread <paramref name="part"/> (1-based; part 0 accumulates straight into the gradients).</summary>
    protected Span<float> Scratch(int part) => _scratch[part];

    /// <summary>
    /// Whether the current forward pass keeps every activation for a backward pass (Forward, TrainStep). Predict and Evaluate
    /// set it to false, and kernels with a fused pool then skip storing the convolution's own output.
    /// </summary>
    protected bool KeepActivations { get; private set; }

    /// <summary>Threads the current phase is split over.</summary>
    protected int Parts { get; private set; } = 1;

    /// <summary>Runs every forward phase over the current batch.</summary>
    protected abstract void ForwardPass();

    /// <summary>Runs every backward phase; the loss gradient is in the last <see cref="DeltaBuffer"/>.</summary>
    protected abstract void BackwardPass();

    /// <summary>Runs part <paramref name="part"/> of <paramref name="parts"/> of phase <paramref name="phase"/>.</summary>
    protected abstract void RunPhase(int phase, int part, int parts);

    /// <summary>Runs <paramref name="phase"/> on every thread and waits for it.</summary>
    protected void Parallel(int phase)
    {
        var pool = WorkerPool.Shared;
        int parts = Math.Min(pool.Threads, Batch);
        if (parts > 1 && _scratch.Length < parts)
        {
            var scratch = new float[parts][];
            for (int p = 0; p < parts; p++) scratch[p] = p < _scratch.Length ? _scratch[p] : new float[_layout.ScratchSize];
            _scratch = scratch;
        }
        Parts = parts;
        pool.Run(this, phase, parts);
    }

    void IPhaseRunner.RunPhase(int phase, int part, int parts) => RunPhase(phase, part, parts);

    private int CheckBatch(Tensor input, string paramName)
    {
        ArgumentNullException.ThrowIfNull(input, paramName);
        CheckSamples(input, paramName);
        int batch = input.Shape[0];
        if (batch < 1 || batch > MaxBatchSize)
            throw new ShapeMismatchException(paramName, $"a batch of 1 to {MaxBatchSize} samples (MaxBatchSize)", input.Shape.ToString(),
                "construct the network with a larger maxBatchSize, or use Predict/Evaluate, which split the data");
        return batch;
    }

    private void CheckSamples(Tensor input, string paramName)
    {
        // Compared in place: WithoutBatch() would allocate a shape on every training step.
        if (input.Shape.Rank != InputShape.Rank + 1 || !input.Shape.Dimensions[1..].SequenceEqual(InputShape.Dimensions))
            throw new ShapeMismatchException(paramName, $"(batch, {InputShape.ToString().Trim('(', ')', ',')})", input.Shape.ToString(), GetType().Name);
    }

    private Tensor OutputView(int batch)
    {
        if (_outputView is null || _outputView.Shape[0] != batch)
            _outputView = new Tensor(OutputShape.WithBatch(batch), _activations[^1], 0);
        return _outputView;
    }

    private Tensor GradientView(int batch)
    {
        if (_gradientView is null || _gradientView.Shape[0] != batch)
            _gradientView = new Tensor(OutputShape.WithBatch(batch), _deltas[^1], 0);
        return _gradientView;
    }
}
