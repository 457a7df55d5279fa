using System;
using System.Collections.Generic;

namespace ConvGen;

/// <summary>
/// A layer of a <see cref="Model"/>: a description (its name, which layers it reads, its output shape and the parameters it
/// declares in <see cref="Build"/>) and its kernels (<see cref="RunForward"/>, <see cref="RunBackward"/>), which the model runs on
/// buffers it planned, split over its worker threads. Layers hold no activations: a model owns every buffer, so the same
/// layer code runs in a <see cref="Sequential"/> and in a compiled network.
/// </summary>
/// <remarks>
/// <para>
/// A layer reads the previous layer's output unless <see cref="Input"/> names another (an earlier layer's <see cref="Name"/>, or
/// <c>"input"</c> for the model's input); merge layers (<see cref="Add"/>, <see cref="Concatenate"/>) read several. A layer whose
/// output feeds several layers receives the sum of their gradients.
/// </para>
/// <para>
/// A layer instance belongs to one model at a time: building a model binds the layer's <see cref="Parameters"/> to views of the
/// model's parameter buffer and gives unnamed layers their Keras-style unique names.
/// </para>
/// </remarks>
public abstract class Layer
{
    private string? _explicitName;
    private string? _assignedName;
    private string? _input;
    private Parameter[] _parameters = [];
    private (string Name, Tensor Value)[] _state = [];

    /// <summary>Keras' base name for layers of this kind (<c>conv2d</c>, <c>dense</c>, <c>max_pooling2d</c>, ...).</summary>
    protected abstract string BaseName { get; }

    internal string BaseNameForPlanning => BaseName;

    /// <summary>The layer's kind as a summary shows it (<c>Conv2D</c>, <c>Dense</c>, ...).</summary>
    public virtual string TypeName => GetType().Name;

    /// <summary>
    /// The layer's name: the one set here, or, once a model is built, the unique name it gave the layer (<c>dense</c>,
    /// <c>dense_1</c>, ...); before that, <see cref="BaseName"/>. Names key the saved weights (<c>dense_1/kernel</c>) and what
    /// <see cref="Input"/> refers to.
    /// </summary>
    /// <exception cref="ArgumentException">Set to an empty name or one containing '/'.</exception>
    public string Name
    {
        get => _explicitName ?? _assignedName ?? BaseName;
        init
        {
            ArgumentException.ThrowIfNullOrEmpty(value, nameof(Name));
            if (value.Contains('/')) throw new ArgumentException($"Layer name '{value}' contains '/', which separates layer and parameter names in weights files.", nameof(Name));
            _explicitName = value;
        }
    }

    /// <summary>Whether <see cref="Name"/> was set explicitly.</summary>
    public bool HasExplicitName => _explicitName is not null;

    /// <summary>
    /// The name of the layer whose output this layer reads instead of the previous layer's (an earlier layer, or <c>"input"</c>
    /// for the model's input); null for the previous layer.
    /// </summary>
    /// <exception cref="ArgumentException">Set to an empty name.</exception>
    public string? Input
    {
        get => _input;
        init
        {
            if (value is not null) ArgumentException.ThrowIfNullOrEmpty(value, nameof(Input));
            _input = value;
        }
    }

    /// <summary>
    /// Keras' <c>kernel_regularizer=L2(KernelL2)</c>: training adds <c>KernelL2 · Σ w²</c> over the layer's <c>kernel</c>
    /// parameter to the loss, and <c>2 · KernelL2 · w</c> to its gradient (0, the default: none). Building a model refuses it
    /// on a layer without a <c>kernel</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative or non-finite value.</exception>
    public float KernelL2
    {
        get => _kernelL2;
        init
        {
            if (!(float.IsFinite(value) && value >= 0f))
                throw new ArgumentOutOfRangeException(nameof(KernelL2), value, "KernelL2 must be finite and at least 0, such as 1e-4.");
            _kernelL2 = value;
        }
    }

    private float _kernelL2;

    /// <summary>The layers this layer reads, in order: a name, or null for the previous layer. One entry unless the layer merges several.</summary>
    public virtual IReadOnlyList<string?> InputNames => [_input];

    /// <summary>The trainable parameters (kernel before bias), as views of the model's parameter buffer; empty until a model is built.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The non-trainable state (e.g. moving statistics), as views of the model's state buffer; saved with the weights.</summary>
    public IReadOnlyList<(string Name, Tensor Value)> State => _state;

    /// <summary>
    /// Checks the input shapes (one sample each, no batch dimension), declares the layer's parameters, state and scratch on
    /// <paramref name="build"/>, and returns the shape of one output sample.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The layer cannot take these inputs; the message says what it needs.</exception>
    protected internal abstract Shape Build(LayerBuild build);

