using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ConvGen.Internal;
using static ConvGen.Internal.Simd;

namespace ConvGen;

/// <summary>
/// Winograd's minimal filtering <c>F(m×m, r×r)</c> (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016)
/// for the inference of stride-1, undilated, ungrouped convolutions: each α×α patch of the input (<c>α = m + r − 1</c>: 6 for
/// 3x3 kernels, 8 for 5x5; neighbouring patches overlapping by <c>r − 1</c>) becomes <c>Bᵀ d B</c>, each filter <c>G g Gᵀ</c>
/// (once per weights version), and an <c>m×m</c> tile of the output is <c>Aᵀ [Σ_c (G g Gᵀ) ⊙ (Bᵀ d B)] A</c>: for each of the
/// α² positions a matrix product of the tiles' transformed inputs and the transformed filters, <c>α²/m²</c> multiply-adds per
/// output, channel and filter where the direct convolution has <c>r²</c> (2.25 for 9 with <c>F(4×4, 3×3)</c>, 4 for 25 with
/// <c>F(4×4, 5×5)</c>).
/// </summary>
/// <remarks>
/// <para>
/// NHWC keeps the channels of a pixel together, so the transforms run on vectors of channels (or filters) with additions and
/// fused multiply-adds by the small constants of <c>Bᵀ</c> and <c>Aᵀ</c>, and each position's product is a register-blocked
/// matrix product over a block of tiles (the block's transformed inputs and outputs stay in L2). The output transform adds the
/// bias and applies the epilogue (a folded ReLU or ReLU6, or the folded residual Add) as it stores, and with a fused 2x2 max pool
/// stores only the pool's output.
/// </para>
/// <para>
/// The sums are those of the direct convolution in another order and through the transforms: the results differ from the direct
/// kernels' in the last bits (measured against a double-precision reference in the tests: within a few units of float rounding of
/// the sum of the products' magnitudes). Inference only: training runs the direct kernels, whose outputs its gradients are of.
/// </para>
/// </remarks>
internal sealed class Winograd
{
    /// <summary><c>F(4×4, 3×3)</c>.</summary>
    internal static readonly Winograd F4x3 = new(4, 3);

    /// <summary>
    /// <c>F(4×4, 5×5)</c>: 8x8 patches, the points ±1/2 added. It replaced <c>F(2×2, 5×5)</c> (6x6 patches, 9 multiply-adds per
    /// output instead of 4), which ran the tutorial network's inference 0-24% slower (Zen 5, 2026-12-07).
    /// </summary>
    internal static readonly Winograd F4x5 = new(4, 5);

    /// <summary>Floats of transformed inputs and outputs per block of tiles (128 KB, within L2).</summary>
    private const int BlockFloats = 32 * 1024;

    /// <summary>Tiles per block are a multiple of this: the matrix product's register blocks are 6 or 12 tiles.</summary>
    private const int TileGrain = 6;

    /// <summary>The calling thread's transformed inputs, products, patch copy and transform scratch, grown as needed (pinned, used from a 64-byte boundary).</summary>
    [ThreadStatic] private static float[]? t_work;

    /// <summary>The filter transform <c>G</c>, <c>α×r</c>, in double precision.</summary>
    private readonly double[,] _g;

    private Winograd(int m, int r)
    {
        Outputs = m;
        Kernel = r;
        Alpha = m + r - 1;
        // Interpolation points 0, 1, −1, 2, −2 (and 1/2, −1/2 for 8x8 patches) and infinity (Cook-Toom): row i of G is
        // (1, a, a², …) / Π_{j≠i} (a − a_j) for the point a = a_i, so that Bᵀ's rows are the coefficients of Π_{j≠i} (x − a_j),
        // which for these points are exact in float. (F(2×2, 3×3), with 4x4 patches, measured slower than both the direct
        // kernels and F(4×4, 3×3) in ResNet-20: its transforms cost as much per output as the products they save.)
        double[] points = Alpha switch
        {
            6 => [0, 1, -1, 2, -2],
            8 => [0, 1, -1, 2, -2, 0.5, -0.5],
            _ => throw new ArgumentOutOfRangeException(nameof(m), $"F({m}×{m}, {r}×{r}) has {Alpha}x{Alpha} patches; the transforms are written for 6x6 and 8x8."),
        };
        _g = new double[Alpha, r];
        for (int i = 0; i < Alpha - 1; i++)
        {
            double product = 1;
            for (int j = 0; j < Alpha - 1; j++)
                if (j != i) product *= points[i] - points[j];
            double scale = 1 / product;
            for (int k = 0; k < r; k++)
                _g[i, k] = scale * Math.Pow(points[i], k);
        }
        _g[Alpha - 1, r - 1] = 1;
    }

    /// <summary>Outputs per tile side, <c>m</c>.</summary>
    internal int Outputs { get; }

    /// <summary>Kernel side, <c>r</c>.</summary>
    internal int Kernel { get; }

    /// <summary>Patch side, <c>α = m + r − 1</c>: 6 or 8.</summary>
    internal int Alpha { get; }

