using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace ConvGen;

/// <summary>
/// A stack of layers, each feeding the next, like Keras' <c>Sequential</c>. <see cref="Build"/> infers every layer's
/// output shape from the input shape and initializes the parameters; a layer that cannot take its input is reported
/// with its position, name and both shapes.
/// </summary>
/// <remarks>
/// <para>
/// <b>Threads.</b> <see cref="Predict"/>, <see cref="Evaluate"/> and <see cref="SaveWeights"/> may be called from any number
/// of threads at once: they take turns on a lock held by the model (the layers reuse their buffers), and give the same
/// answers as serial calls. Every other call that runs the layers or changes the model (<c>TrainStep</c>, <see cref="Fit"/>,
/// <see cref="Build"/>, <see cref="Compile"/>, <see cref="LoadWeights"/>, <see cref="Add"/>, <see cref="Forward"/>,
/// <see cref="Backward"/>, <see cref="ZeroGradients"/>) needs the model to itself: while it runs, a call from another
/// thread throws <see cref="InvalidOperationException"/>, and it throws the same way if another thread is inside a call.
/// </para>
/// </remarks>
public sealed partial class Sequential : IModel
{
    private readonly List<ILayer> _layers = [];
    private readonly List<Shape> _outputShapes = [];
    private readonly ModelGate _gate = new(nameof(Sequential));
    private Parameter[] _parameters = [];

    // What the last Forward and Backward produced per layer (layer-owned tensors, no copies): read only to say which
    // layer went non-finite when a training step fails.
    private Tensor?[] _layerOutputs = [];
    private Tensor?[] _layerInputGradients = [];

    /// <summary>Creates a model from <paramref name="layers"/>, in order.</summary>
    /// <exception cref="ArgumentException">A layer is null or has no name.</exception>
    public Sequential(params ILayer[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        for (int i = 0; i < layers.Length; i++)
        {
            if (layers[i] is null) throw new ArgumentException($"Layer {i} of {layers.Length} is null.", nameof(layers));
            Add(layers[i]);
        }
    }

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<ILayer> Layers => _layers;

    /// <summary>Whether <see cref="Build"/> has run since the last <see cref="Add"/>.</summary>
    public bool IsBuilt { get; private set; }

    /// <summary>The shape of one input sample, set by <see cref="Build"/>.</summary>
    public Shape InputShape { get; private set; }

    /// <summary>The shape of one output sample, set by <see cref="Build"/>.</summary>
    public Shape OutputShape => IsBuilt ? _outputShapes[^1] : throw NotBuilt();

    /// <summary>Each layer's output shape for one sample, set by <see cref="Build"/>.</summary>
    public IReadOnlyList<Shape> OutputShapes => _outputShapes;

    /// <summary>Every trainable parameter, layer by layer.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Appends a layer; the model must be built again.</summary>
    /// <exception cref="ArgumentException">The layer has no name (its name keys the saved weights).</exception>
    public Sequential Add(ILayer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (string.IsNullOrEmpty(layer.Name))
            throw new ArgumentException($"Layer {_layers.Count} ({layer.GetType().Name}) has no name; every layer needs one to name its saved weights.", nameof(layer));
        using var scope = _gate.EnterExclusive(nameof(Add));
        _layers.Add(layer);
        IsBuilt = false;
        return this;
    }

    /// <summary>Infers shapes for samples of <paramref name="inputShape"/> (no batch dimension) and initializes every layer from <paramref name="seed"/>.</summary>
    /// <exception cref="ShapeMismatchException">A layer cannot take the output of the one before it; the message names the layer and both shapes.</exception>
    public Sequential Build(Shape inputShape, int seed = 0)
    {
        using var scope = _gate.EnterExclusive(nameof(Build));
        if (_layers.Count == 0) throw new InvalidOperationException("The model has no layers; Add some before Build.");
        IsBuilt = false;
        _outputShapes.Clear();
        var shape = inputShape;
        for (int i = 0; i < _layers.Count; i++)
        {
            try
            {
                shape = _layers[i].Build(shape, unchecked(seed * 1_000_003 + i));
            }
            catch (ShapeMismatchException e)
            {
                throw new ShapeMismatchException(e.ParamName ?? "inputShape", e.Expected, e.Actual,
                    $"Layer {i} ({_layers[i].Name}) cannot take the output {shape} of {(i == 0 ? "the model input" : $"layer {i - 1} ({_layers[i - 1].Name})")}: {e.Message}");
            }
            _outputShapes.Add(shape);
        }
        InputShape = inputShape;
        _parameters = _layers.SelectMany(l => l.Parameters).ToArray();
        _layerOutputs = new Tensor?[_layers.Count];
        _layerInputGradients = new Tensor?[_layers.Count];
        IsBuilt = true;
        return this;
    }

    /// <summary>
    /// Runs every layer on a batch. <paramref name="training"/> enables dropout and keeps what <see cref="Backward"/> needs.
    /// The result is owned by the last layer and overwritten by the next call: copy it, or use <see cref="Predict"/>.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The batch's samples are not of <see cref="InputShape"/>.</exception>
    /// <exception cref="InvalidOperationException">The model is not built, or another thread is using it.</exception>
    public Tensor Forward(Tensor input, bool training = false)
    {
        using var scope = _gate.EnterExclusive(nameof(Forward));
        if (!IsBuilt) throw NotBuilt();
        CheckImages(input, nameof(input));
        return ForwardCore(input, training);
    }

    /// <summary>Back-propagates the gradient of the loss with respect to the last output, accumulating every parameter's gradient.</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="outputGradient"/> is not shaped like the last output.</exception>
    /// <exception cref="InvalidOperationException">The model is not built, no forward pass preceded this call, or another thread is using the model.</exception>
    public void Backward(Tensor outputGradient)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        using var scope = _gate.EnterExclusive(nameof(Backward));
        if (!IsBuilt) throw NotBuilt();
        BackwardCore(outputGradient);
    }

