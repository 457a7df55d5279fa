using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ConvGen.Internal;
using static ConvGen.Internal.Simd;

namespace ConvGen;

/// <summary>
/// Single-precision matrix products that <b>add</b> into a row-major <c>C</c> with explicit row strides (leading dimensions):
/// <c>C += A·B</c>, <c>C += Aᵀ·B</c> and <c>C += A·Bᵀ</c>, vectorized with fused multiply-adds at the width the generated
/// kernels use (<see cref="Simd.Lanes"/>: 16 floats where 512-bit vectors are accelerated): every kernel is written once, generic
/// over the vector type, and each call picks the instantiation.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="AddAB"/> and <see cref="AddAtB"/> run the i-k-j order with j innermost over contiguous rows of <c>B</c> and <c>C</c>:
/// a cache block of <see cref="KBlock"/> rows of <c>B</c> (<see cref="NBlock"/> columns wide) is copied into a per-thread
/// buffer as column panels whose rows are adjacent, and a register block of 4 rows of <c>C</c> by one panel (4 × 4 vectors
/// with AVX-512's 32 registers, else 4 × 2) accumulates over a panel, which stays in L1 while the rows of <c>A</c> pass over it.
/// With fewer than <see cref="PackMinRows"/> rows (a small batch) nothing is packed: <c>B</c> streams through in place, four rows
/// at a time, into each row of <c>C</c>. Each element of <c>C</c> receives its products one at a time in increasing <c>k</c>, each a fused multiply-add, so the result
/// is the same as the naive sequential loop and does not depend on blocking or on how the work is split between threads.
/// </para>
/// <para>
/// <see cref="AddABt"/> multiplies rows of <c>A</c> with rows of <c>B</c> (both contiguous in <c>k</c>): a 4 by 4 (with 32 vector
/// registers) or 2 by 4 block of dot products, each accumulated lane-wise in a vector (the last partial vector masked), summed horizontally and added to <c>C</c>.
/// Every element follows the same sequence whatever the blocking, so it too is independent of the thread split.
/// </para>
/// <para>Callers split a product over threads by giving each a range of rows or columns of <c>C</c> (see <see cref="Dense"/>),
/// so each thread owns disjoint outputs and no reduction is needed.</para>
/// </remarks>
internal static class Gemm
{
    /// <summary>Rows of <c>B</c> (the <c>k</c> extent) per cache block.</summary>
    internal const int KBlock = 128;

    /// <summary>Columns of <c>B</c> and <c>C</c> per cache block: a <see cref="KBlock"/> by <see cref="NBlock"/> block is 128 KiB.</summary>
    internal const int NBlock = 256;

    /// <summary>Bytes of <c>B</c> rows <see cref="AddABt"/> keeps in cache per block.</summary>
    private const int DotBlockBytes = 128 * 1024;

    private static readonly bool s_fma =
        System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;

    /// <summary><c>a * b + c</c>, fused (one rounding) where the hardware has FMA; the scalar twin of the vector kernels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float MulAdd(float a, float b, float c) => s_fma ? MathF.FusedMultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static V MulAdd<V>(V a, V b, V c) where V : struct => Fma(a, b, c);


    // ---------------------------------------------------------------- span API (single thread)

    /// <summary>
    /// <c>C[m×n] += A[m×k] · B[k×n]</c>; row strides <paramref name="lda"/>, <paramref name="ldb"/>, <paramref name="ldc"/>. With
    /// <paramref name="skipZeros"/> (<c>B</c> known to be finite), fewer than <see cref="PackMinRows"/> rows leave out the rows of
    /// <c>B</c> their zeros multiply, as <see cref="AddAPanel"/> does.
    /// </summary>
    public static void AddAB(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool skipZeros = false)
    {
        CheckDims(m, n, k);
        CheckMatrix(a.Length, m, k, lda, nameof(a));
        CheckMatrix(b.Length, k, n, ldb, nameof(b));
        CheckMatrix(c.Length, m, n, ldc, nameof(c));
        if (m == 0 || n == 0 || k == 0) return;
        switch (Simd.Lanes)
        {
            case 16: AddABCore<Vector512<float>>(m, n, k, ref MemoryMarshal.GetReference(a), lda, 1, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(c), ldc, skipZeros); break;
            case 8: AddABCore<Vector256<float>>(m, n, k, ref MemoryMarshal.GetReference(a), lda, 1, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(c), ldc, skipZeros); break;
            default: AddABCore<Vector128<float>>(m, n, k, ref MemoryMarshal.GetReference(a), lda, 1, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(c), ldc, skipZeros); break;
        }
    }

    /// <summary><c>C[m×n] += Aᵀ · B[k×n]</c> where <c>A</c> is stored <c>[k×m]</c> with row stride <paramref name="lda"/>.</summary>
    public static void AddAtB(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        CheckDims(m, n, k);
        CheckMatrix(a.Length, k, m, lda, nameof(a));
        CheckMatrix(b.Length, k, n, ldb, nameof(b));
        CheckMatrix(c.Length, m, n, ldc, nameof(c));
        if (m == 0 || n == 0 || k == 0) return;
        switch (Simd.Lanes)
        {
            case 16: AddABCore<Vector512<float>>(m, n, k, ref MemoryMarshal.GetReference(a), 1, lda, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(c), ldc, skipZeros: false); break;
            case 8: AddABCore<Vector256<float>>(m, n, k, ref MemoryMarshal.GetReference(a), 1, lda, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(c), ldc, skipZeros: false); break;
            default: AddABCore<Vector128<float>>(m, n, k, ref MemoryMarshal.GetReference(a), 1, lda, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(c), ldc, skipZeros: false); break;
        }
    }

    /// <summary><c>C[m×n] += A[m×k] · Bᵀ</c> where <c>B</c> is stored <c>[n×k]</c> with row stride <paramref name="ldb"/>.</summary>
    public static void AddABt(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        CheckDims(m, n, k);
        CheckMatrix(a.Length, m, k, lda, nameof(a));
        CheckMatrix(b.Length, n, k, ldb, nameof(b));
        CheckMatrix(c.Length, m, n, ldc, nameof(c));
        if (m == 0 || n == 0 || k == 0) return;
        switch (Simd.Lanes)
        {
            case 16: AddABtCore<Vector512<float>>(m, n, k, ref MemoryMarshal.GetReference(a), lda, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(c), ldc); break;
            case 8: AddABtCore<Vector256<float>>(m, n, k, ref MemoryMarshal.GetReference(a), lda, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(c), ldc); break;
            default: AddABtCore<Vector128<float>>(m, n, k, ref MemoryMarshal.GetReference(a), lda, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(c), ldc); break;
        }
    }

    private static void CheckDims(int m, int n, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
    }

    private static void CheckMatrix(int length, int rows, int cols, int rowStride, string name)
    {
        if (rows == 0 || cols == 0) return;
        if (rowStride < cols)
            throw new ArgumentOutOfRangeException(name, $"Row stride {rowStride} is less than the {cols} columns of {name}.");
        long needed = (long)(rows - 1) * rowStride + cols;
        if (length < needed)
            throw new ArgumentException($"Matrix {name} ({rows}×{cols}, row stride {rowStride}) needs {needed} elements; the span has {length}.", name);
    }

    // ---------------------------------------------------------------- C += A·B kernels (A element (i, p) at i*ars + p*acs)

    /// <summary>Whether the JIT has 32 vector registers (x86 with AVX-512, whatever the vector width).</summary>
    private static readonly bool s_manyRegisters = System.Runtime.Intrinsics.X86.Avx512F.IsSupported;

    /// <summary>
    /// Vectors per packed panel of <c>B</c>, and so per row of the register tile: 4 where the JIT has 32 vector registers
    /// (AVX-512, at any vector width), for 4 rows × 4 vectors = 16 accumulators; 2 otherwise, where a
    /// 4 × 4 tile would spill (4 × 2 = 8 accumulators).
    /// </summary>
    private static readonly int s_panelVectors = System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? 4 : 2;

    /// <summary>
    /// Rows of <c>A</c> below which <c>B</c> is read in place rather than packed: packing copies every element of <c>B</c> once,
    /// which pays only when enough rows reuse it (a matrix-vector product, batch 1 inference, is bound by reading <c>B</c>).
    /// </summary>
    internal const int PackMinRows = 8;

    /// <summary>Rows of <c>A</c> that pass over one packed panel of <c>B</c> (kept in L1) before the next panel.</summary>
    private const int MBlock = 64;

    /// <summary>How many rows of <c>B</c> ahead <see cref="Pack"/> prefetches (each row of a block is its own page
    /// when the row stride is 4 KiB or more, where the hardware prefetchers start late).</summary>
    private const int PackPrefetchRows = 4;

    /// <summary>This thread's buffer for a packed <see cref="KBlock"/>×<see cref="NBlock"/> block of <c>B</c>: allocated
    /// once per thread, pinned so that the panels can start on a 64-byte boundary (no vector load straddles two cache lines).</summary>
    [ThreadStatic] private static float[]? t_packed;