    /// <summary>How many forward phases the layer runs; the model waits for every thread between phases.</summary>
    protected internal virtual int ForwardPhases => 1;

    /// <summary>How many backward phases the layer runs.</summary>
    protected internal virtual int BackwardPhases => 1;

    /// <summary>
    /// Part <see cref="NodeContext.Part"/> of <see cref="NodeContext.Parts"/> of forward phase <see cref="NodeContext.Phase"/>:
    /// computes (its share of) <see cref="NodeContext.Output"/> from the inputs. The parts run at the same time on different
    /// threads, so each must write only its own share.
    /// </summary>
    protected internal abstract void RunForward(in NodeContext context);

    /// <summary>
    /// Whether <see cref="RunForward"/> can split one sample between threads: given more parts than samples (<c>Batch &lt; Parts</c>,
    /// e.g. inference of one image), it splits something else (a convolution its output rows). The model then runs this layer's
    /// forward pass on every thread even for a small batch; other layers get at most one part per sample.
    /// </summary>
    protected internal virtual bool SplitsWithinSample => false;

    /// <summary>
    /// Whether <c>Predict</c> and <c>Evaluate</c> may run <see cref="RunForward"/> on a few samples at a time (depth-first
    /// inference): <see cref="NodeContext.Batch"/> and every activation span then cover only those samples, and several threads
    /// run the layer at once on chunks of their own, each as part 0 of 1. True where a sample's inference output depends on that
    /// sample alone and the forward pass (without <see cref="NodeContext.KeepActivations"/>) writes nothing but its output and
    /// scratch; every layer of ConvGen's says so. False by default: a layer of yours runs over the whole batch, and the layers
    /// after it too.
    /// </summary>
    protected internal virtual bool RunsOnSampleChunks => false;

    /// <summary>
    /// Part of backward phase <see cref="NodeContext.Phase"/>: from <see cref="NodeContext.OutputGradient"/>, <b>adds</b> the
    /// parameter gradients into <see cref="NodeContext.Gradients"/> and writes (or, when
    /// <see cref="NodeContext.AccumulatesInputGradient"/>, adds) each input gradient the model asks for.
    /// </summary>
    protected internal abstract void RunBackward(in NodeContext context);

    /// <summary>
    /// The activation this layer applies to its own output, whose backward it applies to <see cref="NodeContext.OutputGradient"/>
    /// first (unless <see cref="NodeContext.OutputGradientMasked"/>): a consumer that <see cref="FoldsInputRelu"/> can do it for free.
    /// </summary>
    protected internal virtual Activation OutputActivation => Activation.None;

    /// <summary>
    /// Whether this layer can apply its input's ReLU mask while it writes the input gradient (a max pool scatters only where the
    /// maximum is positive). The model asks it to (<see cref="NodeContext.FoldsInputRelu"/>) when it is the producer's only consumer.
    /// </summary>
    protected internal virtual bool FoldsInputRelu => false;

    /// <summary>
    /// Whether a <see cref="BatchNormalization"/> that reads only this layer can be folded into it for inference: parameter 0
    /// is a kernel whose element <c>i</c> feeds output channel <c>i % channels</c> (the output's last axis), parameter 1, if
    /// declared, is the bias per channel, and <see cref="RunForward"/> reads both through <see cref="NodeContext.Parameter"/>
    /// and, without a bias of its own, adds <see cref="NodeContext.FoldedBias"/> to its output. The model folds only when the
    /// layer's <see cref="OutputActivation"/> is <see cref="Activation.None"/>.
    /// </summary>
    internal virtual bool AcceptsFoldedNormalization => false;

    /// <summary>
    /// Whether, with a BatchNormalization folded into it, this layer can also take the residual <see cref="Add"/> that alone reads
    /// the BatchNormalization (see <see cref="NodeContext.FoldsResidual"/>): adding the Add's other input and applying its
    /// activation (None, ReLU or ReLU6) as it writes its output, the Add's.
    /// </summary>
    internal virtual bool AcceptsFoldedResidual => false;

    /// <summary>
    /// Whether this layer's forward kernel can also compute <paramref name="next"/>'s output (e.g. a convolution and the 2x2 max
    /// pool after it in one pass). The model asks only when <paramref name="next"/> reads this layer alone and is its only reader;
    /// then it skips <paramref name="next"/>'s forward, and this layer writes <see cref="NodeContext.FusedOutput"/> too.
    /// </summary>
    protected internal virtual bool CanFuseForward(Layer next, Shape outputShape) => false;