    /// <summary>Sets every parameter gradient to zero.</summary>
    /// <exception cref="InvalidOperationException">Another thread is using the model.</exception>
    public void ZeroGradients()
    {
        using var scope = _gate.EnterExclusive(nameof(ZeroGradients));
        foreach (var p in _parameters) p.ZeroGradient();
    }

    private Tensor ForwardCore(Tensor input, bool training)
    {
        var x = input;
        for (int i = 0; i < _layers.Count; i++) _layerOutputs[i] = x = _layers[i].Forward(x, training);
        return x;
    }

    private void BackwardCore(Tensor outputGradient)
    {
        var g = outputGradient;
        for (int i = _layers.Count - 1; i >= 0; i--)
        {
            // The first layer's input gradient is never needed.
            var next = _layers[i].Backward(g, computeInputGradient: i > 0);
            _layerInputGradients[i] = next;
            if (i > 0) g = next ?? throw new InvalidOperationException($"Layer {i} ({_layers[i].Name}) returned no input gradient although one was asked for.");
        }
    }

    /// <summary>Fails unless <paramref name="images"/> is a batch of samples of <see cref="InputShape"/>.</summary>
    private void CheckImages(Tensor images, string paramName)
    {
        ArgumentNullException.ThrowIfNull(images, paramName);
        var shape = images.Shape;
        if (shape.Rank != InputShape.Rank + 1 || !shape.Dimensions[1..].SequenceEqual(InputShape.Dimensions))
            throw new ShapeMismatchException(paramName, $"(batch, {InputShape.ToString().Trim('(', ')', ',')})", shape.ToString(), $"Sequential: {paramName} must be a batch of samples of the model's input shape {InputShape}");
    }

    /// <summary>Total number of trainable values.</summary>
    public long ParameterCount => _parameters.Sum(p => (long)p.Value.Length);