    private static ref float PackBuffer() => ref Buffers.Aligned64(Buffers.EnsureAligned(ref t_packed, KBlock * NBlock));

    /// <summary>
    /// <c>C += A·B</c> by <see cref="KBlock"/>×<see cref="NBlock"/> blocks of <c>B</c>. Each block is copied into a
    /// per-thread buffer as panels of <c>w</c> columns (<see cref="s_panelVectors"/> vectors, then at most one of 2 vectors),
    /// where successive rows are adjacent, and register tiles of 4 rows of <c>C</c> by one panel run over them; the columns
    /// left over (less than 2 vectors) are read from <c>B</c> in place. Every kernel adds the products of an element of
    /// <c>C</c> one at a time in increasing <c>k</c>, each a fused multiply-add, so neither the blocking nor the packing
    /// changes a result.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddABCore<V>(int m, int n, int k, ref float a, nint ars, nint acs, ref float b, nint ldb, ref float c, nint ldc, bool skipZeros) where V : struct
    {
        int vc = Count<V>();
        int w = s_panelVectors * vc;
        if (m < PackMinRows)
        {
            StreamRows<V>(m, n, k, ref a, ars, acs, ref b, ldb, ref c, ldc, skipZeros);
            return;
        }
        bool pack = n >= 2 * vc;
        ref float packed = ref pack ? ref PackBuffer() : ref Unsafe.NullRef<float>();
        for (int p0 = 0; p0 < k; p0 += KBlock)
        {
            int kc = Math.Min(KBlock, k - p0);
            ref float ap = ref Unsafe.Add(ref a, p0 * acs);
            ref float bp = ref Unsafe.Add(ref b, p0 * ldb);
            for (int j0 = 0; j0 < n; j0 += NBlock)
            {
                int nc = Math.Min(NBlock, n - j0);
                ref float bpj = ref Unsafe.Add(ref bp, j0);
                ref float cj = ref Unsafe.Add(ref c, j0);
                int packedColumns = 0;
                if (pack)
                {
                    int wide = nc - nc % w;
                    int narrow = w > 2 * vc && nc - wide >= 2 * vc ? 2 * vc : 0;
                    packedColumns = wide + narrow;
                    Pack<V>(kc, wide, w, ref bpj, ldb, ref packed);
                    Pack<V>(kc, narrow, narrow, ref Unsafe.Add(ref bpj, wide), ldb, ref Unsafe.Add(ref packed, wide * kc));
                    for (int i0 = 0; i0 < m; i0 += MBlock)
                    {
                        int i1 = Math.Min(m, i0 + MBlock);
                        for (int jb = 0; jb < packedColumns; jb += jb < wide ? w : narrow)
                        {
                            // Panel jb / w at jb·kc; the narrow one follows the wide ones.
                            ref float panel = ref Unsafe.Add(ref packed, jb * kc);
                            bool four = jb < wide && s_panelVectors == 4;
                            int i = i0;
                            for (; i + 4 <= i1; i += 4)
                            {
                                ref float ai = ref Unsafe.Add(ref ap, i * ars);
                                ref float ci = ref Unsafe.Add(ref cj, i * ldc + jb);
                                if (four) PackedRows4x4<V>(kc, ref ai, ars, acs, ref panel, (nuint)w, ref ci, ldc);
                                else PackedRows4x2<V>(kc, ref ai, ars, acs, ref panel, (nuint)(2 * vc), ref ci, ldc);
                            }
                            if (i + 2 <= i1)
                            {
                                PackedRows2<V>(kc, four, ref Unsafe.Add(ref ap, i * ars), ars, acs, ref panel, (nuint)(four ? w : 2 * vc), ref Unsafe.Add(ref cj, i * ldc + jb), ldc);
                                i += 2;
                            }
                            if (i < i1)
                                PackedRow1<V>(kc, four, ref Unsafe.Add(ref ap, i * ars), acs, ref panel, (nuint)(four ? w : 2 * vc), ref Unsafe.Add(ref cj, i * ldc + jb));
                        }
                    }
                }
                // The remaining columns (all of them when n is less than 2 vectors) straight from B.
                if (packedColumns < nc)
                {
                    int i = 0;
                    for (; i + 4 <= m; i += 4)
                        Rows4<V>(kc, packedColumns, nc, ref Unsafe.Add(ref ap, i * ars), ars, acs, ref bpj, ldb, ref Unsafe.Add(ref cj, i * ldc), ldc);
                    for (; i < m; i++)
                        Row1<V>(kc, packedColumns, nc, ref Unsafe.Add(ref ap, i * ars), acs, ref bpj, ldb, ref Unsafe.Add(ref cj, i * ldc));
                }
            }
        }
    }

    /// <summary>
    /// <c>C += A·B</c> for a few rows of <c>A</c> (fewer than <see cref="PackMinRows"/>), reading <c>B</c> row by row as it lies in
    /// memory: for each row of <c>C</c>, four rows of <c>B</c> at a time are scaled and added into it, so <c>B</c> streams through
    /// once per <see cref="KBlock"/> rows (staying in L2 for the other rows of <c>A</c>) and the row of <c>C</c> stays in L1. Each
    /// element of <c>C</c> still adds its products one at a time in increasing <c>k</c>, as every other path does. With
    /// <paramref name="skipZeros"/>, the rows of <c>B</c> a zero of the row of <c>A</c> multiplies are left out: reading the kernel
    /// in place, a skipped row of the tutorial's 1024-column Dense kernel is a whole 4 KiB page, which the hardware prefetchers
    /// do not fetch either (a batch-1 inference on one thread: 8% more images a second than on the panel, 12% at batch 4).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StreamRows<V>(int m, int n, int k, ref float a, nint ars, nint acs, ref float b, nint ldb, ref float c, nint ldc, bool skipZeros) where V : struct
    {
        int vc = Count<V>();
        int vectorEnd = n - n % vc;
        // The rows of this block of B that the row of A multiplies (TakenRows).
        Span<int> taken = stackalloc int[KBlock];
        ref int rows = ref MemoryMarshal.GetReference(taken);
        for (int p0 = 0; p0 < k; p0 += KBlock)
        {
            int kb = Math.Min(KBlock, k - p0);
            for (int i = 0; i < m; i++)
            {
                ref float ai = ref Unsafe.Add(ref a, i * ars + p0 * acs);
                ref float ci = ref Unsafe.Add(ref c, i * ldc);
                int kc = TakenRows(kb, ref ai, acs, skipZeros, ref rows);
                ref float bp = ref Unsafe.Add(ref b, p0 * ldb);
                int p = 0;
                for (; p + 4 <= kc; p += 4)
                {
                    int q0 = Unsafe.Add(ref rows, p), q1 = Unsafe.Add(ref rows, p + 1), q2 = Unsafe.Add(ref rows, p + 2), q3 = Unsafe.Add(ref rows, p + 3);
                    float s0 = Unsafe.Add(ref ai, q0 * acs), s1 = Unsafe.Add(ref ai, q1 * acs);
                    float s2 = Unsafe.Add(ref ai, q2 * acs), s3 = Unsafe.Add(ref ai, q3 * acs);
                    V a0 = Broadcast<V>(s0), a1 = Broadcast<V>(s1), a2 = Broadcast<V>(s2), a3 = Broadcast<V>(s3);
                    ref float b0 = ref Unsafe.Add(ref bp, q0 * ldb);
                    ref float b1 = ref Unsafe.Add(ref bp, q1 * ldb);
                    ref float b2 = ref Unsafe.Add(ref bp, q2 * ldb);
                    ref float b3 = ref Unsafe.Add(ref bp, q3 * ldb);
                    for (int j = 0; j < vectorEnd; j += vc)
                    {
                        V x = Load<V>(ref ci, j);
                        x = MulAdd(a0, Load<V>(ref b0, j), x);
                        x = MulAdd(a1, Load<V>(ref b1, j), x);
                        x = MulAdd(a2, Load<V>(ref b2, j), x);
                        x = MulAdd(a3, Load<V>(ref b3, j), x);
                        Store(x, ref ci, j);
                    }
                    for (int j = vectorEnd; j < n; j++)
                    {
                        float x = Unsafe.Add(ref ci, j);
                        x = MulAdd(s0, Unsafe.Add(ref b0, j), x);
                        x = MulAdd(s1, Unsafe.Add(ref b1, j), x);
                        x = MulAdd(s2, Unsafe.Add(ref b2, j), x);
                        Unsafe.Add(ref ci, j) = MulAdd(s3, Unsafe.Add(ref b3, j), x);
                    }
                }
                for (; p < kc; p++)
                {
                    int q0 = Unsafe.Add(ref rows, p);
                    float s0 = Unsafe.Add(ref ai, q0 * acs);
                    V a0 = Broadcast<V>(s0);
                    ref float b0 = ref Unsafe.Add(ref bp, q0 * ldb);
                    for (int j = 0; j < vectorEnd; j += vc) Store(MulAdd(a0, Load<V>(ref b0, j), Load<V>(ref ci, j)), ref ci, j);
                    for (int j = vectorEnd; j < n; j++) Unsafe.Add(ref ci, j) = MulAdd(s0, Unsafe.Add(ref b0, j), Unsafe.Add(ref ci, j));
                }
            }
        }
    }