    /// <summary>
    /// Writes this layer as ONNX nodes (<see cref="Model.ExportOnnx(OnnxExportOptions?)"/>): reads its inputs as
    /// <paramref name="onnx"/> names them (channels first) and writes <see cref="Onnx.OnnxExport.Output"/>. A layer without an
    /// ONNX form (one of your own) makes the export fail with a <see cref="NotSupportedException"/> naming it.
    /// </summary>
    internal virtual void ExportOnnx(Onnx.OnnxExport onnx) => throw onnx.Unsupported("it has no ONNX form in this version of ConvGen");

    /// <summary>The model the layer was last built into, or null.</summary>
    internal Model? Owner { get; private set; }

    /// <summary>Binds the layer to a model's buffers and gives it its unique name.</summary>
    internal void Bind(Model owner, string name, Parameter[] parameters, (string, Tensor)[] state)
    {
        Owner = owner;
        _assignedName = name;
        _parameters = parameters;
        _state = state;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({TypeName})";
}

/// <summary>What a layer's <see cref="Layer.Build"/> sees and declares: its input shapes, and its parameters, state and scratch.</summary>
public sealed class LayerBuild
{
    private readonly Shape[] _inputs;
    internal readonly List<WeightDeclaration> Parameters = [];
    internal readonly List<WeightDeclaration> State = [];

    internal LayerBuild(string layerName, Shape[] inputs)
    {
        LayerName = layerName;
        _inputs = inputs;
    }

    /// <summary>The layer's unique name in its model, for messages.</summary>
    public string LayerName { get; }

    /// <summary>One sample of each input, in <see cref="Layer.InputNames"/> order.</summary>
    public IReadOnlyList<Shape> InputShapes => _inputs;

    /// <summary>One sample of the first input.</summary>
    public Shape InputShape => _inputs[0];

    /// <summary>Floats of scratch each thread gets in <see cref="NodeContext.Scratch"/> (e.g. per-thread weight gradients).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative value.</exception>
    public int ScratchPerThread
    {
        get => _scratch;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _scratch = value;
        }
    }

    private int _scratch;

    /// <summary>
    /// Floats per sample the model keeps for the layer from its forward to its backward pass, in <see cref="NodeContext.Kept"/>
    /// (e.g. the pre-activation of a fused SiLU or GELU, whose derivative needs it); a buffer like an output's, without a gradient.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative value.</exception>
    public int KeepPerSample
    {
        get => _keep;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _keep = value;
        }
    }

    private int _keep;

    /// <summary>
    /// Whether the output is the first input itself, reinterpreted (Flatten, Reshape): the model gives both one buffer, and the
    /// layer's kernels are never called.
    /// </summary>
    public bool OutputIsInputView { get; set; }

    /// <summary>
    /// Declares a trainable parameter, laid out after the ones declared before it; it is initialized by
    /// <paramref name="initializer"/> with <paramref name="fanIn"/> and <paramref name="fanOut"/> (as Keras' initializers use them).
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or declared twice.</exception>
    public void AddParameter(string name, Shape shape, IInitializer initializer, int fanIn = 1, int fanOut = 1)
        => Declare(Parameters, name, shape, initializer, fanIn, fanOut);

    /// <summary>Declares non-trainable state (saved and loaded with the weights, never touched by an optimizer).</summary>
    /// <exception cref="ArgumentException">The name is empty or declared twice.</exception>
    public void AddState(string name, Shape shape, IInitializer initializer)
        => Declare(State, name, shape, initializer, 1, 1);

    private void Declare(List<WeightDeclaration> list, string name, Shape shape, IInitializer initializer, int fanIn, int fanOut)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(initializer);
        ArgumentOutOfRangeException.ThrowIfLessThan(fanIn, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(fanOut, 1);
        if (Parameters.Exists(p => p.Name == name) || State.Exists(p => p.Name == name))
            throw new ArgumentException($"{LayerName} declares '{name}' twice.", nameof(name));
        list.Add(new WeightDeclaration(name, shape, initializer, fanIn, fanOut));
    }

    /// <summary>The shape error a layer throws for input <paramref name="index"/>, naming what it needs.</summary>
    public ShapeMismatchException Mismatch(int index, string expected, string? hint = null)
        => new(index == 0 ? "inputShape" : $"inputShapes[{index}]", expected, _inputs[index].ToString(), hint ?? LayerName);
}

/// <summary>A parameter or state tensor a layer declared.</summary>
internal sealed record WeightDeclaration(string Name, Shape Shape, IInitializer Initializer, int FanIn, int FanOut);