    /// <summary>
    /// The algorithm for a convolution's inference, or null where the direct kernels run: stride 1, no dilation, one group, a
    /// square 3x3 (<see cref="F4x3"/>) or 5x5 (<see cref="F4x5"/>) kernel, channels and filters multiples of 16 (whole vectors at
    /// every width), and products long enough to pay for the transforms: the multiply-adds saved per output, channel and filter
    /// (6.75 for 3x3, 21 for 5x5) times <c>C·F / (C + F)</c> at least <see cref="MinSavedPerTransform"/>.
    /// </summary>
    internal static Winograd? For(in Conv2DSpec s)
    {
        if (s.Groups != 1 || s.StrideHeight != 1 || s.StrideWidth != 1 || s.DilationHeight != 1 || s.DilationWidth != 1
            || s.Padding is not (Padding.Same or Padding.Valid) || s.KernelHeight != s.KernelWidth
            || s.InputChannels % 16 != 0 || s.Filters % 16 != 0)
            return null;
        var winograd = s.KernelHeight switch { 3 => F4x3, 5 => F4x5, _ => null };
        if (winograd is null) return null;
        double saved = s.KernelHeight * s.KernelHeight - (double)winograd.Alpha * winograd.Alpha / (winograd.Outputs * winograd.Outputs);
        return saved * s.InputChannels * s.Filters >= MinSavedPerTransform * (s.InputChannels + s.Filters) ? winograd : null;
    }

    /// <summary>
    /// The least multiply-adds saved per transformed value (<see cref="For"/>): ResNet-20's 3x3 layers with 16 channels (54) ran
    /// slower with Winograd than with the direct kernels, those with 32 and 64 (108, 216) faster (Zen 5, 2026-12-07).
    /// </summary>
    private const double MinSavedPerTransform = 80;

    /// <summary>
    /// The fewest tiles a pass's output must have for Winograd to run the layer: a 7x7 output of one sample is 4 tiles of
    /// <see cref="F4x3"/>, too few to pay for reading a transformed kernel 4 times the size of the direct kernels' (measured
    /// slower than the direct kernels in ResNet-20 at batch 1).
    /// </summary>
    internal const int MinTiles = 8;

    /// <summary>Whether <paramref name="samples"/> samples of <paramref name="rows"/> output rows of width <paramref name="width"/> have enough tiles (<see cref="MinTiles"/>).</summary>
    internal bool Pays(int samples, int rows, int width) => (long)samples * ((rows + Outputs - 1) / Outputs) * ((width + Outputs - 1) / Outputs) >= MinTiles;

    /// <summary>Floats of the transformed filters: <c>α² · channels · filters</c>.</summary>
    internal int TransformedLength(int channels, int filters) => Alpha * Alpha * channels * filters;

    /// <summary>
    /// <paramref name="transformed"/><c>[ξ·α + ν, c, f] = (G g Gᵀ)[ξ, ν]</c> for the HWIO kernel <paramref name="weights"/>
    /// <c>[r, r, channels, filters]</c>, computed in double precision.
    /// </summary>
    internal void TransformWeights(ReadOnlySpan<float> weights, int channels, int filters, Span<float> transformed)
    {
        int a = Alpha, r = Kernel, cf = channels * filters;
        if (weights.Length != r * r * cf) throw new ArgumentException($"The kernel has {weights.Length} weights; [{r}, {r}, {channels}, {filters}] needs {r * r * cf}.", nameof(weights));
        if (transformed.Length != TransformedLength(channels, filters)) throw new ArgumentException($"The transformed kernel needs {TransformedLength(channels, filters)} floats, not {transformed.Length}.", nameof(transformed));
        Span<double> g = stackalloc double[r * r];
        Span<double> gt = stackalloc double[a * r];
        for (int q = 0; q < cf; q++)
        {
            for (int k = 0; k < r * r; k++) g[k] = weights[k * cf + q];
            for (int i = 0; i < a; i++)
                for (int kw = 0; kw < r; kw++)
                {
                    double sum = 0;
                    for (int kh = 0; kh < r; kh++) sum += _g[i, kh] * g[kh * r + kw];
                    gt[i * r + kw] = sum;
                }
            for (int i = 0; i < a; i++)
                for (int j = 0; j < a; j++)
                {
                    double sum = 0;
                    for (int kw = 0; kw < r; kw++) sum += gt[i * r + kw] * _g[j, kw];
                    transformed[(i * a + j) * cf + q] = (float)sum;
                }
        }
    }

