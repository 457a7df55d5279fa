using System;
using System.Collections.Generic;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>
/// Keras' <c>Dense</c>: a fully connected layer <c>y = activation(x·W + b)</c> over a batch of feature vectors
/// <c>(batch, features)</c>, with a kernel <c>W</c> of shape <c>(features, units)</c> and a bias <c>b</c> of shape <c>(units,)</c>.
/// </summary>
/// <remarks>
/// The matrix products are vectorized, cache-blocked and split across <see cref="Parallelism.Threads"/> threads by output rows
/// or columns, so every thread owns disjoint outputs and results are bit-identical run to run (in fact for any thread count).
/// Image input must be flattened first: put a <see cref="Flatten"/> layer in front.
/// </remarks>
public sealed class Dense : ILayer
{
    private Parameter? _kernel, _bias;
    private Parameter[] _parameters = [];
    private int _inputFeatures;

    private float[] _output = [];
    private float[] _inputGradient = [];
    private float[] _activationGradient = [];
    private Tensor? _input, _outputView, _inputGradientView;

    /// <summary>Creates a dense layer with <paramref name="units"/> outputs; weights are created by <see cref="Build"/>.</summary>
    /// <param name="units">Number of outputs per sample (at least 1).</param>
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
    public string Name { get; init; } = "dense";

    /// <summary>Number of outputs per sample.</summary>
    public int Units { get; }

    /// <summary>The fused activation.</summary>
    public Activation Activation { get; }

    /// <summary>Whether the layer adds a bias.</summary>
    public bool UseBias { get; }

    /// <summary>Whether <see cref="Build"/> has created the weights.</summary>
    public bool IsBuilt => _kernel is not null;

    /// <summary>The kernel <c>(features, units)</c>, row-major: <c>W[i, j]</c> connects input <c>i</c> to output <c>j</c>.</summary>
    /// <exception cref="InvalidOperationException">The layer has not been built.</exception>
    public Parameter Kernel => _kernel ?? throw NotBuilt();

    /// <summary>The bias <c>(units,)</c>, or null when the layer has no bias.</summary>
    /// <exception cref="InvalidOperationException">The layer uses a bias but has not been built.</exception>
    public Parameter? Bias => UseBias ? _bias ?? throw NotBuilt() : null;

    /// <summary>The kernel, then the bias if present; empty before <see cref="Build"/>.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Output shape <c>(units,)</c> of one sample of shape <c>(features,)</c>.</summary>
    /// <exception cref="ShapeMismatchException">The sample is not a vector (for images, add a <see cref="Flatten"/> layer first).</exception>
    public Shape GetOutputShape(Shape inputShape)
    {
        if (inputShape.Rank != 1)
        {
            string hint = inputShape.Rank > 1
                ? $"{Name} takes one feature vector per sample; add a Flatten layer before it to turn {inputShape} into ({inputShape.Size},)"
                : $"{Name} takes one feature vector per sample";
            throw new ShapeMismatchException(nameof(inputShape), "(features,)", inputShape.ToString(), hint);
        }
        return new Shape(Units);
    }

    /// <summary>
    /// Checks the input shape, creates (or, for the same size, reuses) the parameters and initializes them from
    /// <paramref name="seed"/>: Glorot-uniform kernel (<c>fanIn = features</c>, <c>fanOut = units</c>) and a zero bias, as Keras does.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The sample is not a vector.</exception>
    public Shape Build(Shape inputShape, int seed)
    {
        var output = GetOutputShape(inputShape);
        int features = inputShape[0];
        if (_kernel is null || _inputFeatures != features)
        {
            _kernel = new Parameter("kernel", new Shape(features, Units));
            _bias = UseBias ? new Parameter("bias", new Shape(Units)) : null;
            _parameters = _bias is null ? [_kernel] : [_kernel, _bias];
            _inputFeatures = features;
            _input = null;
        }
        var random = new Random(seed);
        new GlorotUniform().Initialize(_kernel.Value.Span, features, Units, random);
        _bias?.Value.Span.Clear();
        return output;
    }

