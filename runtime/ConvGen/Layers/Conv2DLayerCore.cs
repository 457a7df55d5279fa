using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace ConvGen;

/// <summary>
/// The layer object behind every generated <c>[Conv2D]</c> class: parameters, reusable buffers, batch splitting across
/// <see cref="Parallelism.Threads"/> and the fused activation. The arithmetic is the generated
/// <typeparamref name="TKernel"/>'s; this class only arranges it.
/// </summary>
/// <typeparam name="TKernel">The generated class.</typeparam>
public sealed class Conv2DLayerCore<TKernel> where TKernel : IConv2DKernel
{
    private readonly Conv2DSpec _spec = TKernel.Spec;
    private readonly Parameter[] _parameters;

    // Buffers kept between calls so a training step allocates nothing proportional to the batch.
    private float[] _output = [];
    private float[] _inputGradient = [];
    private float[] _activationGradient = [];
    private float[][] _weightGradientChunks = [];
    private float[][] _biasGradientChunks = [];
    private Tensor? _input, _outputView, _inputGradientView;

    /// <summary>Creates the layer with Glorot-uniform weights drawn from <paramref name="seed"/> and a zero bias.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    public Conv2DLayerCore(string name, int seed)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Kernel = new Parameter("kernel", new Shape(_spec.KernelHeight, _spec.KernelWidth, _spec.InputChannels, _spec.Filters));
        Bias = _spec.UseBias ? new Parameter("bias", new Shape(_spec.Filters)) : null;
        _parameters = Bias is null ? [Kernel] : [Kernel, Bias];
        Initialize(seed);
    }

    /// <summary>The layer's display name.</summary>
    public string Name { get; }

    /// <summary>The HWIO kernel <c>[KH, KW, C, F]</c>.</summary>
    public Parameter Kernel { get; }

    /// <summary>The bias <c>[F]</c>, or null without bias.</summary>
    public Parameter? Bias { get; }

    /// <summary>Kernel, then bias if present.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Re-initializes: Glorot-uniform kernel from <paramref name="seed"/>, zero bias (Keras defaults).</summary>
    public void Initialize(int seed) => Initialize(seed, new GlorotUniform(), new Zeros());

    /// <summary>Re-initializes with the given initializers, drawing from <paramref name="seed"/>.</summary>
    public void Initialize(int seed, IInitializer kernel, IInitializer bias)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(bias);
        var random = new Random(seed);
        int receptive = _spec.KernelHeight * _spec.KernelWidth;
        kernel.Initialize(Kernel.Value.Span, receptive * _spec.InputChannels, receptive * _spec.Filters, random);
        if (Bias is not null) bias.Initialize(Bias.Value.Span, receptive * _spec.InputChannels, receptive * _spec.Filters, random);
    }

    /// <summary>Output shape <c>(OH, OW, F)</c> of one sample of shape <c>(H, W, C)</c>.</summary>
    /// <exception cref="ShapeMismatchException">The shape is not <c>(H, W, InputChannels)</c>, or too small for a Valid kernel.</exception>
    public Shape GetOutputShape(Shape inputShape) => GetOutputShape(inputShape, nameof(inputShape));

    private Shape GetOutputShape(Shape inputShape, string paramName)
    {
        if (inputShape.Rank != 3 || inputShape[2] != _spec.InputChannels)
            throw new ShapeMismatchException(paramName, $"(height, width, {_spec.InputChannels})", inputShape.ToString(), $"{Name} takes one NHWC sample");
        try
        {
            return new Shape(TKernel.OutputHeight(inputShape[0]), TKernel.OutputWidth(inputShape[1]), _spec.Filters);
        }
        catch (ArgumentException e)
        {
            int minH = (_spec.KernelHeight - 1) * _spec.DilationHeight + 1, minW = (_spec.KernelWidth - 1) * _spec.DilationWidth + 1;
            throw new ShapeMismatchException(paramName, $"at least ({minH}, {minW}, {_spec.InputChannels}) for a Valid {_spec.KernelHeight}x{_spec.KernelWidth} kernel", inputShape.ToString(), $"{Name}: {e.Message}");
        }
    }

    /// <summary>Checks the input shape, re-initializes from <paramref name="seed"/> and returns the output shape.</summary>
    public Shape Build(Shape inputShape, int seed)
    {
        var output = GetOutputShape(inputShape);
        Initialize(seed);
        return output;
    }

    /// <summary>Runs the generated forward kernel over the batch (split across threads), then the activation.</summary>
    public Tensor Forward(Tensor input, bool training)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Shape.Rank != 4 || input.Shape[3] != _spec.InputChannels)
            throw new ShapeMismatchException(nameof(input), $"(batch, height, width, {_spec.InputChannels})", input.Shape.ToString(), $"{Name} takes an NHWC batch");
        var outShape = GetOutputShape(input.Shape.WithoutBatch(), nameof(input)).WithBatch(input.Shape[0]);
        var output = LayerBuffers.View(ref _output, ref _outputView, outShape);
        int batch = input.Shape[0], height = input.Shape[1], width = input.Shape[2];
        var (inBuf, inOff) = input.Storage;
        var (outBuf, outOff) = output.Storage;
        int inRow = height * width * _spec.InputChannels, outRow = outShape.Size / batch;
        float[] weights = Kernel.Value.Storage.Buffer;
        float[] bias = Bias?.Value.Storage.Buffer ?? [];

        // Samples are independent in the forward pass: any split gives the same bits.
        LayerBuffers.ForChunks(batch, (long)outRow * _spec.KernelHeight * _spec.KernelWidth * _spec.InputChannels, (s, e) =>
            TKernel.Forward(inBuf.AsSpan(inOff + s * inRow, (e - s) * inRow), e - s, height, width, weights, bias,
                outBuf.AsSpan(outOff + s * outRow, (e - s) * outRow)));
        if (_spec.Activation == Activation.ReLU) Activations.ReluInPlace(output.Span);
        _input = input;
        return output;
    }

    /// <summary>Accumulates the kernel and bias gradients and returns the input gradient (or null when not asked for).</summary>
    public Tensor? Backward(Tensor outputGradient, bool computeInputGradient)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        if (_input is null || _outputView is null)
            throw new InvalidOperationException($"{Name}.Backward was called before Forward.");
        if (outputGradient.Shape != _outputView.Shape)
            throw new ShapeMismatchException(nameof(outputGradient), _outputView.Shape.ToString(), outputGradient.Shape.ToString(), $"{Name}.Backward needs the shape of the last forward output");

        var input = _input;
        int batch = input.Shape[0], height = input.Shape[1], width = input.Shape[2];
        ReadOnlySpan<float> dOut = outputGradient.Span;
        float[] dOutBuf; int dOutOff;
        if (_spec.Activation == Activation.ReLU)
        {
            // The ReLU mask folds into the gradient: d(pre-activation) = d(out) where out > 0, else 0.
            if (_activationGradient.Length < dOut.Length) _activationGradient = new float[dOut.Length];
            Activations.ReluBackward(_outputView.Span, dOut, _activationGradient.AsSpan(0, dOut.Length));
            (dOutBuf, dOutOff) = (_activationGradient, 0);
        }
        else
        {
            (dOutBuf, dOutOff) = outputGradient.Storage;
        }

        Tensor? inputGradient = null;
        if (computeInputGradient)
        {
            inputGradient = LayerBuffers.View(ref _inputGradient, ref _inputGradientView, input.Shape);
            inputGradient.Span.Clear();
        }
        var (inBuf, inOff) = input.Storage;
        int inRow = height * width * _spec.InputChannels, outRow = outputGradient.Shape.Size / batch;
        float[] weights = Kernel.Value.Storage.Buffer;
        float[] dW = Kernel.Gradient.Storage.Buffer;
        float[] dB = Bias?.Gradient.Storage.Buffer ?? [];

        int chunks = Math.Min(Parallelism.Threads, batch);
        if (chunks == 1)
        {
            TKernel.Backward(input.Span, batch, height, width, weights, dOutBuf.AsSpan(dOutOff, outputGradient.Length),
                inputGradient is null ? Span<float>.Empty : inputGradient.Span, dW, dB);
            return inputGradient;
        }

        // Chunk 0 accumulates straight into the gradients; the others into zeroed scratch buffers that are then
        // added in chunk order, so the sum is the same every run for a given thread count.
        EnsureChunkBuffers(chunks, dW.Length, dB.Length);
        var (dInBuf, dInOff) = inputGradient?.Storage ?? ([], 0);
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, c =>
        {
            var (s, e) = Parallelism.ChunkRange(batch, chunks, c);
            Span<float> dWc = c == 0 ? dW : _weightGradientChunks[c];
            Span<float> dBc = c == 0 ? dB : _biasGradientChunks[c];
            if (c != 0) { dWc.Clear(); dBc.Clear(); }
            TKernel.Backward(inBuf.AsSpan(inOff + s * inRow, (e - s) * inRow), e - s, height, width, weights,
                dOutBuf.AsSpan(dOutOff + s * outRow, (e - s) * outRow),
                inputGradient is null ? Span<float>.Empty : dInBuf.AsSpan(dInOff + s * inRow, (e - s) * inRow), dWc, dBc);
        });
        for (int c = 1; c < chunks; c++)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(dW, _weightGradientChunks[c], dW);
            if (dB.Length > 0) System.Numerics.Tensors.TensorPrimitives.Add(dB, _biasGradientChunks[c], dB);
        }
        return inputGradient;
    }

    private void EnsureChunkBuffers(int chunks, int weightCount, int biasCount)
    {
        if (_weightGradientChunks.Length >= chunks) return;
        var w = new float[chunks][];
        var b = new float[chunks][];
        for (int c = 0; c < chunks; c++)
        {
            w[c] = c < _weightGradientChunks.Length ? _weightGradientChunks[c] : new float[weightCount];
            b[c] = c < _biasGradientChunks.Length ? _biasGradientChunks[c] : new float[biasCount];
        }
        (_weightGradientChunks, _biasGradientChunks) = (w, b);
    }
}