    /// <summary>
    /// The convolution of <paramref name="batch"/> NHWC samples <c>[height, width, channels]</c> with the transformed kernel
    /// (<see cref="TransformWeights"/>), stride 1, the input's first row and column at <paramref name="padTop"/> and
    /// <paramref name="padLeft"/> (taps outside it zero): output rows <c>[rowStart, rowEnd)</c> of every sample
    /// (<c>[outputHeight, outputWidth, filters]</c>), <paramref name="bias"/> (or none, when empty) added, then
    /// <paramref name="residual"/> (laid out as the output; none when empty) added, then <paramref name="activation"/> (None,
    /// ReLU or ReLU6). With <paramref name="pool"/>, <paramref name="output"/> receives the 2x2, stride-2 max pool of those rows
    /// instead (<c>[outputHeight / 2, outputWidth / 2, filters]</c>; the rows, the output's size and <see cref="Outputs"/> even).
    /// </summary>
    internal void Forward(ReadOnlySpan<float> input, int batch, int height, int width, int channels, int filters, int padTop, int padLeft,
        int outputHeight, int outputWidth, ReadOnlySpan<float> transformed, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual,
        Span<float> output, int rowStart, int rowEnd, Activation activation, bool pool)
    {
        if (channels % 16 != 0 || filters % 16 != 0) throw new ArgumentException($"Channels ({channels}) and filters ({filters}) must be multiples of 16.");
        if (input.Length < batch * height * width * channels) throw new ArgumentException($"The input has {input.Length} floats; {batch} samples of [{height}, {width}, {channels}] need {batch * height * width * channels}.", nameof(input));
        if (transformed.Length != TransformedLength(channels, filters)) throw new ArgumentException($"The transformed kernel has {transformed.Length} floats, not {TransformedLength(channels, filters)}.", nameof(transformed));
        if (!bias.IsEmpty && bias.Length < filters) throw new ArgumentException($"The bias has {bias.Length} floats, not {filters}.", nameof(bias));
        if (pool && (outputHeight % 2 != 0 || outputWidth % 2 != 0 || rowStart % 2 != 0 || rowEnd % 2 != 0 || Outputs % 2 != 0 || !residual.IsEmpty))
            throw new ArgumentException("A pooled forward needs an even output size, even rows, an even tile and no residual.", nameof(pool));
        long outputs = (long)batch * (pool ? outputHeight / 2 * (outputWidth / 2) : outputHeight * outputWidth) * filters;
        if (output.Length < outputs) throw new ArgumentException($"The output has {output.Length} floats; it needs {outputs}.", nameof(output));
        if (!residual.IsEmpty && residual.Length < outputs) throw new ArgumentException($"The residual has {residual.Length} floats; it needs {outputs}.", nameof(residual));
        if (activation is not (Activation.None or Activation.ReLU or Activation.ReLU6)) throw new ArgumentException($"{activation} is not an activation the Winograd kernels apply (None, ReLU, ReLU6).", nameof(activation));
        rowStart = Math.Max(rowStart, 0);
        rowEnd = Math.Min(rowEnd, outputHeight);
        if (batch <= 0 || rowEnd <= rowStart) return;
        var job = new Job(this, batch, height, width, channels, filters, padTop, padLeft, outputHeight, outputWidth, rowStart, rowEnd, pool);
        switch (Simd.Lanes)
        {
            case 16: ForwardEpilogue<Vector512<float>>(job, input, transformed, bias, residual, output, activation); break;
            case 8: ForwardEpilogue<Vector256<float>>(job, input, transformed, bias, residual, output, activation); break;
            default: ForwardEpilogue<Vector128<float>>(job, input, transformed, bias, residual, output, activation); break;
        }
    }

    private static void ForwardEpilogue<V>(in Job job, ReadOnlySpan<float> input, ReadOnlySpan<float> transformed, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> residual, Span<float> output, Activation activation) where V : struct
    {
        if (!residual.IsEmpty)
        {
            switch (activation)
            {
                case Activation.ReLU: Forward<V, ResidualEpilogue<ReluEpilogue>>(job, input, transformed, bias, residual, output); break;
                case Activation.ReLU6: Forward<V, ResidualEpilogue<Relu6Epilogue>>(job, input, transformed, bias, residual, output); break;
                default: Forward<V, ResidualEpilogue<NoEpilogue>>(job, input, transformed, bias, residual, output); break;
            }
            return;
        }
        switch (activation)
        {
            case Activation.ReLU: Forward<V, ReluEpilogue>(job, input, transformed, bias, output, output); break;
            case Activation.ReLU6: Forward<V, Relu6Epilogue>(job, input, transformed, bias, output, output); break;
            default: Forward<V, NoEpilogue>(job, input, transformed, bias, output, output); break;
        }
    }