    /// <summary>Computes <c>activation(x·W + b)</c> for a batch <c>(batch, features)</c>.</summary>
    /// <exception cref="InvalidOperationException">The layer has not been built.</exception>
    /// <exception cref="ShapeMismatchException">The input is not <c>(batch, features)</c> with the built feature count.</exception>
    public Tensor Forward(Tensor input, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        var kernel = Kernel;
        if (input.Shape.Rank != 2 || input.Shape[1] != _inputFeatures)
        {
            string context = input.Shape.Rank > 2
                ? $"{Name} takes a batch of feature vectors; add a Flatten layer before it to turn {input.Shape} into ({input.Shape[0]}, {input.Shape.Size / input.Shape[0]})"
                : $"{Name} was built for {_inputFeatures} features";
            throw new ShapeMismatchException(nameof(input), $"(batch, {_inputFeatures})", input.Shape.ToString(), context);
        }
        int batch = input.Shape[0];
        var output = LayerBuffers.View(ref _output, ref _outputView, new Shape(batch, Units));
        var y = output.Span;
        if (_bias is not null)
        {
            var b = _bias.Value.Span;
            for (int n = 0; n < batch; n++) b.CopyTo(y.Slice(n * Units, Units));
        }
        else
        {
            y.Clear();
        }
        var (xBuf, xOff) = input.Storage;
        var (wBuf, wOff) = kernel.Value.Storage;
        var (yBuf, yOff) = output.Storage;
        Gemm.AddABParallel(batch, Units, _inputFeatures, xBuf, xOff, _inputFeatures, wBuf, wOff, Units, yBuf, yOff, Units, Parallelism.Threads);
        if (Activation == Activation.ReLU) Activations.ReluInPlace(y);
        _input = input;
        return output;
    }

    /// <summary>
    /// Adds <c>xᵀ·dy</c> to the kernel gradient and the column sums of <c>dy</c> to the bias gradient, and returns
    /// <c>dx = dy·Wᵀ</c> (or null when <paramref name="computeInputGradient"/> is false). <c>dy</c> is the gradient
    /// of the pre-activation, i.e. masked by the ReLU when fused.
    /// </summary>
    /// <exception cref="InvalidOperationException">No forward pass preceded this call.</exception>
    /// <exception cref="ShapeMismatchException"><paramref name="outputGradient"/> is not shaped like the last output.</exception>
    public Tensor? Backward(Tensor outputGradient, bool computeInputGradient = true)
    {
        LayerBuffers.CheckOutputGradient(outputGradient, _input is null ? null : _outputView, Name);
        var input = _input!;
        var kernel = Kernel;
        int batch = input.Shape[0];

        float[] dyBuf; int dyOff;
        if (Activation == Activation.ReLU)
        {
            var masked = LayerBuffers.Ensure(ref _activationGradient, outputGradient.Length).AsSpan(0, outputGradient.Length);
            Activations.ReluBackward(_outputView!.Span, outputGradient.Span, masked);
            (dyBuf, dyOff) = (_activationGradient, 0);
        }
        else
        {
            (dyBuf, dyOff) = outputGradient.Storage;
        }

        var (xBuf, xOff) = input.Storage;
        var (dwBuf, dwOff) = kernel.Gradient.Storage;
        int threads = Parallelism.Threads;
        // dW[features, units] += xᵀ·dy: threads own disjoint rows (or columns) of dW, so no reduction is needed.
        Gemm.AddAtBParallel(_inputFeatures, Units, batch, xBuf, xOff, _inputFeatures, dyBuf, dyOff, Units, dwBuf, dwOff, Units, threads);

        if (_bias is not null)
        {
            var db = _bias.Gradient.Span;
            var dy = dyBuf.AsSpan(dyOff, batch * Units);
            for (int n = 0; n < batch; n++) TensorPrimitives.Add(db, dy.Slice(n * Units, Units), db);
        }

        if (!computeInputGradient) return null;
        var inputGradient = LayerBuffers.View(ref _inputGradient, ref _inputGradientView, input.Shape);
        inputGradient.Span.Clear();
        var (wBuf, wOff) = kernel.Value.Storage;
        var (dxBuf, dxOff) = inputGradient.Storage;
        Gemm.AddABtParallel(batch, _inputFeatures, Units, dyBuf, dyOff, Units, wBuf, wOff, Units, dxBuf, dxOff, _inputFeatures, threads);
        return inputGradient;
    }

    private InvalidOperationException NotBuilt()
        => new($"{Name} has not been built: call Build(inputShape, seed) first (a model does this).");

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: Dense({Units}, {Activation})";
}