    // ---------------------------------------------------------------- C += A·B from a column-block panel (few rows, inference)

    /// <summary>Columns per block of a panel made by <see cref="PackPanel"/>.</summary>
    internal const int PanelColumns = 64;

    /// <summary>Rows of a panel's blocks that <see cref="AddAPanel"/> sums before the next rows of <c>A</c> (256 rows of 64 columns: 64 KiB a block).</summary>
    private const int PanelKBlock = 256;

    /// <summary>
    /// Copies the <paramref name="k"/> × <paramref name="n"/> matrix <paramref name="b"/> (row stride <paramref name="ldb"/>) into
    /// <paramref name="panel"/> as blocks of <see cref="PanelColumns"/> columns whose rows are adjacent: block <c>q</c> (width
    /// <c>w = min(64, n − 64q)</c>) starts at <c>64q·k</c> and holds row <c>p</c> at <c>64q·k + p·w</c>. <see cref="AddAPanel"/>
    /// then reads each block as one stream from start to end. Returns whether every value is finite (no infinity, no NaN):
    /// only then may <see cref="AddAPanel"/> skip the rows that a zero of <c>A</c> multiplies.
    /// </summary>
    internal static bool PackPanel(ReadOnlySpan<float> b, int ldb, int k, int n, Span<float> panel)
    {
        CheckDims(0, n, k);
        CheckMatrix(b.Length, k, n, ldb, nameof(b));
        CheckPanel(panel.Length, k, n);
        bool finite = true;
        for (int q0 = 0; q0 < n; q0 += PanelColumns)
        {
            int w = Math.Min(PanelColumns, n - q0);
            var block = panel.Slice(q0 * k, w * k);
            for (int p = 0; p < k; p++) b.Slice(p * ldb + q0, w).CopyTo(block.Slice(p * w, w));
            finite &= Finite.All(block);
        }
        return finite;
    }

    /// <summary>
    /// Lists at <paramref name="rows"/> the rows <c>q</c> of a block of <c>B</c> (<c>0 ≤ q &lt; kb</c>, in increasing order) that
    /// a row of <c>A</c> (<paramref name="a"/>, elements <paramref name="stride"/> apart) multiplies: all of them, or with
    /// <paramref name="skipZeros"/> those its nonzeros do. Returns how many.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int TakenRows(int kb, ref float a, nint stride, bool skipZeros, ref int rows)
    {
        int count = 0;
        for (int q = 0; q < kb; q++)
        {
            Unsafe.Add(ref rows, count) = q;
            count += !skipZeros || Unsafe.Add(ref a, q * stride) != 0 ? 1 : 0;
        }
        return count;
    }

    private static void CheckPanel(int length, int k, int n)
    {
        if (length < (long)k * n)
            throw new ArgumentException($"The panel of a {k}×{n} matrix needs {(long)k * n} elements; the span has {length}.", "panel");
    }

    /// <summary>
    /// <c>C[m×n] += A[m×k] · B</c> with <c>B</c> as <see cref="PackPanel"/> laid it out (inference, where the panel is made once
    /// per weights version). For a few rows of <c>A</c> (fewer than <see cref="PackMinRows"/>): each group of 4 vectors of
    /// columns sums its products in registers over <see cref="PanelKBlock"/> rows of <c>B</c>, two groups at a time (8
    /// accumulators, two streams), so <c>B</c> is read once, in order, without the row of <c>C</c> going through memory every 4
    /// rows as in <see cref="StreamRows"/> (a matrix-vector product of 3136 × 1024 on two threads, each with its own panel:
    /// 240 µs that way, 120 µs this way, in a scratch program). For more rows, the register tiles of <see cref="AddAB"/> run
    /// on the panel's blocks as they are (<see cref="AddAPanelRows"/>): what <see cref="AddAB"/> would copy on every call
    /// (the tutorial's 3136 × 1024 kernel: 16% of its inference at batch 50) is already laid out. Each element of <c>C</c>
    /// adds its products one at a time in increasing <c>k</c>, each a fused multiply-add, as every other path does: the same bits.
    /// <para>
    /// With <paramref name="skipZeros"/> (the panel's values all finite, as <see cref="PackPanel"/> reports), a row of fewer
    /// than <see cref="PackMinRows"/> leaves out the rows of <c>B</c> its zeros multiply: a matrix-vector product after a
    /// ReLU (the tutorial's Dense layer: 36% of its 3136 inputs zero in the peer harness) then reads that much less of the
    /// panel. Each product left out is a zero (a finite value times zero), so the sums keep their values; only a sum that is
    /// −0 can come out +0 instead. With an infinity or NaN in <c>B</c> nothing is left out (zero times infinity is NaN).
    /// </para>
    /// </summary>
    internal static void AddAPanel(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> panel, Span<float> c, int ldc, bool skipZeros = false)
    {
        CheckDims(m, n, k);
        CheckMatrix(a.Length, m, k, lda, nameof(a));
        CheckMatrix(c.Length, m, n, ldc, nameof(c));
        CheckPanel(panel.Length, k, n);
        if (m == 0 || n == 0 || k == 0) return;
        switch (Simd.Lanes)
        {
            case 16: AddAPanelCore<Vector512<float>>(m, n, k, ref MemoryMarshal.GetReference(a), lda, ref MemoryMarshal.GetReference(panel), ref MemoryMarshal.GetReference(c), ldc, skipZeros); break;
            case 8: AddAPanelCore<Vector256<float>>(m, n, k, ref MemoryMarshal.GetReference(a), lda, ref MemoryMarshal.GetReference(panel), ref MemoryMarshal.GetReference(c), ldc, skipZeros); break;
            default: AddAPanelCore<Vector128<float>>(m, n, k, ref MemoryMarshal.GetReference(a), lda, ref MemoryMarshal.GetReference(panel), ref MemoryMarshal.GetReference(c), ldc, skipZeros); break;
        }
    }

