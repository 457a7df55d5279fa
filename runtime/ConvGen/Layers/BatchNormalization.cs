using System;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>
/// Keras' <c>BatchNormalization</c> over the last axis (the channels of an NHWC activation, the units of a Dense output):
/// <c>y = γ · (x − μ) / √(σ² + ε) + β</c>. While training, <c>μ</c> and <c>σ²</c> are the batch's mean and (biased) variance
/// over every other axis, and the moving statistics follow them: <c>moving = momentum · moving + (1 − momentum) · batch</c>.
/// Outside training the moving statistics are used. Weights, in Keras' order: <c>gamma</c> (with <c>scale</c>; ones),
/// <c>beta</c> (with <c>center</c>; zeros), then the state <c>moving_mean</c> (zeros) and <c>moving_variance</c> (ones).
/// </summary>
/// <remarks>
/// Each pass is split over the worker threads by samples in phases: per-thread sums, then the statistics every thread
/// computes alike from all the sums (in a fixed order, so results do not depend on the thread count's timing), then the
/// normalization of each thread's samples.
/// <para>
/// In <c>Predict</c> and <c>Evaluate</c>, when it reads only a convolution or Dense layer without an activation that nothing
/// else reads, the model folds it into that layer (<see cref="ModelNode.FoldedInto"/>): the layer runs with its kernel and
/// bias scaled and shifted per channel, and this layer runs no pass (docs/runtime.md).
/// </para>
/// </remarks>
public sealed partial class BatchNormalization : Layer
{
    /// <inheritdoc/>
    protected internal override bool RunsOnSampleChunks => true;

    /// <summary>ONNX's <c>BatchNormalization</c> in its inference form: the moving statistics, <c>γ</c> 1 and <c>β</c> 0 where absent.</summary>
    internal override void ExportOnnx(Onnx.OnnxExport onnx)
    {
        int f = _features;
        var gamma = Scale ? Parameters[0].Value.Values : new float[f].AsSpan();
        if (!Scale) gamma.Fill(1f);
        var beta = Center ? Parameters[Scale ? 1 : 0].Value.Values : new float[f];
        onnx.Node("BatchNormalization",
            [onnx.Input(), onnx.Initializer("gamma", [f], gamma), onnx.Initializer("beta", [f], beta),
             onnx.Initializer("moving_mean", [f], State[0].Value.Values), onnx.Initializer("moving_variance", [f], State[1].Value.Values)],
            onnx.Output, Onnx.OnnxExport.Float("epsilon", Epsilon));
    }

    private int _features;
    private float[] _mean = [], _inverseStd = [];

    /// <summary>Creates the layer with Keras' defaults.</summary>
    /// <param name="momentum">Weight of the old moving statistics, in <c>[0, 1]</c>.</param>
    /// <param name="epsilon">Added to the variance; finite and positive.</param>
    /// <param name="center">Whether to learn the offset <c>beta</c>.</param>
    /// <param name="scale">Whether to learn the factor <c>gamma</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="momentum"/> is outside <c>[0, 1]</c> or <paramref name="epsilon"/> is not finite and positive.</exception>
    public BatchNormalization(float momentum = 0.99f, float epsilon = 1e-3f, bool center = true, bool scale = true)
    {
        if (!(momentum >= 0f && momentum <= 1f))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must be in [0, 1], such as Keras' 0.99.");
        if (!(float.IsFinite(epsilon) && epsilon > 0f))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be finite and greater than 0, such as Keras' 0.001.");
        (Momentum, Epsilon, Center, Scale) = (momentum, epsilon, center, scale);
    }

    /// <inheritdoc/>
    protected override string BaseName => "batch_normalization";