    /// <summary>Layer names made unique the way Keras does: the second <c>dense</c> is <c>dense_1</c>.</summary>
    public IReadOnlyList<string> LayerNames()
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new string[_layers.Count];
        for (int i = 0; i < _layers.Count; i++)
        {
            string name = _layers[i].Name;
            int n = seen.TryGetValue(name, out int k) ? k : 0;
            seen[name] = n + 1;
            names[i] = n == 0 ? name : $"{name}_{n}";
        }
        return names;
    }

    /// <summary>Every parameter value named <c>{layer}/{parameter}</c> (e.g. <c>dense_1/kernel</c>), in layer order: what <see cref="SaveWeights"/> writes.</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> NamedParameters()
    {
        var names = LayerNames();
        var named = new List<(string, Tensor)>();
        for (int i = 0; i < _layers.Count; i++)
            foreach (var p in _layers[i].Parameters)
                named.Add(($"{names[i]}/{p.Name}", p.Value));
        return named;
    }

    /// <summary>
    /// Writes every parameter to <paramref name="path"/> in the ConvGen weights format, atomically (see docs/weights-format.md):
    /// if the save fails, any previous file at <paramref name="path"/> is left as it was.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not built, or another thread is training it.</exception>
    /// <exception cref="System.IO.IOException">Writing failed; the previous file, if any, is unchanged.</exception>
    public void SaveWeights(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var scope = _gate.EnterShared(nameof(SaveWeights));
        if (!IsBuilt) throw NotBuilt();
        Serialization.WeightsFile.Save(path, NamedParameters());
    }

    /// <summary>
    /// Loads parameters saved by <see cref="SaveWeights"/>. The file must hold the same tensors, names and shapes in the same
    /// order; otherwise nothing is changed and the exception names the first tensor that differs and both shapes.
    /// </summary>
    /// <exception cref="System.IO.InvalidDataException">The file is not a valid weights file (corrupt, truncated, wrong checksum).</exception>
    /// <exception cref="Serialization.WeightsMismatchException">The file is for a different architecture.</exception>
    /// <exception cref="InvalidOperationException">The model is not built, or another thread is using it.</exception>
    public void LoadWeights(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var scope = _gate.EnterExclusive(nameof(LoadWeights));
        if (!IsBuilt) throw NotBuilt();
        Serialization.WeightsFile.LoadInto(path, NamedParameters());
    }

    /// <summary>A Keras-like table of layers, output shapes and parameter counts.</summary>
    public string Summary()
    {
        if (!IsBuilt) throw NotBuilt();
        var names = LayerNames();
        var rows = new List<(string Layer, string Shape, string Params)>();
        for (int i = 0; i < _layers.Count; i++)
        {
            long count = _layers[i].Parameters.Sum(p => (long)p.Value.Length);
            string shape = "(None, " + string.Join(", ", _outputShapes[i].Dimensions.ToArray()) + ")";
            rows.Add(($"{names[i]} ({TypeName(_layers[i])})", shape, count.ToString("N0", CultureInfo.InvariantCulture)));
        }
        int w1 = Math.Max(28, rows.Max(r => r.Layer.Length) + 2), w2 = Math.Max(25, rows.Max(r => r.Shape.Length) + 2), w3 = 12;
        var sb = new StringBuilder();
        string rule = new('_', w1 + w2 + w3), thick = new('=', w1 + w2 + w3);
        sb.AppendLine("Model: \"sequential\"").AppendLine(rule);
        sb.Append("Layer (type)".PadRight(w1)).Append("Output Shape".PadRight(w2)).AppendLine("Param #").AppendLine(thick);
        for (int i = 0; i < rows.Count; i++)
        {
            sb.Append(rows[i].Layer.PadRight(w1)).Append(rows[i].Shape.PadRight(w2)).AppendLine(rows[i].Params);
            sb.AppendLine(i == rows.Count - 1 ? thick : rule);
        }
        sb.Append("Total params: ").AppendLine(ParameterCount.ToString("N0", CultureInfo.InvariantCulture));
        sb.Append("Trainable params: ").AppendLine(ParameterCount.ToString("N0", CultureInfo.InvariantCulture));
        sb.AppendLine("Non-trainable params: 0");
        return sb.ToString();
    }

    /// <summary>The type column of <see cref="Summary"/>: Keras' class name, so every generated convolution shows as <c>Conv2D</c>.</summary>
    private static string TypeName(ILayer layer) => layer is IConv2DKernel ? "Conv2D" : layer.GetType().Name;

    private static InvalidOperationException NotBuilt() => new("The model is not built; call Build(inputShape) first.");
}