    /// <summary>
    /// <see cref="AddAPanel"/> for many rows: by <see cref="KBlock"/> rows of the panel, each full block's columns in groups of
    /// one register tile's width (<see cref="s_panelVectors"/> vectors, rows <see cref="PanelColumns"/> apart), every row of
    /// <c>A</c> passing over a group (4 rows at a time, then 2, then 1) while it stays in L1; the last, narrower block read as
    /// <see cref="AddAB"/> reads the columns it does not pack.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddAPanelRows<V>(int m, int n, int k, ref float a, nint lda, ref float panel, ref float c, nint ldc) where V : struct
    {
        int vc = Count<V>(), g = s_panelVectors * vc, fullBlocks = n / PanelColumns, lastColumn = fullBlocks * PanelColumns, lastWidth = n - lastColumn;
        bool four = s_panelVectors == 4;
        for (int p0 = 0; p0 < k; p0 += KBlock)
        {
            int kc = Math.Min(KBlock, k - p0);
            ref float ap = ref Unsafe.Add(ref a, p0);
            for (int q0 = 0; q0 < lastColumn; q0 += PanelColumns)
            {
                ref float block = ref Unsafe.Add(ref panel, (nint)q0 * k + (nint)p0 * PanelColumns);
                for (int jb = 0; jb < PanelColumns; jb += g)
                {
                    ref float group = ref Unsafe.Add(ref block, jb);
                    ref float cj = ref Unsafe.Add(ref c, q0 + jb);
                    int i = 0;
                    for (; i + 4 <= m; i += 4)
                    {
                        if (four) PackedRows4x4<V>(kc, ref Unsafe.Add(ref ap, i * lda), lda, 1, ref group, PanelColumns, ref Unsafe.Add(ref cj, i * ldc), ldc);
                        else PackedRows4x2<V>(kc, ref Unsafe.Add(ref ap, i * lda), lda, 1, ref group, PanelColumns, ref Unsafe.Add(ref cj, i * ldc), ldc);
                    }
                    if (i + 2 <= m)
                    {
                        PackedRows2<V>(kc, four, ref Unsafe.Add(ref ap, i * lda), lda, 1, ref group, PanelColumns, ref Unsafe.Add(ref cj, i * ldc), ldc);
                        i += 2;
                    }
                    if (i < m)
                        PackedRow1<V>(kc, four, ref Unsafe.Add(ref ap, i * lda), 1, ref group, PanelColumns, ref Unsafe.Add(ref cj, i * ldc));
                }
            }
            if (lastWidth == 0) continue;
            ref float last = ref Unsafe.Add(ref panel, (nint)lastColumn * k + (nint)p0 * lastWidth);
            ref float cl = ref Unsafe.Add(ref c, lastColumn);
            int r = 0;
            for (; r + 4 <= m; r += 4)
                Rows4<V>(kc, 0, lastWidth, ref Unsafe.Add(ref ap, r * lda), lda, 1, ref last, lastWidth, ref Unsafe.Add(ref cl, r * ldc), ldc);
            for (; r < m; r++)
                Row1<V>(kc, 0, lastWidth, ref Unsafe.Add(ref ap, r * lda), 1, ref last, lastWidth, ref Unsafe.Add(ref cl, r * ldc));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddAPanelCore<V>(int m, int n, int k, ref float a, nint lda, ref float panel, ref float c, nint ldc, bool skipZeros) where V : struct
    {
        if (m >= PackMinRows)
        {
            AddAPanelRows<V>(m, n, k, ref a, lda, ref panel, ref c, ldc);
            return;
        }
        int vc = Count<V>(), g = 4 * vc, groupsPerBlock = PanelColumns / g;
        int fullBlocks = n / PanelColumns, groups = fullBlocks * groupsPerBlock;
        int lastColumn = fullBlocks * PanelColumns, lastWidth = n - lastColumn;
        // The rows of this block of B that the row of A multiplies (TakenRows).
        Span<int> taken = stackalloc int[PanelKBlock];
        ref int rows = ref MemoryMarshal.GetReference(taken);
        Span<float> tail = stackalloc float[vc];
        for (int p0 = 0; p0 < k; p0 += PanelKBlock)
        {
            int kc = Math.Min(PanelKBlock, k - p0);
            for (int i = 0; i < m; i++)
            {
                ref float ai = ref Unsafe.Add(ref a, i * lda + p0);
                ref float ci = ref Unsafe.Add(ref c, i * ldc);
                int count = TakenRows(kc, ref ai, 1, skipZeros, ref rows);
                // Group t of the full blocks: block t / groupsPerBlock, columns (t % groupsPerBlock)·g on; rows PanelColumns apart.
                int t = 0;
                for (; t + 2 <= groups; t += 2)
                {
                    int col0 = t / groupsPerBlock * PanelColumns + t % groupsPerBlock * g;
                    int col1 = (t + 1) / groupsPerBlock * PanelColumns + (t + 1) % groupsPerBlock * g;
                    PanelGroups2<V>(count, ref rows, ref ai, ref Unsafe.Add(ref panel, GroupStart(col0, k, p0)), ref Unsafe.Add(ref panel, GroupStart(col1, k, p0)),
                        ref Unsafe.Add(ref ci, col0), ref Unsafe.Add(ref ci, col1));
                }
                if (t < groups)
                {
                    int col = t / groupsPerBlock * PanelColumns + t % groupsPerBlock * g;
                    PanelGroup<V>(count, ref rows, ref ai, ref Unsafe.Add(ref panel, GroupStart(col, k, p0)), PanelColumns, ref Unsafe.Add(ref ci, col));
                }
                if (lastWidth == 0) continue;
                // The last, narrower block: rows lastWidth apart; groups of 4 vectors, then vectors, then the last columns.
                ref float last = ref Unsafe.Add(ref panel, (nint)lastColumn * k + (nint)p0 * lastWidth);
                ref float cl = ref Unsafe.Add(ref ci, lastColumn);
                int j = 0;
                for (; j + g <= lastWidth; j += g)
                    PanelGroup<V>(count, ref rows, ref ai, ref Unsafe.Add(ref last, j), lastWidth, ref Unsafe.Add(ref cl, j));
                for (; j + vc <= lastWidth; j += vc)
                {
                    var x = Load<V>(ref cl, j);
                    for (int u = 0; u < count; u++)
                    {
                        int p = Unsafe.Add(ref rows, u);
                        x = MulAdd(Broadcast<V>(Unsafe.Add(ref ai, p)), Load<V>(ref last, p * lastWidth + j), x);
                    }
                    Store(x, ref cl, j);
                }
                if (j == lastWidth) continue;
                // Fewer columns than a vector (a classifier's 10): a whole vector from each row's column j on, running on into the
                // next row (its lanes past the last column are not kept), while that stays inside the block; the rows after, by column.
                int r = lastWidth - j, next = 0;
                nint blockEnd = (nint)(k - p0) * lastWidth - j - vc;
                ref float tl = ref MemoryMarshal.GetReference(tail);
                for (int jj = 0; jj < r; jj++) Unsafe.Add(ref tl, jj) = Unsafe.Add(ref cl, j + jj);
                var xt = Load<V>(ref tl);
                for (; next < count; next++)
                {
                    int p = Unsafe.Add(ref rows, next);
                    if ((nint)p * lastWidth > blockEnd) break;
                    xt = MulAdd(Broadcast<V>(Unsafe.Add(ref ai, p)), Load<V>(ref last, p * lastWidth + j), xt);
                }
                Store(xt, ref tl);
                for (; next < count; next++)
                {
                    int p = Unsafe.Add(ref rows, next);
                    float s = Unsafe.Add(ref ai, p);
                    ref float row = ref Unsafe.Add(ref last, p * lastWidth + j);
                    for (int jj = 0; jj < r; jj++) Unsafe.Add(ref tl, jj) = MulAdd(s, Unsafe.Add(ref row, jj), Unsafe.Add(ref tl, jj));
                }
                for (int jj = 0; jj < r; jj++) Unsafe.Add(ref cl, j + jj) = Unsafe.Add(ref tl, jj);
            }
        }
    }

    /// <summary>Where row <paramref name="p0"/> of the group at column <paramref name="col"/> (in a full block) starts in the panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nint GroupStart(int col, int k, int p0) => (nint)(col / PanelColumns * PanelColumns) * k + (nint)p0 * PanelColumns + col % PanelColumns;

    /// <summary>
    /// Two groups of 4 vectors of columns, rows <see cref="PanelColumns"/> apart in both: 8 sums in registers over the
    /// <paramref name="count"/> rows listed at <paramref name="rows"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PanelGroups2<V>(int count, ref int rows, ref float ai, ref float b0, ref float b1, ref float c0, ref float c1) where V : struct
    {
        int vc = Count<V>();
        V x0 = Load<V>(ref c0), x1 = Load<V>(ref c0, vc), x2 = Load<V>(ref c0, 2 * vc), x3 = Load<V>(ref c0, 3 * vc);
        V y0 = Load<V>(ref c1), y1 = Load<V>(ref c1, vc), y2 = Load<V>(ref c1, 2 * vc), y3 = Load<V>(ref c1, 3 * vc);
        for (int t = 0; t < count; t++)
        {
            int p = Unsafe.Add(ref rows, t);
            V s = Broadcast<V>(Unsafe.Add(ref ai, p));
            ref float r0 = ref Unsafe.Add(ref b0, (nint)p * PanelColumns);
            ref float r1 = ref Unsafe.Add(ref b1, (nint)p * PanelColumns);
            x0 = MulAdd(s, Load<V>(ref r0), x0); x1 = MulAdd(s, Load<V>(ref r0, vc), x1);
            x2 = MulAdd(s, Load<V>(ref r0, 2 * vc), x2); x3 = MulAdd(s, Load<V>(ref r0, 3 * vc), x3);
            y0 = MulAdd(s, Load<V>(ref r1), y0); y1 = MulAdd(s, Load<V>(ref r1, vc), y1);
            y2 = MulAdd(s, Load<V>(ref r1, 2 * vc), y2); y3 = MulAdd(s, Load<V>(ref r1, 3 * vc), y3);
        }
        Store(x0, ref c0); Store(x1, ref c0, vc); Store(x2, ref c0, 2 * vc); Store(x3, ref c0, 3 * vc);
        Store(y0, ref c1); Store(y1, ref c1, vc); Store(y2, ref c1, 2 * vc); Store(y3, ref c1, 3 * vc);
    }

    /// <summary>One group of 4 vectors of columns, rows <paramref name="step"/> apart: 4 sums in registers over the <paramref name="count"/> rows listed at <paramref name="rows"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PanelGroup<V>(int count, ref int rows, ref float ai, ref float b, nint step, ref float c) where V : struct
    {
        int vc = Count<V>();
        V x0 = Load<V>(ref c), x1 = Load<V>(ref c, vc), x2 = Load<V>(ref c, 2 * vc), x3 = Load<V>(ref c, 3 * vc);
        for (int t = 0; t < count; t++)
        {
            int p = Unsafe.Add(ref rows, t);
            V s = Broadcast<V>(Unsafe.Add(ref ai, p));
            ref float r = ref Unsafe.Add(ref b, p * step);
            x0 = MulAdd(s, Load<V>(ref r), x0); x1 = MulAdd(s, Load<V>(ref r, vc), x1);
            x2 = MulAdd(s, Load<V>(ref r, 2 * vc), x2); x3 = MulAdd(s, Load<V>(ref r, 3 * vc), x3);
        }
        Store(x0, ref c); Store(x1, ref c, vc); Store(x2, ref c, 2 * vc); Store(x3, ref c, 3 * vc);
    }

    /// <summary>
    /// Copies columns <c>0..columns</c> (a multiple of <paramref name="w"/>) of a <c>kc</c>-row block of <c>B</c> into
    /// <paramref name="packed"/> as panels <c>[columns / w][kc][w]</c>: panel <c>q</c> starts at <c>q·w·kc</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Pack<V>(int kc, int columns, int w, ref float b, nint ldb, ref float packed) where V : struct
    {
        if (columns == 0) return;
        int vc = Count<V>();
        nint panelStride = (nint)w * kc;
        nint bo = 0, po = 0;
        for (int p = 0; p < kc; p++, bo += ldb, po += w)
        {
            ref float src = ref Unsafe.Add(ref b, bo);
            if (System.Runtime.Intrinsics.X86.Sse.IsSupported && p + PackPrefetchRows < kc)
            {
                ref float ahead = ref Unsafe.Add(ref src, PackPrefetchRows * ldb);
                for (int l = 0; l < columns; l += 64 / sizeof(float))
                    System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref ahead, l)));
            }
            ref float dst = ref Unsafe.Add(ref packed, po);
            for (int jb = 0; jb < columns; jb += w, dst = ref Unsafe.Add(ref dst, panelStride))
                for (int v = 0; v < w; v += vc)
                    Store(Load<V>(ref src, jb + v), ref dst, v);
        }
    }

    /// <summary>Rows <c>0..3</c> by the 4 vectors of columns of a packed panel (<c>kc</c> rows of
    /// 4 vectors, <paramref name="step"/> floats apart): <c>C[r, j] += Σp A[r, p]·panel[p, j]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackedRows4x4<V>(int kc, ref float a0, nint ars, nint acs, ref float panel, nuint step, ref float c0, nint ldc) where V : struct
    {
        int vc = Count<V>();
        ref float a1 = ref Unsafe.Add(ref a0, ars);
        ref float a2 = ref Unsafe.Add(ref a0, 2 * ars);
        ref float a3 = ref Unsafe.Add(ref a0, 3 * ars);
        ref float c1 = ref Unsafe.Add(ref c0, ldc);
        ref float c2 = ref Unsafe.Add(ref c0, 2 * ldc);
        ref float c3 = ref Unsafe.Add(ref c0, 3 * ldc);
        nuint o1 = (nuint)vc, o2 = (nuint)(2 * vc), o3 = (nuint)(3 * vc);
        var x00 = Load<V>(ref c0); var x01 = Load<V>(ref c0, (int)(o1)); var x02 = Load<V>(ref c0, (int)(o2)); var x03 = Load<V>(ref c0, (int)(o3));
        var x10 = Load<V>(ref c1); var x11 = Load<V>(ref c1, (int)(o1)); var x12 = Load<V>(ref c1, (int)(o2)); var x13 = Load<V>(ref c1, (int)(o3));
        var x20 = Load<V>(ref c2); var x21 = Load<V>(ref c2, (int)(o1)); var x22 = Load<V>(ref c2, (int)(o2)); var x23 = Load<V>(ref c2, (int)(o3));
        var x30 = Load<V>(ref c3); var x31 = Load<V>(ref c3, (int)(o1)); var x32 = Load<V>(ref c3, (int)(o2)); var x33 = Load<V>(ref c3, (int)(o3));
        nint ao = 0;
        nuint bo = 0;
        for (int p = 0; p < kc; p++, ao += acs, bo += step)
        {
            var b0 = Load<V>(ref panel, (int)(bo));
            var b1 = Load<V>(ref panel, (int)(bo + o1));
            var b2 = Load<V>(ref panel, (int)(bo + o2));
            var b3 = Load<V>(ref panel, (int)(bo + o3));
            var av = Broadcast<V>(Unsafe.Add(ref a0, ao));
            x00 = MulAdd(av, b0, x00); x01 = MulAdd(av, b1, x01); x02 = MulAdd(av, b2, x02); x03 = MulAdd(av, b3, x03);
            av = Broadcast<V>(Unsafe.Add(ref a1, ao));
            x10 = MulAdd(av, b0, x10); x11 = MulAdd(av, b1, x11); x12 = MulAdd(av, b2, x12); x13 = MulAdd(av, b3, x13);
            av = Broadcast<V>(Unsafe.Add(ref a2, ao));
            x20 = MulAdd(av, b0, x20); x21 = MulAdd(av, b1, x21); x22 = MulAdd(av, b2, x22); x23 = MulAdd(av, b3, x23);
            av = Broadcast<V>(Unsafe.Add(ref a3, ao));
            x30 = MulAdd(av, b0, x30); x31 = MulAdd(av, b1, x31); x32 = MulAdd(av, b2, x32); x33 = MulAdd(av, b3, x33);
        }
        Store(x00, ref c0); Store(x01, ref c0, (int)(o1)); Store(x02, ref c0, (int)(o2)); Store(x03, ref c0, (int)(o3));
        Store(x10, ref c1); Store(x11, ref c1, (int)(o1)); Store(x12, ref c1, (int)(o2)); Store(x13, ref c1, (int)(o3));
        Store(x20, ref c2); Store(x21, ref c2, (int)(o1)); Store(x22, ref c2, (int)(o2)); Store(x23, ref c2, (int)(o3));
        Store(x30, ref c3); Store(x31, ref c3, (int)(o1)); Store(x32, ref c3, (int)(o2)); Store(x33, ref c3, (int)(o3));
    }

    /// <summary>Rows <c>0..3</c> by the 2 vectors of columns of a packed panel (<c>kc</c> rows of
    /// 2 vectors, <paramref name="step"/> floats apart): <c>C[r, j] += Σp A[r, p]·panel[p, j]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackedRows4x2<V>(int kc, ref float a0, nint ars, nint acs, ref float panel, nuint step, ref float c0, nint ldc) where V : struct
    {
        int vc = Count<V>();
        ref float a1 = ref Unsafe.Add(ref a0, ars);
        ref float a2 = ref Unsafe.Add(ref a0, 2 * ars);
        ref float a3 = ref Unsafe.Add(ref a0, 3 * ars);
        ref float c1 = ref Unsafe.Add(ref c0, ldc);
        ref float c2 = ref Unsafe.Add(ref c0, 2 * ldc);
        ref float c3 = ref Unsafe.Add(ref c0, 3 * ldc);
        nuint o1 = (nuint)vc;
        var x00 = Load<V>(ref c0); var x01 = Load<V>(ref c0, (int)(o1));
        var x10 = Load<V>(ref c1); var x11 = Load<V>(ref c1, (int)(o1));
        var x20 = Load<V>(ref c2); var x21 = Load<V>(ref c2, (int)(o1));
        var x30 = Load<V>(ref c3); var x31 = Load<V>(ref c3, (int)(o1));
        nint ao = 0;
        nuint bo = 0;
        for (int p = 0; p < kc; p++, ao += acs, bo += step)
        {
            var b0 = Load<V>(ref panel, (int)(bo));
            var b1 = Load<V>(ref panel, (int)(bo + o1));
            var av = Broadcast<V>(Unsafe.Add(ref a0, ao));
            x00 = MulAdd(av, b0, x00); x01 = MulAdd(av, b1, x01);
            av = Broadcast<V>(Unsafe.Add(ref a1, ao));
            x10 = MulAdd(av, b0, x10); x11 = MulAdd(av, b1, x11);
            av = Broadcast<V>(Unsafe.Add(ref a2, ao));
            x20 = MulAdd(av, b0, x20); x21 = MulAdd(av, b1, x21);
            av = Broadcast<V>(Unsafe.Add(ref a3, ao));
            x30 = MulAdd(av, b0, x30); x31 = MulAdd(av, b1, x31);
        }
        Store(x00, ref c0); Store(x01, ref c0, (int)(o1));
        Store(x10, ref c1); Store(x11, ref c1, (int)(o1));
        Store(x20, ref c2); Store(x21, ref c2, (int)(o1));
        Store(x30, ref c3); Store(x31, ref c3, (int)(o1));
    }

    /// <summary>Rows <c>0..1</c> by the columns of a packed panel (rows <paramref name="step"/> floats apart), 4 vectors wide when <paramref name="four"/>, else 2:
    /// <c>C[r, j] += Σp A[r, p]·panel[p, j]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackedRows2<V>(int kc, bool four, ref float a0, nint ars, nint acs, ref float panel, nuint step, ref float c0, nint ldc) where V : struct
    {
        int vc = Count<V>();
        ref float a1 = ref Unsafe.Add(ref a0, ars);
        ref float c1 = ref Unsafe.Add(ref c0, ldc);
        nuint o1 = (nuint)vc, o2 = (nuint)(2 * vc), o3 = (nuint)(3 * vc);
        nint ao = 0;
        nuint bo = 0;
        if (four)
        {
            var x00 = Load<V>(ref c0); var x01 = Load<V>(ref c0, (int)(o1)); var x02 = Load<V>(ref c0, (int)(o2)); var x03 = Load<V>(ref c0, (int)(o3));
            var x10 = Load<V>(ref c1); var x11 = Load<V>(ref c1, (int)(o1)); var x12 = Load<V>(ref c1, (int)(o2)); var x13 = Load<V>(ref c1, (int)(o3));
            for (int p = 0; p < kc; p++, ao += acs, bo += step)
            {
                var b0 = Load<V>(ref panel, (int)(bo));
                var b1 = Load<V>(ref panel, (int)(bo + o1));
                var b2 = Load<V>(ref panel, (int)(bo + o2));
                var b3 = Load<V>(ref panel, (int)(bo + o3));
                var av = Broadcast<V>(Unsafe.Add(ref a0, ao));
                x00 = MulAdd(av, b0, x00); x01 = MulAdd(av, b1, x01); x02 = MulAdd(av, b2, x02); x03 = MulAdd(av, b3, x03);
                av = Broadcast<V>(Unsafe.Add(ref a1, ao));
                x10 = MulAdd(av, b0, x10); x11 = MulAdd(av, b1, x11); x12 = MulAdd(av, b2, x12); x13 = MulAdd(av, b3, x13);
            }
            Store(x00, ref c0); Store(x01, ref c0, (int)(o1)); Store(x02, ref c0, (int)(o2)); Store(x03, ref c0, (int)(o3));
            Store(x10, ref c1); Store(x11, ref c1, (int)(o1)); Store(x12, ref c1, (int)(o2)); Store(x13, ref c1, (int)(o3));
        }
        else
        {
            var x00 = Load<V>(ref c0); var x01 = Load<V>(ref c0, (int)(o1));
            var x10 = Load<V>(ref c1); var x11 = Load<V>(ref c1, (int)(o1));
            for (int p = 0; p < kc; p++, ao += acs, bo += step)
            {
                var b0 = Load<V>(ref panel, (int)(bo));
                var b1 = Load<V>(ref panel, (int)(bo + o1));
                var av = Broadcast<V>(Unsafe.Add(ref a0, ao));
                x00 = MulAdd(av, b0, x00); x01 = MulAdd(av, b1, x01);
                av = Broadcast<V>(Unsafe.Add(ref a1, ao));
                x10 = MulAdd(av, b0, x10); x11 = MulAdd(av, b1, x11);
            }
            Store(x00, ref c0); Store(x01, ref c0, (int)(o1));
            Store(x10, ref c1); Store(x11, ref c1, (int)(o1));
        }
    }

    /// <summary>One row by the columns of a packed panel (rows <paramref name="step"/> floats apart), 4 vectors wide when <paramref name="four"/>, else 2:
    /// <c>C[j] += Σp A[p]·panel[p, j]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackedRow1<V>(int kc, bool four, ref float a0, nint acs, ref float panel, nuint step, ref float c0) where V : struct
    {
        int vc = Count<V>();
        nuint o1 = (nuint)vc, o2 = (nuint)(2 * vc), o3 = (nuint)(3 * vc);
        nint ao = 0;
        nuint bo = 0;
        if (four)
        {
            var x0 = Load<V>(ref c0); var x1 = Load<V>(ref c0, (int)(o1)); var x2 = Load<V>(ref c0, (int)(o2)); var x3 = Load<V>(ref c0, (int)(o3));
            for (int p = 0; p < kc; p++, ao += acs, bo += step)
            {
                var av = Broadcast<V>(Unsafe.Add(ref a0, ao));
                x0 = MulAdd(av, Load<V>(ref panel, (int)(bo)), x0);
                x1 = MulAdd(av, Load<V>(ref panel, (int)(bo + o1)), x1);
                x2 = MulAdd(av, Load<V>(ref panel, (int)(bo + o2)), x2);
                x3 = MulAdd(av, Load<V>(ref panel, (int)(bo + o3)), x3);
            }
            Store(x0, ref c0); Store(x1, ref c0, (int)(o1)); Store(x2, ref c0, (int)(o2)); Store(x3, ref c0, (int)(o3));
        }
        else
        {
            var x0 = Load<V>(ref c0); var x1 = Load<V>(ref c0, (int)(o1));
            for (int p = 0; p < kc; p++, ao += acs, bo += step)
            {
                var av = Broadcast<V>(Unsafe.Add(ref a0, ao));
                x0 = MulAdd(av, Load<V>(ref panel, (int)(bo)), x0);
                x1 = MulAdd(av, Load<V>(ref panel, (int)(bo + o1)), x1);
            }
            Store(x0, ref c0); Store(x1, ref c0, (int)(o1));
        }
    }

    /// <summary>Rows <c>0..3</c>, columns <c>j..nc</c> of a <c>kc×nc</c> block, read from <c>B</c> in place:
    /// <c>C[r, j] += Σp A[r, p]·B[p, j]</c>. A final partial vector may overlap columns before <paramref name="j"/>,
    /// which it leaves as they are.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows4<V>(int kc, int j, int nc, ref float a0, nint ars, nint acs, ref float b, nint ldb, ref float c0, nint ldc) where V : struct
    {
        int vc = Count<V>();
        ref float a1 = ref Unsafe.Add(ref a0, ars);
        ref float a2 = ref Unsafe.Add(ref a0, 2 * ars);
        ref float a3 = ref Unsafe.Add(ref a0, 3 * ars);
        ref float c1 = ref Unsafe.Add(ref c0, ldc);
        ref float c2 = ref Unsafe.Add(ref c0, 2 * ldc);
        ref float c3 = ref Unsafe.Add(ref c0, 3 * ldc);
        for (; j + 2 * vc <= nc; j += 2 * vc)
        {
            nuint o0 = (nuint)j, o1 = (nuint)(j + vc);
            var x00 = Load<V>(ref c0, (int)(o0)); var x01 = Load<V>(ref c0, (int)(o1));
            var x10 = Load<V>(ref c1, (int)(o0)); var x11 = Load<V>(ref c1, (int)(o1));
            var x20 = Load<V>(ref c2, (int)(o0)); var x21 = Load<V>(ref c2, (int)(o1));
            var x30 = Load<V>(ref c3, (int)(o0)); var x31 = Load<V>(ref c3, (int)(o1));
            ref float bj = ref Unsafe.Add(ref b, j);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
            {
                ref float brow = ref Unsafe.Add(ref bj, bo);
                var b0 = Load<V>(ref brow);
                var b1 = Load<V>(ref brow, (int)((nuint)vc));
                var av = Broadcast<V>(Unsafe.Add(ref a0, ao));
                x00 = MulAdd(av, b0, x00); x01 = MulAdd(av, b1, x01);
                av = Broadcast<V>(Unsafe.Add(ref a1, ao));
                x10 = MulAdd(av, b0, x10); x11 = MulAdd(av, b1, x11);
                av = Broadcast<V>(Unsafe.Add(ref a2, ao));
                x20 = MulAdd(av, b0, x20); x21 = MulAdd(av, b1, x21);
                av = Broadcast<V>(Unsafe.Add(ref a3, ao));
                x30 = MulAdd(av, b0, x30); x31 = MulAdd(av, b1, x31);
            }
            Store(x00, ref c0, (int)(o0)); Store(x01, ref c0, (int)(o1));
            Store(x10, ref c1, (int)(o0)); Store(x11, ref c1, (int)(o1));
            Store(x20, ref c2, (int)(o0)); Store(x21, ref c2, (int)(o1));
            Store(x30, ref c3, (int)(o0)); Store(x31, ref c3, (int)(o1));
        }
        for (; j + vc <= nc; j += vc)
        {
            nuint o0 = (nuint)j;
            var x0 = Load<V>(ref c0, (int)(o0));
            var x1 = Load<V>(ref c1, (int)(o0));
            var x2 = Load<V>(ref c2, (int)(o0));
            var x3 = Load<V>(ref c3, (int)(o0));
            ref float bj = ref Unsafe.Add(ref b, j);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
            {
                var b0 = Load<V>(ref Unsafe.Add(ref bj, bo));
                x0 = MulAdd(Broadcast<V>(Unsafe.Add(ref a0, ao)), b0, x0);
                x1 = MulAdd(Broadcast<V>(Unsafe.Add(ref a1, ao)), b0, x1);
                x2 = MulAdd(Broadcast<V>(Unsafe.Add(ref a2, ao)), b0, x2);
                x3 = MulAdd(Broadcast<V>(Unsafe.Add(ref a3, ao)), b0, x3);
            }
            Store(x0, ref c0, (int)(o0));
            Store(x1, ref c1, (int)(o0));
            Store(x2, ref c2, (int)(o0));
            Store(x3, ref c3, (int)(o0));
        }
        if (j < nc && nc >= vc)
        {
            // The last vc columns, overlapping columns already done: every lane accumulates, but only the
            // remaining columns are stored; the others keep the value already in memory.
            var keep = TailMask<V>(nc - j);
            nuint o0 = (nuint)(nc - vc);
            var x0 = Load<V>(ref c0, (int)(o0));
            var x1 = Load<V>(ref c1, (int)(o0));
            var x2 = Load<V>(ref c2, (int)(o0));
            var x3 = Load<V>(ref c3, (int)(o0));
            ref float bj = ref Unsafe.Add(ref b, nc - vc);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
            {
                var b0 = Load<V>(ref Unsafe.Add(ref bj, bo));
                x0 = MulAdd(Broadcast<V>(Unsafe.Add(ref a0, ao)), b0, x0);
                x1 = MulAdd(Broadcast<V>(Unsafe.Add(ref a1, ao)), b0, x1);
                x2 = MulAdd(Broadcast<V>(Unsafe.Add(ref a2, ao)), b0, x2);
                x3 = MulAdd(Broadcast<V>(Unsafe.Add(ref a3, ao)), b0, x3);
            }
            Store(Select(keep, x0, Load<V>(ref c0, (int)(o0))), ref c0, (int)(o0));
            Store(Select(keep, x1, Load<V>(ref c1, (int)(o0))), ref c1, (int)(o0));
            Store(Select(keep, x2, Load<V>(ref c2, (int)(o0))), ref c2, (int)(o0));
            Store(Select(keep, x3, Load<V>(ref c3, (int)(o0))), ref c3, (int)(o0));
            return;
        }
        for (; j < nc; j++)
        {
            float s0 = Unsafe.Add(ref c0, j), s1 = Unsafe.Add(ref c1, j), s2 = Unsafe.Add(ref c2, j), s3 = Unsafe.Add(ref c3, j);
            ref float bj = ref Unsafe.Add(ref b, j);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
            {
                float bv = Unsafe.Add(ref bj, bo);
                s0 = MulAdd(Unsafe.Add(ref a0, ao), bv, s0);
                s1 = MulAdd(Unsafe.Add(ref a1, ao), bv, s1);
                s2 = MulAdd(Unsafe.Add(ref a2, ao), bv, s2);
                s3 = MulAdd(Unsafe.Add(ref a3, ao), bv, s3);
            }
            Unsafe.Add(ref c0, j) = s0;
            Unsafe.Add(ref c1, j) = s1;
            Unsafe.Add(ref c2, j) = s2;
            Unsafe.Add(ref c3, j) = s3;
        }
    }

    /// <summary>One row, columns <c>j..nc</c> of a <c>kc×nc</c> block, read from <c>B</c> in place:
    /// <c>C[j] += Σp A[p]·B[p, j]</c> (a final partial vector as in <see cref="Rows4"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row1<V>(int kc, int j, int nc, ref float a0, nint acs, ref float b, nint ldb, ref float c0) where V : struct
    {
        int vc = Count<V>();
        for (; j + 2 * vc <= nc; j += 2 * vc)
        {
            nuint o0 = (nuint)j, o1 = (nuint)(j + vc);
            var x0 = Load<V>(ref c0, (int)(o0));
            var x1 = Load<V>(ref c0, (int)(o1));
            ref float bj = ref Unsafe.Add(ref b, j);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
            {
                ref float brow = ref Unsafe.Add(ref bj, bo);
                var av = Broadcast<V>(Unsafe.Add(ref a0, ao));
                x0 = MulAdd(av, Load<V>(ref brow), x0);
                x1 = MulAdd(av, Load<V>(ref brow, (int)((nuint)vc)), x1);
            }
            Store(x0, ref c0, (int)(o0));
            Store(x1, ref c0, (int)(o1));
        }
        for (; j + vc <= nc; j += vc)
        {
            nuint o0 = (nuint)j;
            var x0 = Load<V>(ref c0, (int)(o0));
            ref float bj = ref Unsafe.Add(ref b, j);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
                x0 = MulAdd(Broadcast<V>(Unsafe.Add(ref a0, ao)), Load<V>(ref Unsafe.Add(ref bj, bo)), x0);
            Store(x0, ref c0, (int)(o0));
        }
        if (j < nc && nc >= vc)
        {
            var keep = TailMask<V>(nc - j);
            nuint o0 = (nuint)(nc - vc);
            var x0 = Load<V>(ref c0, (int)(o0));
            ref float bj = ref Unsafe.Add(ref b, nc - vc);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
                x0 = MulAdd(Broadcast<V>(Unsafe.Add(ref a0, ao)), Load<V>(ref Unsafe.Add(ref bj, bo)), x0);
            Store(Select(keep, x0, Load<V>(ref c0, (int)(o0))), ref c0, (int)(o0));
            return;
        }
        for (; j < nc; j++)
        {
            float s0 = Unsafe.Add(ref c0, j);
            ref float bj = ref Unsafe.Add(ref b, j);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
                s0 = MulAdd(Unsafe.Add(ref a0, ao), Unsafe.Add(ref bj, bo), s0);
            Unsafe.Add(ref c0, j) = s0;
        }
    }

    // ---------------------------------------------------------------- C += A·Bᵀ kernels (dot products of rows)

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddABtCore<V>(int m, int n, int k, ref float a, nint lda, ref float b, nint ldb, ref float c, nint ldc) where V : struct
    {
        // A block of B rows small enough to stay in cache while every row of A passes over it.
        long rowsInCache = Math.Max(4L, DotBlockBytes / (4L * k));
        int nb = (int)Math.Min(rowsInCache, ((long)n + 3) & ~3L) & ~3;
        for (int j0 = 0; j0 < n; j0 += nb)
        {
            int jEnd = Math.Min(n, j0 + nb);
            int i = 0;
            if (s_manyRegisters)
            {
                for (; i + 4 <= m; i += 4)
                {
                    ref float ar = ref Unsafe.Add(ref a, i * lda);
                    ref float cr = ref Unsafe.Add(ref c, i * ldc);
                    int j = j0;
                    for (; j + 4 <= jEnd; j += 4)
                        Dot4x4<V>(k, ref ar, lda, ref Unsafe.Add(ref b, j * ldb), ldb, ref Unsafe.Add(ref cr, j), ldc);
                    for (; j < jEnd; j++)
                    {
                        ref float br = ref Unsafe.Add(ref b, j * ldb);
                        for (int r = 0; r < 4; r++)
                            Unsafe.Add(ref cr, r * ldc + j) += Dot<V>(k, ref Unsafe.Add(ref ar, r * lda), ref br);
                    }
                }
            }
            for (; i + 2 <= m; i += 2)
            {
                ref float ar0 = ref Unsafe.Add(ref a, i * lda);
                ref float ar1 = ref Unsafe.Add(ref ar0, lda);
                ref float cr0 = ref Unsafe.Add(ref c, i * ldc);
                ref float cr1 = ref Unsafe.Add(ref cr0, ldc);
                int j = j0;
                for (; j + 4 <= jEnd; j += 4)
                    Dot2x4<V>(k, ref ar0, ref ar1, ref Unsafe.Add(ref b, j * ldb), ldb, ref Unsafe.Add(ref cr0, j), ref Unsafe.Add(ref cr1, j));
                for (; j < jEnd; j++)
                {
                    ref float br = ref Unsafe.Add(ref b, j * ldb);
                    Unsafe.Add(ref cr0, j) += Dot<V>(k, ref ar0, ref br);
                    Unsafe.Add(ref cr1, j) += Dot<V>(k, ref ar1, ref br);
                }
            }
            for (; i < m; i++)
            {
                ref float ar = ref Unsafe.Add(ref a, i * lda);
                ref float cr = ref Unsafe.Add(ref c, i * ldc);
                for (int j = j0; j < jEnd; j++)
                    Unsafe.Add(ref cr, j) += Dot<V>(k, ref ar, ref Unsafe.Add(ref b, j * ldb));
            }
        }
    }

    /// <summary><c>Σp a[p]·b[p]</c>: lane-wise vector accumulation (a masked final partial vector), horizontal sum, scalar tail only when <c>k</c> is shorter than a vector — the same sequence as <see cref="Dot2x4"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot<V>(int k, ref float a, ref float b) where V : struct
    {
        int vc = Count<V>();
        var acc = default(V);
        int p = 0;
        for (; p + vc <= k; p += vc)
            acc = MulAdd(Load<V>(ref a, (int)((nuint)p)), Load<V>(ref b, (int)((nuint)p)), acc);
        if (p < k && k >= vc)
        {
            // The last vc elements, overlapping ones already summed: only the remaining lanes accumulate.
            var keep = TailMask<V>(k - p);
            nuint o = (nuint)(k - vc);
            acc = Select(keep, MulAdd(Load<V>(ref a, (int)(o)), Load<V>(ref b, (int)(o)), acc), acc);
            p = k;
        }
        float s = Sum(acc);
        for (; p < k; p++) s = MulAdd(Unsafe.Add(ref a, p), Unsafe.Add(ref b, p), s);
        return s;
    }

    /// <summary>Four rows of <c>A</c> against four rows of <c>B</c>: <c>C[r, q] += dot(A[r], B[q])</c> for r, q &lt; 4, each
    /// dot product formed exactly as in <see cref="Dot2x4"/> (needs 32 vector registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x4<V>(int k, ref float a0, nint lda, ref float b0, nint ldb, ref float c0, nint ldc) where V : struct
    {
        int vc = Count<V>();
        ref float a1 = ref Unsafe.Add(ref a0, lda);
        ref float a2 = ref Unsafe.Add(ref a0, 2 * lda);
        ref float a3 = ref Unsafe.Add(ref a0, 3 * lda);
        ref float b1 = ref Unsafe.Add(ref b0, ldb);
        ref float b2 = ref Unsafe.Add(ref b0, 2 * ldb);
        ref float b3 = ref Unsafe.Add(ref b0, 3 * ldb);
        V x00 = default, x01 = default, x02 = default, x03 = default;
        V x10 = default, x11 = default, x12 = default, x13 = default;
        V x20 = default, x21 = default, x22 = default, x23 = default;
        V x30 = default, x31 = default, x32 = default, x33 = default;
        int p = 0;
        for (; p + vc <= k; p += vc)
        {
            nuint o = (nuint)p;
            var va0 = Load<V>(ref a0, (int)(o));
            var va1 = Load<V>(ref a1, (int)(o));
            var va2 = Load<V>(ref a2, (int)(o));
            var va3 = Load<V>(ref a3, (int)(o));
            var vb = Load<V>(ref b0, (int)(o));
            x00 = MulAdd(va0, vb, x00); x10 = MulAdd(va1, vb, x10); x20 = MulAdd(va2, vb, x20); x30 = MulAdd(va3, vb, x30);
            vb = Load<V>(ref b1, (int)(o));
            x01 = MulAdd(va0, vb, x01); x11 = MulAdd(va1, vb, x11); x21 = MulAdd(va2, vb, x21); x31 = MulAdd(va3, vb, x31);
            vb = Load<V>(ref b2, (int)(o));
            x02 = MulAdd(va0, vb, x02); x12 = MulAdd(va1, vb, x12); x22 = MulAdd(va2, vb, x22); x32 = MulAdd(va3, vb, x32);
            vb = Load<V>(ref b3, (int)(o));
            x03 = MulAdd(va0, vb, x03); x13 = MulAdd(va1, vb, x13); x23 = MulAdd(va2, vb, x23); x33 = MulAdd(va3, vb, x33);
        }
        if (p < k && k >= vc)
        {
            var keep = TailMask<V>(k - p);
            nuint o = (nuint)(k - vc);
            var va0 = Load<V>(ref a0, (int)(o));
            var va1 = Load<V>(ref a1, (int)(o));
            var va2 = Load<V>(ref a2, (int)(o));
            var va3 = Load<V>(ref a3, (int)(o));
            var vb = Load<V>(ref b0, (int)(o));
            x00 = Select(keep, MulAdd(va0, vb, x00), x00); x10 = Select(keep, MulAdd(va1, vb, x10), x10);
            x20 = Select(keep, MulAdd(va2, vb, x20), x20); x30 = Select(keep, MulAdd(va3, vb, x30), x30);
            vb = Load<V>(ref b1, (int)(o));
            x01 = Select(keep, MulAdd(va0, vb, x01), x01); x11 = Select(keep, MulAdd(va1, vb, x11), x11);
            x21 = Select(keep, MulAdd(va2, vb, x21), x21); x31 = Select(keep, MulAdd(va3, vb, x31), x31);
            vb = Load<V>(ref b2, (int)(o));
            x02 = Select(keep, MulAdd(va0, vb, x02), x02); x12 = Select(keep, MulAdd(va1, vb, x12), x12);
            x22 = Select(keep, MulAdd(va2, vb, x22), x22); x32 = Select(keep, MulAdd(va3, vb, x32), x32);
            vb = Load<V>(ref b3, (int)(o));
            x03 = Select(keep, MulAdd(va0, vb, x03), x03); x13 = Select(keep, MulAdd(va1, vb, x13), x13);
            x23 = Select(keep, MulAdd(va2, vb, x23), x23); x33 = Select(keep, MulAdd(va3, vb, x33), x33);
            p = k;
        }
        if (p < k)
        {
            // k shorter than a vector: the lanes are all zero, so the same scalar sequence as Dot.
            ref float c1 = ref Unsafe.Add(ref c0, ldc);
            ref float c2 = ref Unsafe.Add(ref c0, 2 * ldc);
            ref float c3 = ref Unsafe.Add(ref c0, 3 * ldc);
            for (int q = 0; q < 4; q++)
            {
                ref float bq = ref Unsafe.Add(ref b0, q * ldb);
                Unsafe.Add(ref c0, q) += Dot<V>(k, ref a0, ref bq);
                Unsafe.Add(ref c1, q) += Dot<V>(k, ref a1, ref bq);
                Unsafe.Add(ref c2, q) += Dot<V>(k, ref a2, ref bq);
                Unsafe.Add(ref c3, q) += Dot<V>(k, ref a3, ref bq);
            }
            return;
        }
        Add4(ref c0, Sum(x00), Sum(x01), Sum(x02), Sum(x03));
        Add4(ref Unsafe.Add(ref c0, ldc), Sum(x10), Sum(x11), Sum(x12), Sum(x13));
        Add4(ref Unsafe.Add(ref c0, 2 * ldc), Sum(x20), Sum(x21), Sum(x22), Sum(x23));
        Add4(ref Unsafe.Add(ref c0, 3 * ldc), Sum(x30), Sum(x31), Sum(x32), Sum(x33));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add4(ref float c, float s0, float s1, float s2, float s3)
    {
        c += s0; Unsafe.Add(ref c, 1) += s1; Unsafe.Add(ref c, 2) += s2; Unsafe.Add(ref c, 3) += s3;
    }

    /// <summary>Two rows of <c>A</c> against four rows of <c>B</c>: <c>C[r, q] += dot(A[r], B[q])</c> for r &lt; 2, q &lt; 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot2x4<V>(int k, ref float a0, ref float a1, ref float b0, nint ldb, ref float c0, ref float c1) where V : struct
    {
        int vc = Count<V>();
        ref float b1 = ref Unsafe.Add(ref b0, ldb);
        ref float b2 = ref Unsafe.Add(ref b0, 2 * ldb);
        ref float b3 = ref Unsafe.Add(ref b0, 3 * ldb);
        V x00 = default, x01 = default, x02 = default, x03 = default;
        V x10 = default, x11 = default, x12 = default, x13 = default;
        int p = 0;
        for (; p + vc <= k; p += vc)
        {
            nuint o = (nuint)p;
            var va0 = Load<V>(ref a0, (int)(o));
            var va1 = Load<V>(ref a1, (int)(o));
            var vb = Load<V>(ref b0, (int)(o));
            x00 = MulAdd(va0, vb, x00); x10 = MulAdd(va1, vb, x10);
            vb = Load<V>(ref b1, (int)(o));
            x01 = MulAdd(va0, vb, x01); x11 = MulAdd(va1, vb, x11);
            vb = Load<V>(ref b2, (int)(o));
            x02 = MulAdd(va0, vb, x02); x12 = MulAdd(va1, vb, x12);
            vb = Load<V>(ref b3, (int)(o));
            x03 = MulAdd(va0, vb, x03); x13 = MulAdd(va1, vb, x13);
        }
        if (p < k && k >= vc)
        {
            var keep = TailMask<V>(k - p);
            nuint o = (nuint)(k - vc);
            var va0 = Load<V>(ref a0, (int)(o));
            var va1 = Load<V>(ref a1, (int)(o));
            var vb = Load<V>(ref b0, (int)(o));
            x00 = Select(keep, MulAdd(va0, vb, x00), x00); x10 = Select(keep, MulAdd(va1, vb, x10), x10);
            vb = Load<V>(ref b1, (int)(o));
            x01 = Select(keep, MulAdd(va0, vb, x01), x01); x11 = Select(keep, MulAdd(va1, vb, x11), x11);
            vb = Load<V>(ref b2, (int)(o));
            x02 = Select(keep, MulAdd(va0, vb, x02), x02); x12 = Select(keep, MulAdd(va1, vb, x12), x12);
            vb = Load<V>(ref b3, (int)(o));
            x03 = Select(keep, MulAdd(va0, vb, x03), x03); x13 = Select(keep, MulAdd(va1, vb, x13), x13);
            p = k;
        }
        float s00 = Sum(x00), s01 = Sum(x01), s02 = Sum(x02), s03 = Sum(x03);
        float s10 = Sum(x10), s11 = Sum(x11), s12 = Sum(x12), s13 = Sum(x13);
        for (; p < k; p++)
        {
            float e0 = Unsafe.Add(ref a0, p), e1 = Unsafe.Add(ref a1, p);
            float f0 = Unsafe.Add(ref b0, p), f1 = Unsafe.Add(ref b1, p), f2 = Unsafe.Add(ref b2, p), f3 = Unsafe.Add(ref b3, p);
            s00 = MulAdd(e0, f0, s00); s01 = MulAdd(e0, f1, s01); s02 = MulAdd(e0, f2, s02); s03 = MulAdd(e0, f3, s03);
            s10 = MulAdd(e1, f0, s10); s11 = MulAdd(e1, f1, s11); s12 = MulAdd(e1, f2, s12); s13 = MulAdd(e1, f3, s13);
        }
        c0 += s00; Unsafe.Add(ref c0, 1) += s01; Unsafe.Add(ref c0, 2) += s02; Unsafe.Add(ref c0, 3) += s03;
        c1 += s10; Unsafe.Add(ref c1, 1) += s11; Unsafe.Add(ref c1, 2) += s12; Unsafe.Add(ref c1, 3) += s13;
    }
}