    /// <summary>Weight of the old moving statistics in each update.</summary>
    public float Momentum { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public float Epsilon { get; }

    /// <summary>Whether <c>beta</c> is learned.</summary>
    public bool Center { get; }

    /// <summary>Whether <c>gamma</c> is learned.</summary>
    public bool Scale { get; }

    /// <inheritdoc/>
    protected internal override int ForwardPhases => 3;

    /// <inheritdoc/>
    protected internal override int BackwardPhases => 2;

    /// <inheritdoc/>
    protected internal override Shape Build(LayerBuild build)
    {
        var shape = build.InputShape;
        _features = shape[shape.Rank - 1];
        var features = new Shape(_features);
        if (Scale) build.AddParameter("gamma", features, new Ones());
        if (Center) build.AddParameter("beta", features, new Zeros());
        build.AddState("moving_mean", features, new Zeros());
        build.AddState("moving_variance", features, new Ones());
        build.ScratchPerThread = 2 * _features;
        // The statistics of the last forward pass, as patterns (BatchNormalization.Kernels.cs), for the backward pass.
        _mean = new float[PatternLength(_features)];
        _inverseStd = new float[_mean.Length];
        return shape;
    }

    /// <summary>
    /// Training: phase 0 sums each thread's samples per feature, phase 1 the squared deviations from the mean, phase 2
    /// normalizes (thread 0 also updates the moving statistics). Inference: phase 2 normalizes with the moving statistics.
    /// </summary>
    protected internal override void RunForward(in NodeContext c)
    {
        int f = _features, p = _mean.Length;
        var (s, e) = c.Rows;
        int rows = c.OutputShape.Size / f;
        var x = c.Input().Slice(s * rows * f, (e - s) * rows * f);
        var scratch = c.Scratch;
        if (c.Phase == 0 || c.Phase == 1)
        {
            if (!c.Training) return;
            Span<double> acc = p <= MaxPattern ? stackalloc double[p] : new double[p];
            acc.Clear();
            if (c.Phase == 0)
            {
                SumPerPosition(x, default, acc);
            }
            else
            {
                Span<float> mean = p <= MaxPattern ? stackalloc float[p] : new float[p];
                BatchMean(c, mean.Slice(0, f));
                Repeat(mean.Slice(0, f), mean);
                SumPerPosition(x, mean, acc);
            }
            Span<double> sums = f <= MaxPattern ? stackalloc double[f] : new double[f];
            Fold(acc, sums);
            var slot = scratch.Slice(c.Phase * f, f);
            for (int j = 0; j < f; j++) slot[j] = (float)sums[j];
            return;
        }

        // Phase 2: the statistics this pass uses, the same on every thread, then each thread's samples.
        Span<float> mu = f <= 1024 ? stackalloc float[f] : new float[f];
        Span<float> inverseStd = f <= 1024 ? stackalloc float[f] : new float[f];
        var movingMean = c.State(0);
        var movingVariance = c.State(1);
        if (c.Training)
        {
            BatchMean(c, mu);
            long count = (long)c.Batch * rows;
            for (int j = 0; j < f; j++)
            {
                double squares = 0;
                for (int part = 0; part < c.Parts; part++) squares += c.ScratchOf(part)[f + j];
                float variance = (float)(squares / count);
                inverseStd[j] = 1f / MathF.Sqrt(variance + Epsilon);
                if (c.Part == 0)
                {
                    movingMean[j] = Momentum * movingMean[j] + (1 - Momentum) * mu[j];
                    movingVariance[j] = Momentum * movingVariance[j] + (1 - Momentum) * variance;
                }
            }
        }
        else
        {
            for (int j = 0; j < f; j++)
            {
                mu[j] = movingMean[j];
                inverseStd[j] = 1f / MathF.Sqrt(movingVariance[j] + Epsilon);
            }
        }
        // Kept for a backward pass, which only a forward pass that keeps its activations can have (in Predict several
        // depth-first parts are each part 0).
        if (c.Part == 0 && c.KeepActivations)
        {
            Repeat(mu, _mean);
            Repeat(inverseStd, _inverseStd);
        }
        var gamma = Scale ? c.Parameter(0) : default;
        var beta = Center ? c.Parameter(Scale ? 1 : 0) : default;
        Span<float> factor = p <= MaxPattern ? stackalloc float[p] : new float[p];
        Span<float> offset = p <= MaxPattern ? stackalloc float[p] : new float[p];
        for (int j = 0; j < f; j++)
        {
            factor[j] = (Scale ? gamma[j] : 1f) * inverseStd[j];
            offset[j] = (Center ? beta[j] : 0f) - mu[j] * factor[j];
        }
        Repeat(factor.Slice(0, f), factor);
        Repeat(offset.Slice(0, f), offset);
        ScaleShift(x, factor, offset, c.Output.Slice(s * rows * f, (e - s) * rows * f));
    }

    /// <summary>
    /// Phase 0 sums <c>dy</c> and <c>dy · x̂</c> per feature over each thread's samples; phase 1 adds them up, thread 0 adds the
    /// <c>gamma</c> and <c>beta</c> gradients, and each thread writes its samples' input gradient (with the batch statistics'
    /// own gradient after a training pass; a plain scale after an inference pass).
    /// </summary>
    protected internal override void RunBackward(in NodeContext c)
    {
        int f = _features, p = _mean.Length;
        var (s, e) = c.Rows;
        int rows = c.OutputShape.Size / f;
        var x = c.Input().Slice(s * rows * f, (e - s) * rows * f);
        var dy = c.OutputGradient.Slice(s * rows * f, (e - s) * rows * f);
        if (c.Phase == 0)
        {
            Span<double> accDy = p <= MaxPattern ? stackalloc double[p] : new double[p];
            Span<double> accDyXhat = p <= MaxPattern ? stackalloc double[p] : new double[p];
            accDy.Clear();
            accDyXhat.Clear();
            GradientSums(x, dy, _mean, _inverseStd, accDy, accDyXhat);
            Span<double> sumDy = f <= MaxPattern ? stackalloc double[f] : new double[f];
            Span<double> sumDyXhat = f <= MaxPattern ? stackalloc double[f] : new double[f];
            Fold(accDy, sumDy);
            Fold(accDyXhat, sumDyXhat);
            var scratch = c.Scratch;
            for (int j = 0; j < f; j++) (scratch[j], scratch[f + j]) = ((float)sumDy[j], (float)sumDyXhat[j]);
            return;
        }

        Span<float> totalDy = p <= MaxPattern ? stackalloc float[p] : new float[p];
        Span<float> totalDyXhat = p <= MaxPattern ? stackalloc float[p] : new float[p];
        for (int j = 0; j < f; j++)
        {
            double a = 0, b = 0;
            for (int part = 0; part < c.Parts; part++) { a += c.ScratchOf(part)[j]; b += c.ScratchOf(part)[f + j]; }
            (totalDy[j], totalDyXhat[j]) = ((float)a, (float)b);
        }
        if (c.Part == 0)
        {
            if (Scale)
            {
                var dGamma = c.Gradient(0);
                for (int j = 0; j < f; j++) dGamma[j] += totalDyXhat[j];
            }
            if (Center)
            {
                var dBeta = c.Gradient(Scale ? 1 : 0);
                for (int j = 0; j < f; j++) dBeta[j] += totalDy[j];
            }
        }
        if (!c.ComputesInputGradient()) return;
        var gamma = Scale ? c.Parameter(0) : default;
        Span<float> k = p <= MaxPattern ? stackalloc float[p] : new float[p];
        for (int j = 0; j < f; j++) k[j] = (Scale ? gamma[j] : 1f) * _inverseStd[j];
        Repeat(k.Slice(0, f), k);
        Repeat(totalDy.Slice(0, f), totalDy);
        Repeat(totalDyXhat.Slice(0, f), totalDyXhat);
        InputGradient(x, dy, k, c.Training ? _mean : default, _inverseStd, totalDy, totalDyXhat, (float)((long)c.Batch * rows),
            c.AccumulatesInputGradient(), c.InputGradient().Slice(s * rows * f, (e - s) * rows * f));
    }

    // ------------------------------------------------------------------ folding into the layer before, for inference

    /// <summary>
    /// The factor of the inference pass per feature, <c>γ / √(moving_variance + ε)</c> (<c>γ = 1</c> without
    /// <see cref="Scale"/>), computed in double, written as often as it fits into <paramref name="scale"/>
    /// (a whole number of times; see <see cref="MultiplyPerChannel"/>).
    /// </summary>
    internal void FoldedScale(Span<float> scale)
    {
        int f = _features;
        var gamma = Scale ? Parameters[0].Value.Values : default;
        var variance = State[1].Value.Values;
        for (int j = 0; j < f; j++) scale[j] = (float)((Scale ? gamma[j] : 1.0) / Math.Sqrt((double)variance[j] + Epsilon));
        for (int r = f; r < scale.Length; r += f) scale.Slice(0, f).CopyTo(scale.Slice(r, f));
    }

    /// <summary>
    /// The bias of the layer before with this layer folded in, <c>(b − moving_mean) · scale + β</c> per feature (<c>b = 0</c>
    /// when <paramref name="bias"/> is empty, <c>β = 0</c> without <see cref="Center"/>), computed in double, into
    /// <paramref name="folded"/> (one per feature); <paramref name="scale"/> is <see cref="FoldedScale"/>'s.
    /// </summary>
    internal void FoldedBias(ReadOnlySpan<float> bias, ReadOnlySpan<float> scale, Span<float> folded)
    {
        int f = _features;
        var beta = Center ? Parameters[Scale ? 1 : 0].Value.Values : default;
        var mean = State[0].Value.Values;
        for (int j = 0; j < f; j++)
            folded[j] = (float)(((bias.IsEmpty ? 0.0 : bias[j]) - mean[j]) * scale[j] + (Center ? beta[j] : 0.0));
    }

    /// <summary>
    /// <c>y[i] = x[i] · pattern[i % pattern.Length]</c>, where <paramref name="pattern"/> is one value per channel repeated
    /// (a whole number of times) and <paramref name="x"/> starts at channel 0: a kernel scaled per output channel, in vector
    /// runs as long as the pattern rather than one short run per channel row.
    /// </summary>
    internal static void MultiplyPerChannel(ReadOnlySpan<float> x, ReadOnlySpan<float> pattern, Span<float> y)
    {
        int i = 0, p = pattern.Length;
        for (; i + p <= x.Length; i += p) TensorPrimitives.Multiply(x.Slice(i, p), pattern, y.Slice(i, p));
        if (i < x.Length) TensorPrimitives.Multiply(x.Slice(i), pattern.Slice(0, x.Length - i), y.Slice(i));
    }

    /// <summary>
    /// Samples a layer runs its kernel on at a time before it applies a folded activation to their output
    /// (<see cref="NodeContext.FinishFolded"/>), so the output is still in cache: about 256 KB of output, at least one sample.
    /// </summary>
    internal static int SamplesPerFoldedChunk(int outputPerSample) => Math.Max(1, (1 << 16) / outputPerSample);

    /// <summary>The batch mean per feature, from every thread's phase-0 sums in thread order.</summary>
    private void BatchMean(in NodeContext c, Span<float> mean)
    {
        int f = _features;
        long count = (long)c.Batch * (c.OutputShape.Size / f);
        for (int j = 0; j < f; j++)
        {
            double sum = 0;
            for (int p = 0; p < c.Parts; p++) sum += c.ScratchOf(p)[j];
            mean[j] = (float)(sum / count);
        }
    }
}
