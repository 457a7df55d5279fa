using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ConvGen;

/// <summary>
/// Single-precision matrix products that <b>add</b> into a row-major <c>C</c> with explicit row strides (leading dimensions):
/// <c>C += A·B</c>, <c>C += Aᵀ·B</c> and <c>C += A·Bᵀ</c>, vectorized with <see cref="Vector{T}"/> and fused multiply-adds.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="AddAB"/> and <see cref="AddAtB"/> run the i-k-j order with j innermost over contiguous rows of <c>B</c> and <c>C</c>:
/// a cache block of <see cref="KBlock"/> rows of <c>B</c> (<see cref="NBlock"/> columns wide) is copied into a per-thread
/// buffer as column panels whose rows are adjacent, and a register block of 4 rows of <c>C</c> by one panel (4 × 4 vectors
/// with AVX-512's 32 registers, else 4 × 2) accumulates over a panel, which stays in L1 while the rows of <c>A</c> pass over it.
/// Each element of <c>C</c> receives its products one at a time in increasing <c>k</c>, each a fused multiply-add, so the result
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
    private static Vector<float> MulAdd(Vector<float> a, Vector<float> b, Vector<float> c)
        => s_fma ? Vector.FusedMultiplyAdd(a, b, c) : a * b + c;

    /// <summary>A lane mask selecting the last <paramref name="remaining"/> of the <see cref="Vector{T}.Count"/> lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<int> TailMask(int remaining)
        => Vector.GreaterThanOrEqual(Vector<int>.Indices, new Vector<int>(Vector<float>.Count - remaining));

    // ---------------------------------------------------------------- span API (single thread)

    /// <summary><c>C[m×n] += A[m×k] · B[k×n]</c>; row strides <paramref name="lda"/>, <paramref name="ldb"/>, <paramref name="ldc"/>.</summary>
    public static void AddAB(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        CheckDims(m, n, k);
        CheckMatrix(a.Length, m, k, lda, nameof(a));
        CheckMatrix(b.Length, k, n, ldb, nameof(b));
        CheckMatrix(c.Length, m, n, ldc, nameof(c));
        if (m == 0 || n == 0 || k == 0) return;
        AddABCore(m, n, k, ref MemoryMarshal.GetReference(a), lda, 1, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(c), ldc);
    }

    /// <summary><c>C[m×n] += Aᵀ · B[k×n]</c> where <c>A</c> is stored <c>[k×m]</c> with row stride <paramref name="lda"/>.</summary>
    public static void AddAtB(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        CheckDims(m, n, k);
        CheckMatrix(a.Length, k, m, lda, nameof(a));
        CheckMatrix(b.Length, k, n, ldb, nameof(b));
        CheckMatrix(c.Length, m, n, ldc, nameof(c));
        if (m == 0 || n == 0 || k == 0) return;
        AddABCore(m, n, k, ref MemoryMarshal.GetReference(a), 1, lda, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(c), ldc);
    }

    /// <summary><c>C[m×n] += A[m×k] · Bᵀ</c> where <c>B</c> is stored <c>[n×k]</c> with row stride <paramref name="ldb"/>.</summary>
    public static void AddABt(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        CheckDims(m, n, k);
        CheckMatrix(a.Length, m, k, lda, nameof(a));
        CheckMatrix(b.Length, n, k, ldb, nameof(b));
        CheckMatrix(c.Length, m, n, ldc, nameof(c));
        if (m == 0 || n == 0 || k == 0) return;
        AddABtCore(m, n, k, ref MemoryMarshal.GetReference(a), lda, ref MemoryMarshal.GetReference(b), ldb, ref MemoryMarshal.GetReference(c), ldc);
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

    /// <summary>Whether the JIT has 32 vector registers (x86 with AVX-512, whatever the <see cref="Vector{T}"/> width).</summary>
    private static readonly bool s_manyRegisters = System.Runtime.Intrinsics.X86.Avx512F.IsSupported;

    /// <summary>
    /// Vectors per packed panel of <c>B</c>, and so per row of the register tile: 4 where the JIT has 32 vector registers
    /// (AVX-512, at any <see cref="Vector{T}"/> width), for 4 rows × 4 vectors = 16 accumulators; 2 otherwise, where a
    /// 4 × 4 tile would spill (4 × 2 = 8 accumulators).
    /// </summary>
    private static readonly int s_panelVectors = System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? 4 : 2;

    /// <summary>Rows of <c>A</c> that pass over one packed panel of <c>B</c> (kept in L1) before the next panel.</summary>
    private const int MBlock = 64;

    /// <summary>How many rows of <c>B</c> ahead <see cref="Pack"/> prefetches (each row of a block is its own page
    /// when the row stride is 4 KiB or more, where the hardware prefetchers start late).</summary>
    private const int PackPrefetchRows = 4;

    /// <summary>This thread's buffer for a packed <see cref="KBlock"/>×<see cref="NBlock"/> block of <c>B</c>: allocated
    /// once per thread, pinned so that the panels can start on a 64-byte boundary (no vector load straddles two cache lines).</summary>
    [ThreadStatic] private static float[]? t_packed;

    private static unsafe ref float PackBuffer()
    {
        var buffer = t_packed ??= GC.AllocateUninitializedArray<float>(KBlock * NBlock + 16, pinned: true);
        ref float start = ref MemoryMarshal.GetArrayDataReference(buffer);
        int misalignment = (int)((nuint)Unsafe.AsPointer(ref start) & 63) / sizeof(float);
        return ref Unsafe.Add(ref start, (16 - misalignment) & 15);
    }

    /// <summary>
    /// <c>C += A·B</c> by <see cref="KBlock"/>×<see cref="NBlock"/> blocks of <c>B</c>. Each block is copied into a
    /// per-thread buffer as panels of <c>w</c> columns (<see cref="s_panelVectors"/> vectors, then at most one of 2 vectors),
    /// where successive rows are adjacent, and register tiles of 4 rows of <c>C</c> by one panel run over them; the columns
    /// left over (less than 2 vectors) are read from <c>B</c> in place. Every kernel adds the products of an element of
    /// <c>C</c> one at a time in increasing <c>k</c>, each a fused multiply-add, so neither the blocking nor the packing
    /// changes a result.
    /// </summary>
    private static void AddABCore(int m, int n, int k, ref float a, nint ars, nint acs, ref float b, nint ldb, ref float c, nint ldc)
    {
        int vc = Vector<float>.Count;
        int w = s_panelVectors * vc;
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
                    Pack(kc, wide, w, ref bpj, ldb, ref packed);
                    Pack(kc, narrow, narrow, ref Unsafe.Add(ref bpj, wide), ldb, ref Unsafe.Add(ref packed, wide * kc));
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
                                if (four) PackedRows4x4(kc, ref ai, ars, acs, ref panel, ref ci, ldc);
                                else PackedRows4x2(kc, ref ai, ars, acs, ref panel, ref ci, ldc);
                            }
                            if (i + 2 <= i1)
                            {
                                PackedRows2(kc, four, ref Unsafe.Add(ref ap, i * ars), ars, acs, ref panel, ref Unsafe.Add(ref cj, i * ldc + jb), ldc);
                                i += 2;
                            }
                            if (i < i1)
                                PackedRow1(kc, four, ref Unsafe.Add(ref ap, i * ars), acs, ref panel, ref Unsafe.Add(ref cj, i * ldc + jb));
                        }
                    }
                }
                // The remaining columns (all of them when n is less than 2 vectors) straight from B.
                if (packedColumns < nc)
                {
                    int i = 0;
                    for (; i + 4 <= m; i += 4)
                        Rows4(kc, packedColumns, nc, ref Unsafe.Add(ref ap, i * ars), ars, acs, ref bpj, ldb, ref Unsafe.Add(ref cj, i * ldc), ldc);
                    for (; i < m; i++)
                        Row1(kc, packedColumns, nc, ref Unsafe.Add(ref ap, i * ars), acs, ref bpj, ldb, ref Unsafe.Add(ref cj, i * ldc));
                }
            }
        }
    }

    /// <summary>
    /// Copies columns <c>0..columns</c> (a multiple of <paramref name="w"/>) of a <c>kc</c>-row block of <c>B</c> into
    /// <paramref name="packed"/> as panels <c>[columns / w][kc][w]</c>: panel <c>q</c> starts at <c>q·w·kc</c>.
    /// </summary>
    private static unsafe void Pack(int kc, int columns, int w, ref float b, nint ldb, ref float packed)
    {
        if (columns == 0) return;
        int vc = Vector<float>.Count;
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
                    Vector.LoadUnsafe(ref src, (nuint)(jb + v)).StoreUnsafe(ref dst, (nuint)v);
        }
    }

    /// <summary>Rows <c>0..3</c> by the 4·<see cref="Vector{T}.Count"/> columns of a packed panel (<c>kc</c> rows of
    /// 4 vectors, adjacent): <c>C[r, j] += Σp A[r, p]·panel[p, j]</c>.</summary>
    private static void PackedRows4x4(int kc, ref float a0, nint ars, nint acs, ref float panel, ref float c0, nint ldc)
    {
        int vc = Vector<float>.Count;
        ref float a1 = ref Unsafe.Add(ref a0, ars);
        ref float a2 = ref Unsafe.Add(ref a0, 2 * ars);
        ref float a3 = ref Unsafe.Add(ref a0, 3 * ars);
        ref float c1 = ref Unsafe.Add(ref c0, ldc);
        ref float c2 = ref Unsafe.Add(ref c0, 2 * ldc);
        ref float c3 = ref Unsafe.Add(ref c0, 3 * ldc);
        nuint o1 = (nuint)vc, o2 = (nuint)(2 * vc), o3 = (nuint)(3 * vc);
        var x00 = Vector.LoadUnsafe(ref c0); var x01 = Vector.LoadUnsafe(ref c0, o1); var x02 = Vector.LoadUnsafe(ref c0, o2); var x03 = Vector.LoadUnsafe(ref c0, o3);
        var x10 = Vector.LoadUnsafe(ref c1); var x11 = Vector.LoadUnsafe(ref c1, o1); var x12 = Vector.LoadUnsafe(ref c1, o2); var x13 = Vector.LoadUnsafe(ref c1, o3);
        var x20 = Vector.LoadUnsafe(ref c2); var x21 = Vector.LoadUnsafe(ref c2, o1); var x22 = Vector.LoadUnsafe(ref c2, o2); var x23 = Vector.LoadUnsafe(ref c2, o3);
        var x30 = Vector.LoadUnsafe(ref c3); var x31 = Vector.LoadUnsafe(ref c3, o1); var x32 = Vector.LoadUnsafe(ref c3, o2); var x33 = Vector.LoadUnsafe(ref c3, o3);
        nint ao = 0;
        nuint bo = 0;
        for (int p = 0; p < kc; p++, ao += acs, bo += (nuint)(4 * vc))
        {
            var b0 = Vector.LoadUnsafe(ref panel, bo);
            var b1 = Vector.LoadUnsafe(ref panel, bo + o1);
            var b2 = Vector.LoadUnsafe(ref panel, bo + o2);
            var b3 = Vector.LoadUnsafe(ref panel, bo + o3);
            var av = new Vector<float>(Unsafe.Add(ref a0, ao));
            x00 = MulAdd(av, b0, x00); x01 = MulAdd(av, b1, x01); x02 = MulAdd(av, b2, x02); x03 = MulAdd(av, b3, x03);
            av = new Vector<float>(Unsafe.Add(ref a1, ao));
            x10 = MulAdd(av, b0, x10); x11 = MulAdd(av, b1, x11); x12 = MulAdd(av, b2, x12); x13 = MulAdd(av, b3, x13);
            av = new Vector<float>(Unsafe.Add(ref a2, ao));
            x20 = MulAdd(av, b0, x20); x21 = MulAdd(av, b1, x21); x22 = MulAdd(av, b2, x22); x23 = MulAdd(av, b3, x23);
            av = new Vector<float>(Unsafe.Add(ref a3, ao));
            x30 = MulAdd(av, b0, x30); x31 = MulAdd(av, b1, x31); x32 = MulAdd(av, b2, x32); x33 = MulAdd(av, b3, x33);
        }
        x00.StoreUnsafe(ref c0); x01.StoreUnsafe(ref c0, o1); x02.StoreUnsafe(ref c0, o2); x03.StoreUnsafe(ref c0, o3);
        x10.StoreUnsafe(ref c1); x11.StoreUnsafe(ref c1, o1); x12.StoreUnsafe(ref c1, o2); x13.StoreUnsafe(ref c1, o3);
        x20.StoreUnsafe(ref c2); x21.StoreUnsafe(ref c2, o1); x22.StoreUnsafe(ref c2, o2); x23.StoreUnsafe(ref c2, o3);
        x30.StoreUnsafe(ref c3); x31.StoreUnsafe(ref c3, o1); x32.StoreUnsafe(ref c3, o2); x33.StoreUnsafe(ref c3, o3);
    }

    /// <summary>Rows <c>0..3</c> by the 2·<see cref="Vector{T}.Count"/> columns of a packed panel (<c>kc</c> rows of
    /// 2 vectors, adjacent): <c>C[r, j] += Σp A[r, p]·panel[p, j]</c>.</summary>
    private static void PackedRows4x2(int kc, ref float a0, nint ars, nint acs, ref float panel, ref float c0, nint ldc)
    {
        int vc = Vector<float>.Count;
        ref float a1 = ref Unsafe.Add(ref a0, ars);
        ref float a2 = ref Unsafe.Add(ref a0, 2 * ars);
        ref float a3 = ref Unsafe.Add(ref a0, 3 * ars);
        ref float c1 = ref Unsafe.Add(ref c0, ldc);
        ref float c2 = ref Unsafe.Add(ref c0, 2 * ldc);
        ref float c3 = ref Unsafe.Add(ref c0, 3 * ldc);
        nuint o1 = (nuint)vc;
        var x00 = Vector.LoadUnsafe(ref c0); var x01 = Vector.LoadUnsafe(ref c0, o1);
        var x10 = Vector.LoadUnsafe(ref c1); var x11 = Vector.LoadUnsafe(ref c1, o1);
        var x20 = Vector.LoadUnsafe(ref c2); var x21 = Vector.LoadUnsafe(ref c2, o1);
        var x30 = Vector.LoadUnsafe(ref c3); var x31 = Vector.LoadUnsafe(ref c3, o1);
        nint ao = 0;
        nuint bo = 0;
        for (int p = 0; p < kc; p++, ao += acs, bo += (nuint)(2 * vc))
        {
            var b0 = Vector.LoadUnsafe(ref panel, bo);
            var b1 = Vector.LoadUnsafe(ref panel, bo + o1);
            var av = new Vector<float>(Unsafe.Add(ref a0, ao));
            x00 = MulAdd(av, b0, x00); x01 = MulAdd(av, b1, x01);
            av = new Vector<float>(Unsafe.Add(ref a1, ao));
            x10 = MulAdd(av, b0, x10); x11 = MulAdd(av, b1, x11);
            av = new Vector<float>(Unsafe.Add(ref a2, ao));
            x20 = MulAdd(av, b0, x20); x21 = MulAdd(av, b1, x21);
            av = new Vector<float>(Unsafe.Add(ref a3, ao));
            x30 = MulAdd(av, b0, x30); x31 = MulAdd(av, b1, x31);
        }
        x00.StoreUnsafe(ref c0); x01.StoreUnsafe(ref c0, o1);
        x10.StoreUnsafe(ref c1); x11.StoreUnsafe(ref c1, o1);
        x20.StoreUnsafe(ref c2); x21.StoreUnsafe(ref c2, o1);
        x30.StoreUnsafe(ref c3); x31.StoreUnsafe(ref c3, o1);
    }

    /// <summary>Rows <c>0..1</c> by the columns of a packed panel, 4 vectors wide when <paramref name="four"/>, else 2:
    /// <c>C[r, j] += Σp A[r, p]·panel[p, j]</c>.</summary>
    private static void PackedRows2(int kc, bool four, ref float a0, nint ars, nint acs, ref float panel, ref float c0, nint ldc)
    {
        int vc = Vector<float>.Count;
        ref float a1 = ref Unsafe.Add(ref a0, ars);
        ref float c1 = ref Unsafe.Add(ref c0, ldc);
        nuint o1 = (nuint)vc, o2 = (nuint)(2 * vc), o3 = (nuint)(3 * vc);
        nint ao = 0;
        nuint bo = 0;
        if (four)
        {
            var x00 = Vector.LoadUnsafe(ref c0); var x01 = Vector.LoadUnsafe(ref c0, o1); var x02 = Vector.LoadUnsafe(ref c0, o2); var x03 = Vector.LoadUnsafe(ref c0, o3);
            var x10 = Vector.LoadUnsafe(ref c1); var x11 = Vector.LoadUnsafe(ref c1, o1); var x12 = Vector.LoadUnsafe(ref c1, o2); var x13 = Vector.LoadUnsafe(ref c1, o3);
            for (int p = 0; p < kc; p++, ao += acs, bo += (nuint)(4 * vc))
            {
                var b0 = Vector.LoadUnsafe(ref panel, bo);
                var b1 = Vector.LoadUnsafe(ref panel, bo + o1);
                var b2 = Vector.LoadUnsafe(ref panel, bo + o2);
                var b3 = Vector.LoadUnsafe(ref panel, bo + o3);
                var av = new Vector<float>(Unsafe.Add(ref a0, ao));
                x00 = MulAdd(av, b0, x00); x01 = MulAdd(av, b1, x01); x02 = MulAdd(av, b2, x02); x03 = MulAdd(av, b3, x03);
                av = new Vector<float>(Unsafe.Add(ref a1, ao));
                x10 = MulAdd(av, b0, x10); x11 = MulAdd(av, b1, x11); x12 = MulAdd(av, b2, x12); x13 = MulAdd(av, b3, x13);
            }
            x00.StoreUnsafe(ref c0); x01.StoreUnsafe(ref c0, o1); x02.StoreUnsafe(ref c0, o2); x03.StoreUnsafe(ref c0, o3);
            x10.StoreUnsafe(ref c1); x11.StoreUnsafe(ref c1, o1); x12.StoreUnsafe(ref c1, o2); x13.StoreUnsafe(ref c1, o3);
        }
        else
        {
            var x00 = Vector.LoadUnsafe(ref c0); var x01 = Vector.LoadUnsafe(ref c0, o1);
            var x10 = Vector.LoadUnsafe(ref c1); var x11 = Vector.LoadUnsafe(ref c1, o1);
            for (int p = 0; p < kc; p++, ao += acs, bo += (nuint)(2 * vc))
            {
                var b0 = Vector.LoadUnsafe(ref panel, bo);
                var b1 = Vector.LoadUnsafe(ref panel, bo + o1);
                var av = new Vector<float>(Unsafe.Add(ref a0, ao));
                x00 = MulAdd(av, b0, x00); x01 = MulAdd(av, b1, x01);
                av = new Vector<float>(Unsafe.Add(ref a1, ao));
                x10 = MulAdd(av, b0, x10); x11 = MulAdd(av, b1, x11);
            }
            x00.StoreUnsafe(ref c0); x01.StoreUnsafe(ref c0, o1);
            x10.StoreUnsafe(ref c1); x11.StoreUnsafe(ref c1, o1);
        }
    }

    /// <summary>One row by the columns of a packed panel, 4 vectors wide when <paramref name="four"/>, else 2:
    /// <c>C[j] += Σp A[p]·panel[p, j]</c>.</summary>
    private static void PackedRow1(int kc, bool four, ref float a0, nint acs, ref float panel, ref float c0)
    {
        int vc = Vector<float>.Count;
        nuint o1 = (nuint)vc, o2 = (nuint)(2 * vc), o3 = (nuint)(3 * vc);
        nint ao = 0;
        nuint bo = 0;
        if (four)
        {
            var x0 = Vector.LoadUnsafe(ref c0); var x1 = Vector.LoadUnsafe(ref c0, o1); var x2 = Vector.LoadUnsafe(ref c0, o2); var x3 = Vector.LoadUnsafe(ref c0, o3);
            for (int p = 0; p < kc; p++, ao += acs, bo += (nuint)(4 * vc))
            {
                var av = new Vector<float>(Unsafe.Add(ref a0, ao));
                x0 = MulAdd(av, Vector.LoadUnsafe(ref panel, bo), x0);
                x1 = MulAdd(av, Vector.LoadUnsafe(ref panel, bo + o1), x1);
                x2 = MulAdd(av, Vector.LoadUnsafe(ref panel, bo + o2), x2);
                x3 = MulAdd(av, Vector.LoadUnsafe(ref panel, bo + o3), x3);
            }
            x0.StoreUnsafe(ref c0); x1.StoreUnsafe(ref c0, o1); x2.StoreUnsafe(ref c0, o2); x3.StoreUnsafe(ref c0, o3);
        }
        else
        {
            var x0 = Vector.LoadUnsafe(ref c0); var x1 = Vector.LoadUnsafe(ref c0, o1);
            for (int p = 0; p < kc; p++, ao += acs, bo += (nuint)(2 * vc))
            {
                var av = new Vector<float>(Unsafe.Add(ref a0, ao));
                x0 = MulAdd(av, Vector.LoadUnsafe(ref panel, bo), x0);
                x1 = MulAdd(av, Vector.LoadUnsafe(ref panel, bo + o1), x1);
            }
            x0.StoreUnsafe(ref c0); x1.StoreUnsafe(ref c0, o1);
        }
    }

    /// <summary>Rows <c>0..3</c>, columns <c>j..nc</c> of a <c>kc×nc</c> block, read from <c>B</c> in place:
    /// <c>C[r, j] += Σp A[r, p]·B[p, j]</c>. A final partial vector may overlap columns before <paramref name="j"/>,
    /// which it leaves as they are.</summary>
    private static void Rows4(int kc, int j, int nc, ref float a0, nint ars, nint acs, ref float b, nint ldb, ref float c0, nint ldc)
    {
        int vc = Vector<float>.Count;
        ref float a1 = ref Unsafe.Add(ref a0, ars);
        ref float a2 = ref Unsafe.Add(ref a0, 2 * ars);
        ref float a3 = ref Unsafe.Add(ref a0, 3 * ars);
        ref float c1 = ref Unsafe.Add(ref c0, ldc);
        ref float c2 = ref Unsafe.Add(ref c0, 2 * ldc);
        ref float c3 = ref Unsafe.Add(ref c0, 3 * ldc);
        for (; j + 2 * vc <= nc; j += 2 * vc)
        {
            nuint o0 = (nuint)j, o1 = (nuint)(j + vc);
            var x00 = Vector.LoadUnsafe(ref c0, o0); var x01 = Vector.LoadUnsafe(ref c0, o1);
            var x10 = Vector.LoadUnsafe(ref c1, o0); var x11 = Vector.LoadUnsafe(ref c1, o1);
            var x20 = Vector.LoadUnsafe(ref c2, o0); var x21 = Vector.LoadUnsafe(ref c2, o1);
            var x30 = Vector.LoadUnsafe(ref c3, o0); var x31 = Vector.LoadUnsafe(ref c3, o1);
            ref float bj = ref Unsafe.Add(ref b, j);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
            {
                ref float brow = ref Unsafe.Add(ref bj, bo);
                var b0 = Vector.LoadUnsafe(ref brow);
                var b1 = Vector.LoadUnsafe(ref brow, (nuint)vc);
                var av = new Vector<float>(Unsafe.Add(ref a0, ao));
                x00 = MulAdd(av, b0, x00); x01 = MulAdd(av, b1, x01);
                av = new Vector<float>(Unsafe.Add(ref a1, ao));
                x10 = MulAdd(av, b0, x10); x11 = MulAdd(av, b1, x11);
                av = new Vector<float>(Unsafe.Add(ref a2, ao));
                x20 = MulAdd(av, b0, x20); x21 = MulAdd(av, b1, x21);
                av = new Vector<float>(Unsafe.Add(ref a3, ao));
                x30 = MulAdd(av, b0, x30); x31 = MulAdd(av, b1, x31);
            }
            x00.StoreUnsafe(ref c0, o0); x01.StoreUnsafe(ref c0, o1);
            x10.StoreUnsafe(ref c1, o0); x11.StoreUnsafe(ref c1, o1);
            x20.StoreUnsafe(ref c2, o0); x21.StoreUnsafe(ref c2, o1);
            x30.StoreUnsafe(ref c3, o0); x31.StoreUnsafe(ref c3, o1);
        }
        for (; j + vc <= nc; j += vc)
        {
            nuint o0 = (nuint)j;
            var x0 = Vector.LoadUnsafe(ref c0, o0);
            var x1 = Vector.LoadUnsafe(ref c1, o0);
            var x2 = Vector.LoadUnsafe(ref c2, o0);
            var x3 = Vector.LoadUnsafe(ref c3, o0);
            ref float bj = ref Unsafe.Add(ref b, j);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
            {
                var b0 = Vector.LoadUnsafe(ref Unsafe.Add(ref bj, bo));
                x0 = MulAdd(new Vector<float>(Unsafe.Add(ref a0, ao)), b0, x0);
                x1 = MulAdd(new Vector<float>(Unsafe.Add(ref a1, ao)), b0, x1);
                x2 = MulAdd(new Vector<float>(Unsafe.Add(ref a2, ao)), b0, x2);
                x3 = MulAdd(new Vector<float>(Unsafe.Add(ref a3, ao)), b0, x3);
            }
            x0.StoreUnsafe(ref c0, o0);
            x1.StoreUnsafe(ref c1, o0);
            x2.StoreUnsafe(ref c2, o0);
            x3.StoreUnsafe(ref c3, o0);
        }
        if (j < nc && nc >= vc)
        {
            // The last vc columns, overlapping columns already done: every lane accumulates, but only the
            // remaining columns are stored; the others keep the value already in memory.
            var keep = TailMask(nc - j);
            nuint o0 = (nuint)(nc - vc);
            var x0 = Vector.LoadUnsafe(ref c0, o0);
            var x1 = Vector.LoadUnsafe(ref c1, o0);
            var x2 = Vector.LoadUnsafe(ref c2, o0);
            var x3 = Vector.LoadUnsafe(ref c3, o0);
            ref float bj = ref Unsafe.Add(ref b, nc - vc);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
            {
                var b0 = Vector.LoadUnsafe(ref Unsafe.Add(ref bj, bo));
                x0 = MulAdd(new Vector<float>(Unsafe.Add(ref a0, ao)), b0, x0);
                x1 = MulAdd(new Vector<float>(Unsafe.Add(ref a1, ao)), b0, x1);
                x2 = MulAdd(new Vector<float>(Unsafe.Add(ref a2, ao)), b0, x2);
                x3 = MulAdd(new Vector<float>(Unsafe.Add(ref a3, ao)), b0, x3);
            }
            Vector.ConditionalSelect(keep, x0, Vector.LoadUnsafe(ref c0, o0)).StoreUnsafe(ref c0, o0);
            Vector.ConditionalSelect(keep, x1, Vector.LoadUnsafe(ref c1, o0)).StoreUnsafe(ref c1, o0);
            Vector.ConditionalSelect(keep, x2, Vector.LoadUnsafe(ref c2, o0)).StoreUnsafe(ref c2, o0);
            Vector.ConditionalSelect(keep, x3, Vector.LoadUnsafe(ref c3, o0)).StoreUnsafe(ref c3, o0);
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
    private static void Row1(int kc, int j, int nc, ref float a0, nint acs, ref float b, nint ldb, ref float c0)
    {
        int vc = Vector<float>.Count;
        for (; j + 2 * vc <= nc; j += 2 * vc)
        {
            nuint o0 = (nuint)j, o1 = (nuint)(j + vc);
            var x0 = Vector.LoadUnsafe(ref c0, o0);
            var x1 = Vector.LoadUnsafe(ref c0, o1);
            ref float bj = ref Unsafe.Add(ref b, j);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
            {
                ref float brow = ref Unsafe.Add(ref bj, bo);
                var av = new Vector<float>(Unsafe.Add(ref a0, ao));
                x0 = MulAdd(av, Vector.LoadUnsafe(ref brow), x0);
                x1 = MulAdd(av, Vector.LoadUnsafe(ref brow, (nuint)vc), x1);
            }
            x0.StoreUnsafe(ref c0, o0);
            x1.StoreUnsafe(ref c0, o1);
        }
        for (; j + vc <= nc; j += vc)
        {
            nuint o0 = (nuint)j;
            var x0 = Vector.LoadUnsafe(ref c0, o0);
            ref float bj = ref Unsafe.Add(ref b, j);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
                x0 = MulAdd(new Vector<float>(Unsafe.Add(ref a0, ao)), Vector.LoadUnsafe(ref Unsafe.Add(ref bj, bo)), x0);
            x0.StoreUnsafe(ref c0, o0);
        }
        if (j < nc && nc >= vc)
        {
            var keep = TailMask(nc - j);
            nuint o0 = (nuint)(nc - vc);
            var x0 = Vector.LoadUnsafe(ref c0, o0);
            ref float bj = ref Unsafe.Add(ref b, nc - vc);
            nint ao = 0, bo = 0;
            for (int p = 0; p < kc; p++, ao += acs, bo += ldb)
                x0 = MulAdd(new Vector<float>(Unsafe.Add(ref a0, ao)), Vector.LoadUnsafe(ref Unsafe.Add(ref bj, bo)), x0);
            Vector.ConditionalSelect(keep, x0, Vector.LoadUnsafe(ref c0, o0)).StoreUnsafe(ref c0, o0);
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

    private static void AddABtCore(int m, int n, int k, ref float a, nint lda, ref float b, nint ldb, ref float c, nint ldc)
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
                        Dot4x4(k, ref ar, lda, ref Unsafe.Add(ref b, j * ldb), ldb, ref Unsafe.Add(ref cr, j), ldc);
                    for (; j < jEnd; j++)
                    {
                        ref float br = ref Unsafe.Add(ref b, j * ldb);
                        for (int r = 0; r < 4; r++)
                            Unsafe.Add(ref cr, r * ldc + j) += Dot(k, ref Unsafe.Add(ref ar, r * lda), ref br);
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
                    Dot2x4(k, ref ar0, ref ar1, ref Unsafe.Add(ref b, j * ldb), ldb, ref Unsafe.Add(ref cr0, j), ref Unsafe.Add(ref cr1, j));
                for (; j < jEnd; j++)
                {
                    ref float br = ref Unsafe.Add(ref b, j * ldb);
                    Unsafe.Add(ref cr0, j) += Dot(k, ref ar0, ref br);
                    Unsafe.Add(ref cr1, j) += Dot(k, ref ar1, ref br);
                }
            }
            for (; i < m; i++)
            {
                ref float ar = ref Unsafe.Add(ref a, i * lda);
                ref float cr = ref Unsafe.Add(ref c, i * ldc);
                for (int j = j0; j < jEnd; j++)
                    Unsafe.Add(ref cr, j) += Dot(k, ref ar, ref Unsafe.Add(ref b, j * ldb));
            }
        }
    }

    /// <summary><c>Σp a[p]·b[p]</c>: lane-wise vector accumulation (a masked final partial vector), horizontal sum, scalar tail only when <c>k</c> is shorter than a vector — the same sequence as <see cref="Dot2x4"/>.</summary>
    private static float Dot(int k, ref float a, ref float b)
    {
        int vc = Vector<float>.Count;
        var acc = Vector<float>.Zero;
        int p = 0;
        for (; p + vc <= k; p += vc)
            acc = MulAdd(Vector.LoadUnsafe(ref a, (nuint)p), Vector.LoadUnsafe(ref b, (nuint)p), acc);
        if (p < k && k >= vc)
        {
            // The last vc elements, overlapping ones already summed: only the remaining lanes accumulate.
            var keep = TailMask(k - p);
            nuint o = (nuint)(k - vc);
            acc = Vector.ConditionalSelect(keep, MulAdd(Vector.LoadUnsafe(ref a, o), Vector.LoadUnsafe(ref b, o), acc), acc);
            p = k;
        }
        float s = Vector.Sum(acc);
        for (; p < k; p++) s = MulAdd(Unsafe.Add(ref a, p), Unsafe.Add(ref b, p), s);
        return s;
    }

    /// <summary>Four rows of <c>A</c> against four rows of <c>B</c>: <c>C[r, q] += dot(A[r], B[q])</c> for r, q &lt; 4, each
    /// dot product formed exactly as in <see cref="Dot2x4"/> (needs 32 vector registers).</summary>
    private static void Dot4x4(int k, ref float a0, nint lda, ref float b0, nint ldb, ref float c0, nint ldc)
    {
        int vc = Vector<float>.Count;
        ref float a1 = ref Unsafe.Add(ref a0, lda);
        ref float a2 = ref Unsafe.Add(ref a0, 2 * lda);
        ref float a3 = ref Unsafe.Add(ref a0, 3 * lda);
        ref float b1 = ref Unsafe.Add(ref b0, ldb);
        ref float b2 = ref Unsafe.Add(ref b0, 2 * ldb);
        ref float b3 = ref Unsafe.Add(ref b0, 3 * ldb);
        Vector<float> x00 = default, x01 = default, x02 = default, x03 = default;
        Vector<float> x10 = default, x11 = default, x12 = default, x13 = default;
        Vector<float> x20 = default, x21 = default, x22 = default, x23 = default;
        Vector<float> x30 = default, x31 = default, x32 = default, x33 = default;
        int p = 0;
        for (; p + vc <= k; p += vc)
        {
            nuint o = (nuint)p;
            var va0 = Vector.LoadUnsafe(ref a0, o);
            var va1 = Vector.LoadUnsafe(ref a1, o);
            var va2 = Vector.LoadUnsafe(ref a2, o);
            var va3 = Vector.LoadUnsafe(ref a3, o);
            var vb = Vector.LoadUnsafe(ref b0, o);
            x00 = MulAdd(va0, vb, x00); x10 = MulAdd(va1, vb, x10); x20 = MulAdd(va2, vb, x20); x30 = MulAdd(va3, vb, x30);
            vb = Vector.LoadUnsafe(ref b1, o);
            x01 = MulAdd(va0, vb, x01); x11 = MulAdd(va1, vb, x11); x21 = MulAdd(va2, vb, x21); x31 = MulAdd(va3, vb, x31);
            vb = Vector.LoadUnsafe(ref b2, o);
            x02 = MulAdd(va0, vb, x02); x12 = MulAdd(va1, vb, x12); x22 = MulAdd(va2, vb, x22); x32 = MulAdd(va3, vb, x32);
            vb = Vector.LoadUnsafe(ref b3, o);
            x03 = MulAdd(va0, vb, x03); x13 = MulAdd(va1, vb, x13); x23 = MulAdd(va2, vb, x23); x33 = MulAdd(va3, vb, x33);
        }
        if (p < k && k >= vc)
        {
            var keep = TailMask(k - p);
            nuint o = (nuint)(k - vc);
            var va0 = Vector.LoadUnsafe(ref a0, o);
            var va1 = Vector.LoadUnsafe(ref a1, o);
            var va2 = Vector.LoadUnsafe(ref a2, o);
            var va3 = Vector.LoadUnsafe(ref a3, o);
            var vb = Vector.LoadUnsafe(ref b0, o);
            x00 = Vector.ConditionalSelect(keep, MulAdd(va0, vb, x00), x00); x10 = Vector.ConditionalSelect(keep, MulAdd(va1, vb, x10), x10);
            x20 = Vector.ConditionalSelect(keep, MulAdd(va2, vb, x20), x20); x30 = Vector.ConditionalSelect(keep, MulAdd(va3, vb, x30), x30);
            vb = Vector.LoadUnsafe(ref b1, o);
            x01 = Vector.ConditionalSelect(keep, MulAdd(va0, vb, x01), x01); x11 = Vector.ConditionalSelect(keep, MulAdd(va1, vb, x11), x11);
            x21 = Vector.ConditionalSelect(keep, MulAdd(va2, vb, x21), x21); x31 = Vector.ConditionalSelect(keep, MulAdd(va3, vb, x31), x31);
            vb = Vector.LoadUnsafe(ref b2, o);
            x02 = Vector.ConditionalSelect(keep, MulAdd(va0, vb, x02), x02); x12 = Vector.ConditionalSelect(keep, MulAdd(va1, vb, x12), x12);
            x22 = Vector.ConditionalSelect(keep, MulAdd(va2, vb, x22), x22); x32 = Vector.ConditionalSelect(keep, MulAdd(va3, vb, x32), x32);
            vb = Vector.LoadUnsafe(ref b3, o);
            x03 = Vector.ConditionalSelect(keep, MulAdd(va0, vb, x03), x03); x13 = Vector.ConditionalSelect(keep, MulAdd(va1, vb, x13), x13);
            x23 = Vector.ConditionalSelect(keep, MulAdd(va2, vb, x23), x23); x33 = Vector.ConditionalSelect(keep, MulAdd(va3, vb, x33), x33);
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
                Unsafe.Add(ref c0, q) += Dot(k, ref a0, ref bq);
                Unsafe.Add(ref c1, q) += Dot(k, ref a1, ref bq);
                Unsafe.Add(ref c2, q) += Dot(k, ref a2, ref bq);
                Unsafe.Add(ref c3, q) += Dot(k, ref a3, ref bq);
            }
            return;
        }
        Add4(ref c0, Vector.Sum(x00), Vector.Sum(x01), Vector.Sum(x02), Vector.Sum(x03));
        Add4(ref Unsafe.Add(ref c0, ldc), Vector.Sum(x10), Vector.Sum(x11), Vector.Sum(x12), Vector.Sum(x13));
        Add4(ref Unsafe.Add(ref c0, 2 * ldc), Vector.Sum(x20), Vector.Sum(x21), Vector.Sum(x22), Vector.Sum(x23));
        Add4(ref Unsafe.Add(ref c0, 3 * ldc), Vector.Sum(x30), Vector.Sum(x31), Vector.Sum(x32), Vector.Sum(x33));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add4(ref float c, float s0, float s1, float s2, float s3)
    {
        c += s0; Unsafe.Add(ref c, 1) += s1; Unsafe.Add(ref c, 2) += s2; Unsafe.Add(ref c, 3) += s3;
    }

    /// <summary>Two rows of <c>A</c> against four rows of <c>B</c>: <c>C[r, q] += dot(A[r], B[q])</c> for r &lt; 2, q &lt; 4.</summary>
    private static void Dot2x4(int k, ref float a0, ref float a1, ref float b0, nint ldb, ref float c0, ref float c1)
    {
        int vc = Vector<float>.Count;
        ref float b1 = ref Unsafe.Add(ref b0, ldb);
        ref float b2 = ref Unsafe.Add(ref b0, 2 * ldb);
        ref float b3 = ref Unsafe.Add(ref b0, 3 * ldb);
        Vector<float> x00 = default, x01 = default, x02 = default, x03 = default;
        Vector<float> x10 = default, x11 = default, x12 = default, x13 = default;
        int p = 0;
        for (; p + vc <= k; p += vc)
        {
            nuint o = (nuint)p;
            var va0 = Vector.LoadUnsafe(ref a0, o);
            var va1 = Vector.LoadUnsafe(ref a1, o);
            var vb = Vector.LoadUnsafe(ref b0, o);
            x00 = MulAdd(va0, vb, x00); x10 = MulAdd(va1, vb, x10);
            vb = Vector.LoadUnsafe(ref b1, o);
            x01 = MulAdd(va0, vb, x01); x11 = MulAdd(va1, vb, x11);
            vb = Vector.LoadUnsafe(ref b2, o);
            x02 = MulAdd(va0, vb, x02); x12 = MulAdd(va1, vb, x12);
            vb = Vector.LoadUnsafe(ref b3, o);
            x03 = MulAdd(va0, vb, x03); x13 = MulAdd(va1, vb, x13);
        }
        if (p < k && k >= vc)
        {
            var keep = TailMask(k - p);
            nuint o = (nuint)(k - vc);
            var va0 = Vector.LoadUnsafe(ref a0, o);
            var va1 = Vector.LoadUnsafe(ref a1, o);
            var vb = Vector.LoadUnsafe(ref b0, o);
            x00 = Vector.ConditionalSelect(keep, MulAdd(va0, vb, x00), x00); x10 = Vector.ConditionalSelect(keep, MulAdd(va1, vb, x10), x10);
            vb = Vector.LoadUnsafe(ref b1, o);
            x01 = Vector.ConditionalSelect(keep, MulAdd(va0, vb, x01), x01); x11 = Vector.ConditionalSelect(keep, MulAdd(va1, vb, x11), x11);
            vb = Vector.LoadUnsafe(ref b2, o);
            x02 = Vector.ConditionalSelect(keep, MulAdd(va0, vb, x02), x02); x12 = Vector.ConditionalSelect(keep, MulAdd(va1, vb, x12), x12);
            vb = Vector.LoadUnsafe(ref b3, o);
            x03 = Vector.ConditionalSelect(keep, MulAdd(va0, vb, x03), x03); x13 = Vector.ConditionalSelect(keep, MulAdd(va1, vb, x13), x13);
            p = k;
        }
        float s00 = Vector.Sum(x00), s01 = Vector.Sum(x01), s02 = Vector.Sum(x02), s03 = Vector.Sum(x03);
        float s10 = Vector.Sum(x10), s11 = Vector.Sum(x11), s12 = Vector.Sum(x12), s13 = Vector.Sum(x13);
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