    /// <summary>One call's geometry: the tiles cover output rows <c>[RowStart, RowEnd)</c> of every sample.</summary>
    private readonly struct Job
    {
        public readonly int M, Alpha, Height, Width, Channels, Filters, PadTop, PadLeft, OutputHeight, OutputWidth, RowStart, RowEnd;
        public readonly int TileRow0, TileRows, TilesWide, Tiles, BlockTiles;
        public readonly bool Pool;

        public Job(Winograd w, int batch, int height, int width, int channels, int filters, int padTop, int padLeft,
            int outputHeight, int outputWidth, int rowStart, int rowEnd, bool pool)
        {
            (M, Alpha, Height, Width, Channels, Filters, PadTop, PadLeft, OutputHeight, OutputWidth, RowStart, RowEnd, Pool) =
                (w.Outputs, w.Alpha, height, width, channels, filters, padTop, padLeft, outputHeight, outputWidth, rowStart, rowEnd, pool);
            TileRow0 = rowStart / M;
            TileRows = (rowEnd + M - 1) / M - TileRow0;
            TilesWide = (outputWidth + M - 1) / M;
            Tiles = batch * TileRows * TilesWide;
            int perTile = Alpha * Alpha * (channels + filters);
            int block = Math.Max(TileGrain, BlockFloats / perTile / TileGrain * TileGrain);
            BlockTiles = Math.Min(block, (Tiles + TileGrain - 1) / TileGrain * TileGrain);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward<V, E>(in Job j, ReadOnlySpan<float> input, ReadOnlySpan<float> transformed, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> residual, Span<float> output) where V : struct where E : struct, IEpilogue
    {
        int lanes = Count<V>(), a = j.Alpha, a2 = a * a, tb = j.BlockTiles, channels = j.Channels, filters = j.Filters;
        int vSize = a2 * tb * channels, mSize = a2 * tb * filters, patch = a2 * channels;
        int need = vSize + mSize + patch + a2 * 16 + 16 * 16;
        // Every block below starts at a multiple of 16 floats from a 64-byte boundary, and so does every vector in it.
        ref float v = ref Buffers.Aligned64(Buffers.EnsureAligned(ref t_work, need));
        ref float mm = ref Unsafe.Add(ref v, vSize);
        ref float patchBuffer = ref Unsafe.Add(ref mm, mSize);
        ref float tmp = ref Unsafe.Add(ref patchBuffer, patch);
        ref float tile = ref Unsafe.Add(ref tmp, a2 * 16);
        ref float x = ref MemoryMarshal.GetReference(input);
        ref float u = ref MemoryMarshal.GetReference(transformed);
        ref float y = ref MemoryMarshal.GetReference(output);
        ref float res = ref MemoryMarshal.GetReference(residual);
        nint vPos = (nint)tb * channels, mPos = (nint)tb * filters;
        for (int t0 = 0; t0 < j.Tiles; t0 += tb)
        {
            int count = Math.Min(tb, j.Tiles - t0), rows = (count + TileGrain - 1) / TileGrain * TileGrain;
            // The inputs: each tile's patch (copied with its zeros where it overhangs the input), Bᵀ d B.
            if (a == 8) TransformInputs<V, Patch8>(j, ref x, ref patchBuffer, ref tmp, ref v, t0, count);
            else TransformInputs<V, Patch6>(j, ref x, ref patchBuffer, ref tmp, ref v, t0, count);
            // Each position's product: [rows × channels] · [channels × filters].
            for (int p = 0; p < a2; p++)
            {
                ref float vp = ref Unsafe.Add(ref v, p * vPos);
                ref float up = ref Unsafe.Add(ref u, (nint)p * channels * filters);
                ref float mp = ref Unsafe.Add(ref mm, p * mPos);
                int f0 = 0;
                for (; f0 + 2 * lanes <= filters; f0 += 2 * lanes)
                    for (int r0 = 0; r0 < rows; r0 += 6)
                        Rows6x2<V>(channels, ref Unsafe.Add(ref vp, r0 * channels), channels, ref Unsafe.Add(ref up, f0), filters,
                            ref Unsafe.Add(ref mp, r0 * filters + f0), filters);
                if (f0 < filters)
                {
                    int r0 = 0;
                    for (; r0 + 12 <= rows; r0 += 12)
                        Rows12x1<V>(channels, ref Unsafe.Add(ref vp, r0 * channels), channels, ref Unsafe.Add(ref up, f0), filters,
                            ref Unsafe.Add(ref mp, r0 * filters + f0), filters);
                    if (r0 < rows)
                        Rows6x1<V>(channels, ref Unsafe.Add(ref vp, r0 * channels), channels, ref Unsafe.Add(ref up, f0), filters,
                            ref Unsafe.Add(ref mp, r0 * filters + f0), filters);
                }
            }
            // The outputs: Aᵀ M A, the bias and the epilogue, stored where the tile is inside the rows asked for.
            if (a == 8) TransformOutputs<V, E, Patch8>(j, ref mm, ref tmp, ref tile, bias, ref y, ref res, t0, count);
            else TransformOutputs<V, E, Patch6>(j, ref mm, ref tmp, ref tile, bias, ref y, ref res, t0, count);
        }
    }

    // The transforms are methods of their own (and per patch size), not inlined into Forward: with the 8-point transforms
    // inlined there, the JIT ran out of inlining budget and called the vector helpers (Simd.Add, Store, ...) as functions.

    /// <summary>Tiles <c>[t0, t0 + count)</c>: each one's patch through <c>Bᵀ d B</c> (by columns, then rows) into the block's transformed inputs <paramref name="v"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TransformInputs<V, T>(in Job j, ref float x, ref float patchBuffer, ref float tmp, ref float v, int t0, int count)
        where V : struct where T : struct, IPatchTransform
    {
        int lanes = Count<V>(), a = j.Alpha, channels = j.Channels, perSample = j.TileRows * j.TilesWide;
        nint vPos = (nint)j.BlockTiles * channels;
        for (int k = 0; k < count; k++)
        {
            int t = t0 + k, n = t / perSample, ty = j.TileRow0 + t % perSample / j.TilesWide, tx = t % j.TilesWide;
            int iy = ty * j.M - j.PadTop, ix = tx * j.M - j.PadLeft;
            ref float source = ref PatchSource(j, ref x, ref patchBuffer, n, iy, ix, out nint rowStride);
            for (int c0 = 0; c0 < channels; c0 += lanes)
            {
                for (int col = 0; col < a; col++)
                    T.Input<V>(ref Unsafe.Add(ref source, col * channels + c0), rowStride, ref Unsafe.Add(ref tmp, col * lanes), a * lanes);
                for (int row = 0; row < a; row++)
                    T.Input<V>(ref Unsafe.Add(ref tmp, row * a * lanes), lanes, ref Unsafe.Add(ref v, row * a * vPos + (nint)k * channels + c0), vPos);
            }
        }
    }

    /// <summary>Tiles <c>[t0, t0 + count)</c>: <c>Aᵀ M A</c> of the block's products <paramref name="mm"/> (by columns, then rows), the bias, the epilogue, stored (or pooled).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TransformOutputs<V, E, T>(in Job j, ref float mm, ref float tmp, ref float tile, ReadOnlySpan<float> bias, ref float y, ref float res,
        int t0, int count) where V : struct where E : struct, IEpilogue where T : struct, IPatchTransform
    {
        int lanes = Count<V>(), a = j.Alpha, filters = j.Filters, perSample = j.TileRows * j.TilesWide;
        nint mPos = (nint)j.BlockTiles * filters;
        for (int k = 0; k < count; k++)
        {
            int t = t0 + k, n = t / perSample, ty = j.TileRow0 + t % perSample / j.TilesWide, tx = t % j.TilesWide;
            for (int f0 = 0; f0 < filters; f0 += lanes)
            {
                for (int col = 0; col < a; col++)
                    T.Output<V>(ref Unsafe.Add(ref mm, col * mPos + (nint)k * filters + f0), a * mPos, ref Unsafe.Add(ref tmp, col * lanes), a * lanes);
                for (int row = 0; row < j.M; row++)
                    T.Output<V>(ref Unsafe.Add(ref tmp, row * a * lanes), lanes, ref Unsafe.Add(ref tile, row * j.M * lanes), lanes);
                V b = bias.IsEmpty ? Zero<V>() : Load<V>(ref MemoryMarshal.GetReference(bias), f0);
                if (j.Pool) StorePooled<V, E>(j, ref tile, b, ref y, n, ty, tx, f0);
                else StoreTile<V, E>(j, ref tile, b, ref y, ref res, n, ty, tx, f0);
            }
        }
    }

    /// <summary>Where tile <c>(iy, ix)</c>'s patch is read: in the input, or copied with its zeros when it overhangs it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float PatchSource(in Job j, ref float x, ref float patch, int n, int iy, int ix, out nint rowStride)
    {
        int a = j.Alpha, channels = j.Channels;
        if (iy >= 0 && ix >= 0 && iy + a <= j.Height && ix + a <= j.Width)
        {
            rowStride = (nint)j.Width * channels;
            return ref Unsafe.Add(ref x, (((nint)n * j.Height + iy) * j.Width + ix) * channels);
        }
        rowStride = (nint)a * channels;
        for (int r = 0; r < a; r++)
        {
            var row = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref patch, r * a * channels), a * channels);
            int sy = iy + r;
            if (sy < 0 || sy >= j.Height)
            {
                row.Clear();
                continue;
            }
            int first = Math.Max(0, -ix), end = Math.Min(a, j.Width - ix);
            if (first > 0) row.Slice(0, first * channels).Clear();
            if (end < a) row.Slice(Math.Max(end, first) * channels).Clear();
            if (end > first)
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref x, (((nint)n * j.Height + sy) * j.Width + ix + first) * channels), (end - first) * channels)
                    .CopyTo(row.Slice(first * channels));
        }
        return ref patch;
    }

    /// <summary>The tile's outputs, bias added, through the epilogue, stored where they are inside the output and the rows asked for.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTile<V, E>(in Job j, ref float tile, V bias, ref float y, ref float residual, int n, int ty, int tx, int f0)
        where V : struct where E : struct, IEpilogue
    {
        int lanes = Count<V>();
        for (int r = 0; r < j.M; r++)
        {
            int oy = ty * j.M + r;
            if (oy < j.RowStart || oy >= j.RowEnd) continue;
            int columns = Math.Min(j.M, j.OutputWidth - tx * j.M);
            int at = ((n * j.OutputHeight + oy) * j.OutputWidth + tx * j.M) * j.Filters + f0;
            for (int col = 0; col < columns; col++)
            {
                int offset = at + col * j.Filters;
                Store(E.Apply(Add(Load<V>(ref tile, (r * j.M + col) * lanes), bias), ref residual, offset), ref y, offset);
            }
        }
    }

    /// <summary>The tile's outputs, bias added, through the epilogue, and the 2x2 max of each window stored in the pooled output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePooled<V, E>(in Job j, ref float tile, V bias, ref float y, int n, int ty, int tx, int f0)
        where V : struct where E : struct, IEpilogue
    {
        int lanes = Count<V>(), pooledHeight = j.OutputHeight / 2, pooledWidth = j.OutputWidth / 2;
        for (int r = 0; r < j.M; r += 2)
        {
            int oy = ty * j.M + r;
            if (oy < j.RowStart || oy >= j.RowEnd) continue;
            int columns = Math.Min(j.M, j.OutputWidth - tx * j.M);
            for (int col = 0; col < columns; col += 2)
            {
                V m00 = E.Apply(Add(Load<V>(ref tile, (r * j.M + col) * lanes), bias), ref y, 0);
                V m01 = E.Apply(Add(Load<V>(ref tile, (r * j.M + col + 1) * lanes), bias), ref y, 0);
                V m10 = E.Apply(Add(Load<V>(ref tile, ((r + 1) * j.M + col) * lanes), bias), ref y, 0);
                V m11 = E.Apply(Add(Load<V>(ref tile, ((r + 1) * j.M + col + 1) * lanes), bias), ref y, 0);
                int at = ((n * pooledHeight + oy / 2) * pooledWidth + (tx * j.M + col) / 2) * j.Filters + f0;
                Store(Max(Max(m00, m01), Max(m10, m11)), ref y, at);
            }
        }
    }

    /// <summary>The transforms of one patch size, α vectors at a time.</summary>
    private interface IPatchTransform
    {
        /// <summary><c>Bᵀ d</c> for the α vectors at <paramref name="source"/> (stride <paramref name="sourceStride"/>), stored at <paramref name="destination"/> (stride <paramref name="destinationStride"/>).</summary>
        static abstract void Input<V>(ref float source, nint sourceStride, ref float destination, nint destinationStride) where V : struct;

        /// <summary><c>Aᵀ M</c> for the α vectors at <paramref name="source"/>: 4 vectors stored at <paramref name="destination"/>.</summary>
        static abstract void Output<V>(ref float source, nint sourceStride, ref float destination, nint destinationStride) where V : struct;
    }

    /// <summary>6x6 patches, the points 0, 1, −1, 2, −2, ∞ (Lavin's <c>F(4×4, 3×3)</c>).</summary>
    private readonly struct Patch6 : IPatchTransform
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Input<V>(ref float source, nint sourceStride, ref float destination, nint destinationStride) where V : struct
        {
            V d0 = Load<V>(ref source), d1 = Load<V>(ref Unsafe.Add(ref source, sourceStride)), d2 = Load<V>(ref Unsafe.Add(ref source, 2 * sourceStride)),
                d3 = Load<V>(ref Unsafe.Add(ref source, 3 * sourceStride));
            V d4 = Load<V>(ref Unsafe.Add(ref source, 4 * sourceStride)), d5 = Load<V>(ref Unsafe.Add(ref source, 5 * sourceStride));
            V four = Broadcast<V>(4f), minusFour = Broadcast<V>(-4f), two = Broadcast<V>(2f), minusTwo = Broadcast<V>(-2f), minusFive = Broadcast<V>(-5f);
            V d3MinusD1 = Subtract(d3, d1), d4MinusD2 = Subtract(d4, d2);
            Store(Fma(d0, four, Fma(d2, minusFive, d4)), ref destination);
            Store(Fma(Add(d1, d2), minusFour, Add(d3, d4)), ref Unsafe.Add(ref destination, destinationStride));
            Store(Fma(Subtract(d1, d2), four, Subtract(d4, d3)), ref Unsafe.Add(ref destination, 2 * destinationStride));
            Store(Fma(d3MinusD1, two, d4MinusD2), ref Unsafe.Add(ref destination, 3 * destinationStride));
            Store(Fma(d3MinusD1, minusTwo, d4MinusD2), ref Unsafe.Add(ref destination, 4 * destinationStride));
            Store(Fma(d1, four, Fma(d3, minusFive, d5)), ref Unsafe.Add(ref destination, 5 * destinationStride));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Output<V>(ref float source, nint sourceStride, ref float destination, nint destinationStride) where V : struct
        {
            V m0 = Load<V>(ref source), m1 = Load<V>(ref Unsafe.Add(ref source, sourceStride)), m2 = Load<V>(ref Unsafe.Add(ref source, 2 * sourceStride)),
                m3 = Load<V>(ref Unsafe.Add(ref source, 3 * sourceStride));
            V m4 = Load<V>(ref Unsafe.Add(ref source, 4 * sourceStride)), m5 = Load<V>(ref Unsafe.Add(ref source, 5 * sourceStride));
            V sum12 = Add(m1, m2), difference12 = Subtract(m1, m2), sum34 = Add(m3, m4), difference34 = Subtract(m3, m4);
            Store(Add(Add(m0, sum12), sum34), ref destination);
            Store(Fma(difference34, Broadcast<V>(2f), difference12), ref Unsafe.Add(ref destination, destinationStride));
            Store(Fma(sum34, Broadcast<V>(4f), sum12), ref Unsafe.Add(ref destination, 2 * destinationStride));
            Store(Add(Fma(difference34, Broadcast<V>(8f), difference12), m5), ref Unsafe.Add(ref destination, 3 * destinationStride));
        }
    }

    /// <summary>8x8 patches, the points 0, 1, −1, 2, −2, 1/2, −1/2, ∞.</summary>
    private readonly struct Patch8 : IPatchTransform
    {
        /// <summary>
        /// <c>Bᵀ d</c>: for each pair ±a, the even powers' part <c>E</c> and the odd powers' part <c>O</c> of
        /// <c>x·(x + a)·Π (x² − b²)</c> over the other pairs b, and the rows <c>E ± a·O</c>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Input<V>(ref float source, nint sourceStride, ref float destination, nint destinationStride) where V : struct
        {
            V d0 = Load<V>(ref source), d1 = Load<V>(ref Unsafe.Add(ref source, sourceStride)), d2 = Load<V>(ref Unsafe.Add(ref source, 2 * sourceStride)),
                d3 = Load<V>(ref Unsafe.Add(ref source, 3 * sourceStride));
            V d4 = Load<V>(ref Unsafe.Add(ref source, 4 * sourceStride)), d5 = Load<V>(ref Unsafe.Add(ref source, 5 * sourceStride)),
                d6 = Load<V>(ref Unsafe.Add(ref source, 6 * sourceStride)), d7 = Load<V>(ref Unsafe.Add(ref source, 7 * sourceStride));
            V c525 = Broadcast<V>(5.25f), c425 = Broadcast<V>(-4.25f), c125 = Broadcast<V>(-1.25f), quarter = Broadcast<V>(0.25f),
                minusFive = Broadcast<V>(-5f), four = Broadcast<V>(4f), two = Broadcast<V>(2f), half = Broadcast<V>(0.5f);
            Store(Fma(Subtract(d2, d4), c525, Subtract(d6, d0)), ref destination);
            V e = Fma(d4, c425, Add(d2, d6)), o = Fma(d3, c425, Add(d1, d5));
            Store(Add(e, o), ref Unsafe.Add(ref destination, destinationStride));
            Store(Subtract(e, o), ref Unsafe.Add(ref destination, 2 * destinationStride));
            e = Fma(d2, quarter, Fma(d4, c125, d6));
            o = Fma(d1, quarter, Fma(d3, c125, d5));
            Store(Fma(o, two, e), ref Unsafe.Add(ref destination, 3 * destinationStride));
            Store(Fma(o, Broadcast<V>(-2f), e), ref Unsafe.Add(ref destination, 4 * destinationStride));
            e = Fma(d2, four, Fma(d4, minusFive, d6));
            o = Fma(d1, four, Fma(d3, minusFive, d5));
            Store(Fma(o, half, e), ref Unsafe.Add(ref destination, 5 * destinationStride));
            Store(Fma(o, Broadcast<V>(-0.5f), e), ref Unsafe.Add(ref destination, 6 * destinationStride));
            Store(Fma(Subtract(d3, d5), c525, Subtract(d7, d1)), ref Unsafe.Add(ref destination, 7 * destinationStride));
        }

        /// <summary><c>Aᵀ M</c>: <c>y_j = Σ a^j (M_a + (−1)^j M_−a)</c> over the pairs, plus <c>M_0</c> in <c>y_0</c> and <c>M_∞</c> in <c>y_3</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Output<V>(ref float source, nint sourceStride, ref float destination, nint destinationStride) where V : struct
        {
            V m0 = Load<V>(ref source), m1 = Load<V>(ref Unsafe.Add(ref source, sourceStride)), m2 = Load<V>(ref Unsafe.Add(ref source, 2 * sourceStride)),
                m3 = Load<V>(ref Unsafe.Add(ref source, 3 * sourceStride));
            V m4 = Load<V>(ref Unsafe.Add(ref source, 4 * sourceStride)), m5 = Load<V>(ref Unsafe.Add(ref source, 5 * sourceStride)),
                m6 = Load<V>(ref Unsafe.Add(ref source, 6 * sourceStride)), m7 = Load<V>(ref Unsafe.Add(ref source, 7 * sourceStride));
            V s1 = Add(m1, m2), d1 = Subtract(m1, m2), s2 = Add(m3, m4), d2 = Subtract(m3, m4), sh = Add(m5, m6), dh = Subtract(m5, m6);
            Store(Add(Add(m0, s1), Add(s2, sh)), ref destination);
            Store(Fma(dh, Broadcast<V>(0.5f), Fma(d2, Broadcast<V>(2f), d1)), ref Unsafe.Add(ref destination, destinationStride));
            Store(Fma(sh, Broadcast<V>(0.25f), Fma(s2, Broadcast<V>(4f), s1)), ref Unsafe.Add(ref destination, 2 * destinationStride));
            Store(Add(Fma(dh, Broadcast<V>(0.125f), Fma(d2, Broadcast<V>(8f), d1)), m7), ref Unsafe.Add(ref destination, 3 * destinationStride));
        }
    }

    /// <summary><c>C[6 × 2 vectors] = A[6 × k] · B[k × 2 vectors]</c> (overwritten); row strides <paramref name="lda"/>, <paramref name="ldb"/>, <paramref name="ldc"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows6x2<V>(int k, ref float a, nint lda, ref float b, nint ldb, ref float c, nint ldc) where V : struct
    {
        int lanes = Count<V>();
        V c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < k; p++)
        {
            V b0 = Load<V>(ref b), b1 = Load<V>(ref b, lanes);
            V x = Broadcast<V>(a); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            x = Broadcast<V>(Unsafe.Add(ref a, lda)); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            x = Broadcast<V>(Unsafe.Add(ref a, 2 * lda)); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
            x = Broadcast<V>(Unsafe.Add(ref a, 3 * lda)); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            x = Broadcast<V>(Unsafe.Add(ref a, 4 * lda)); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
            x = Broadcast<V>(Unsafe.Add(ref a, 5 * lda)); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            a = ref Unsafe.Add(ref a, 1);
            b = ref Unsafe.Add(ref b, ldb);
        }
        Store(c00, ref c); Store(c01, ref c, lanes);
        Store(c10, ref Unsafe.Add(ref c, ldc)); Store(c11, ref Unsafe.Add(ref c, ldc), lanes);
        Store(c20, ref Unsafe.Add(ref c, 2 * ldc)); Store(c21, ref Unsafe.Add(ref c, 2 * ldc), lanes);
        Store(c30, ref Unsafe.Add(ref c, 3 * ldc)); Store(c31, ref Unsafe.Add(ref c, 3 * ldc), lanes);
        Store(c40, ref Unsafe.Add(ref c, 4 * ldc)); Store(c41, ref Unsafe.Add(ref c, 4 * ldc), lanes);
        Store(c50, ref Unsafe.Add(ref c, 5 * ldc)); Store(c51, ref Unsafe.Add(ref c, 5 * ldc), lanes);
    }

    /// <summary><c>C[6 × 1 vector] = A[6 × k] · B[k × 1 vector]</c> (overwritten): the last 6 rows of a block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows6x1<V>(int k, ref float a, nint lda, ref float b, nint ldb, ref float c, nint ldc) where V : struct
    {
        V c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        for (int p = 0; p < k; p++)
        {
            V b0 = Load<V>(ref b);
            c0 = Fma(Broadcast<V>(a), b0, c0);
            c1 = Fma(Broadcast<V>(Unsafe.Add(ref a, lda)), b0, c1);
            c2 = Fma(Broadcast<V>(Unsafe.Add(ref a, 2 * lda)), b0, c2);
            c3 = Fma(Broadcast<V>(Unsafe.Add(ref a, 3 * lda)), b0, c3);
            c4 = Fma(Broadcast<V>(Unsafe.Add(ref a, 4 * lda)), b0, c4);
            c5 = Fma(Broadcast<V>(Unsafe.Add(ref a, 5 * lda)), b0, c5);
            a = ref Unsafe.Add(ref a, 1);
            b = ref Unsafe.Add(ref b, ldb);
        }
        Store(c0, ref c); Store(c1, ref Unsafe.Add(ref c, ldc)); Store(c2, ref Unsafe.Add(ref c, 2 * ldc));
        Store(c3, ref Unsafe.Add(ref c, 3 * ldc)); Store(c4, ref Unsafe.Add(ref c, 4 * ldc)); Store(c5, ref Unsafe.Add(ref c, 5 * ldc));
    }

    /// <summary><c>C[12 × 1 vector] = A[12 × k] · B[k × 1 vector]</c> (overwritten).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows12x1<V>(int k, ref float a, nint lda, ref float b, nint ldb, ref float c, nint ldc) where V : struct
    {
        V c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
            c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (int p = 0; p < k; p++)
        {
            V b0 = Load<V>(ref b);
            c0 = Fma(Broadcast<V>(a), b0, c0);
            c1 = Fma(Broadcast<V>(Unsafe.Add(ref a, lda)), b0, c1);
            c2 = Fma(Broadcast<V>(Unsafe.Add(ref a, 2 * lda)), b0, c2);
            c3 = Fma(Broadcast<V>(Unsafe.Add(ref a, 3 * lda)), b0, c3);
            c4 = Fma(Broadcast<V>(Unsafe.Add(ref a, 4 * lda)), b0, c4);
            c5 = Fma(Broadcast<V>(Unsafe.Add(ref a, 5 * lda)), b0, c5);
            c6 = Fma(Broadcast<V>(Unsafe.Add(ref a, 6 * lda)), b0, c6);
            c7 = Fma(Broadcast<V>(Unsafe.Add(ref a, 7 * lda)), b0, c7);
            c8 = Fma(Broadcast<V>(Unsafe.Add(ref a, 8 * lda)), b0, c8);
            c9 = Fma(Broadcast<V>(Unsafe.Add(ref a, 9 * lda)), b0, c9);
            c10 = Fma(Broadcast<V>(Unsafe.Add(ref a, 10 * lda)), b0, c10);
            c11 = Fma(Broadcast<V>(Unsafe.Add(ref a, 11 * lda)), b0, c11);
            a = ref Unsafe.Add(ref a, 1);
            b = ref Unsafe.Add(ref b, ldb);
        }
        Store(c0, ref c); Store(c1, ref Unsafe.Add(ref c, ldc)); Store(c2, ref Unsafe.Add(ref c, 2 * ldc));
        Store(c3, ref Unsafe.Add(ref c, 3 * ldc)); Store(c4, ref Unsafe.Add(ref c, 4 * ldc)); Store(c5, ref Unsafe.Add(ref c, 5 * ldc));
        Store(c6, ref Unsafe.Add(ref c, 6 * ldc)); Store(c7, ref Unsafe.Add(ref c, 7 * ldc)); Store(c8, ref Unsafe.Add(ref c, 8 * ldc));
        Store(c9, ref Unsafe.Add(ref c, 9 * ldc)); Store(c10, ref Unsafe.Add(ref c, 10 * ldc)); Store(c11, ref Unsafe.Add(ref c, 11 * ldc));
    }
}
