using System;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

/// <summary>
/// <see cref="Gemm.AddAB"/> and <see cref="Gemm.AddAtB"/> copy blocks of <c>B</c> into packed panels and use several register
/// tiles (4, 2 and 1 rows; panels of 4 or 2 vectors; the unpacked columns left over). Whatever path an element takes, it must
/// receive exactly the products of the sequential loop, in the same order, each a fused multiply-add; at every vector width
/// (<see cref="Simd.Lanes"/> 4, 8 and 16, the last in software where 512-bit vectors are not accelerated). Fewer than 8 rows take
/// the unpacked streaming path.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class GemmPackingTests
{
    /// <summary>Sizes around the vector width, the panel widths, <see cref="Gemm.KBlock"/> and <see cref="Gemm.NBlock"/>, at each width.</summary>
    public static TheoryData<int, int, int, int> Sizes()
    {
        var data = new TheoryData<int, int, int, int>();
        foreach (int lanes in new[] { 4, 8, 16 })
            foreach (var (m, n, k) in SizesAt(lanes))
                data.Add(lanes, m, n, k);
        return data;
    }

    private static (int M, int N, int K)[] SizesAt(int v)
    {
        int kb = Gemm.KBlock, nb = Gemm.NBlock;
        return new (int, int, int)[]
        {
            (1, 2 * v - 1, 5),              // fewer than 8 rows stream: vectors and a scalar tail, one B row
            (2, 2 * v, 3),                  // no tail, fewer B rows than a group of four
            (3, 4 * v + 5, 130),            // across a KBlock boundary
            (4, 3 * v + 1, kb + 1),
            (5, 6 * v + 3, 2 * kb + 3),
            (6, 2 * v + 1, 7),
            (7, nb + 6 * v + 1, kb - 1),
            (9, 4 * v - 1, 1),               // packed from here: 4-row tiles and a 1-row tile
            (13, 1, 9),
            (17, 5 * v, kb),
            (50, nb + 4 * v + 2 * v + v + 3, 2 * kb + 17), // a second column block with wide, narrow and masked columns, a 2-row tile
            (67, 2 * nb + 2, 33),           // more rows than a row block of the packed panels
            (1, 1024, 2 * kb + 3),          // batch-1 Dense: streamed, a partial group of four B rows
            (7, 4 * v + 3, 9),              // the most rows that stream
            (8, 4 * v + 3, 9),              // the fewest that pack
        };
    }

    /// <summary>C[i, j] = MulAdd(A[i, p], B[p, j], C[i, j]) for p = 0, 1, … in order.</summary>
    private static float[] Sequential(int m, int n, int k, Func<int, int, float> a, float[] b, int ldb, float[] c0, int ldc)
    {
        var c = (float[])c0.Clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = c[i * ldc + j];
                for (int p = 0; p < k; p++) s = Gemm.MulAdd(a(i, p), b[p * ldb + j], s);
                c[i * ldc + j] = s;
            }
        return c;
    }

    /// <summary>
    /// Sizes for <see cref="Gemm.AddAPanel"/> (the Dense layer's inference): fewer columns than a group of 4 vectors, an odd
    /// number of groups (one left unpaired), a last block narrower than 64 with groups, vectors and columns left, rows across
    /// <see cref="Gemm.PanelColumns"/>-wide blocks and across the 256-row blocks of the sums, up to 7 rows (each row streams
    /// the panel); from <see cref="Gemm.PackMinRows"/> rows the register tiles (4 rows, then 2, then 1; sums across the
    /// <see cref="Gemm.KBlock"/>-row blocks; a last block narrower than a vector, and one of vectors and columns).
    /// </summary>
    public static TheoryData<int, int, int, int> PanelSizes()
    {
        var data = new TheoryData<int, int, int, int>();
        foreach (int lanes in new[] { 4, 8, 16 })
            foreach (var (m, n, k) in new[] { (1, 3, 5), (1, 64, 1), (2, 64 + 4 * lanes + lanes + 3, 257), (1, 3 * 64, 300), (3, 5 * 64 + 63, 513),
                         (7, 2 * 64, 256), (1, 512, 3136 / 4), (4, 37, 900),
                         (8, 64, 129), (11, 2 * 64 + 10, 300), (50, 3 * 64 + 2 * lanes + 3, 3136 / 4), (13, 5, 257), (9, 7 * 64, 128) })
                data.Add(lanes, m, n, k);
        return data;
    }

    /// <summary>Random A [m×k], B [k×n] and C [m×n], each row padded past its end, and C after the sequential loop.</summary>
    private static (float[] A, int Lda, float[] B, int Ldb, float[] C, int Ldc, float[] Expected) Product(int m, int n, int k, int seed)
    {
        int lda = k + 3, ldb = n + 5, ldc = n + 2;
        var a = TestData.Uniform(m * lda, seed);
        var b = TestData.Uniform(k * ldb, seed + 1);
        var c = TestData.Uniform(m * ldc, seed + 2);
        return (a, lda, b, ldb, c, ldc, Sequential(m, n, k, (i, p) => a[i * lda + p], b, ldb, c, ldc));
    }

    [Theory]
    [MemberData(nameof(PanelSizes))]
    public void AddAPanel_is_bit_identical_to_the_sequential_fma_loop(int lanes, int m, int n, int k)
    {
        using var width = new LanesScope(lanes);
        var (a, lda, b, ldb, c, ldc, expected) = Product(m, n, k, seed: 31);
        var panel = new float[k * n + 1];
        panel[^1] = float.NaN; // past the panel: never read
        Gemm.PackPanel(b, ldb, k, n, panel);
        Gemm.AddAPanel(m, n, k, a, lda, panel, c, ldc);
        Assert.Equal(expected, c); // also: the padding after each row of C is untouched
    }

    /// <summary>
    /// With <c>skipZeros</c> (the Dense layer's inference after a ReLU), a row of A leaves out the rows of B its zeros multiply,
    /// in the panel product and in place: A with 40% zeros (half of them −0), a third of its columns zero in every row, and NaN
    /// in the rows of B those multiply. Every element still gets the sequential loop's value over the products it keeps, in
    /// order; without <c>skipZeros</c> (an infinity or NaN in the kernel) the NaNs come through, as zero times NaN is NaN. From
    /// <see cref="Gemm.PackMinRows"/> rows nothing is left out.
    /// </summary>
    [Theory]
    [MemberData(nameof(PanelSizes))]
    public void AddAPanel_skips_the_rows_that_zeros_of_A_multiply_only_when_told_to(int lanes, int m, int n, int k)
    {
        using var width = new LanesScope(lanes);
        var product = SparseProduct(m, n, k, seed: 41);
        var panel = new float[k * n];
        Assert.False(Gemm.PackPanel(product.B, product.Ldb, k, n, panel));
        product.AssertSkips((c, skipZeros) => Gemm.AddAPanel(m, n, k, product.A, product.Lda, panel, c, product.Ldc, skipZeros));
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void AddAB_skips_the_rows_that_zeros_of_A_multiply_only_when_told_to(int lanes, int m, int n, int k)
    {
        using var width = new LanesScope(lanes);
        var product = SparseProduct(m, n, k, seed: 43);
        product.AssertSkips((c, skipZeros) => Gemm.AddAB(m, n, k, product.A, product.Lda, product.B, product.Ldb, c, product.Ldc, skipZeros));
    }

    /// <summary>A product for the skipZeros tests: see <see cref="AddAPanel_skips_the_rows_that_zeros_of_A_multiply_only_when_told_to"/>.</summary>
    private static SparseCase SparseProduct(int m, int n, int k, int seed)
    {
        var (a, lda, b, ldb, c, ldc, _) = Product(m, n, k, seed);
        var random = new Random(seed + 1);
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
                if (random.NextDouble() < 0.4) a[i * lda + p] = random.Next(2) == 0 ? 0f : -0f;
        for (int p = 0; p < k; p++)
            if (p == 0 || random.NextDouble() < 0.3)
            {
                for (int i = 0; i < m; i++) a[i * lda + p] = 0f;
                for (int j = 0; j < n; j++) b[p * ldb + j] = float.NaN;
            }
        return new SparseCase(m, n, k, a, lda, b, ldb, c, ldc);
    }

    private sealed record SparseCase(int M, int N, int K, float[] A, int Lda, float[] B, int Ldb, float[] C, int Ldc)
    {
        /// <summary>Runs <paramref name="product"/> (into a copy of C, skipping zeros or not) both ways and checks what each gives.</summary>
        public void AssertSkips(Action<float[], bool> product)
        {
            bool skips = M < Gemm.PackMinRows;
            var kept = Sequential(M, N, K, (i, p) => A[i * Lda + p], B, Ldb, C, Ldc);
            var skipped = Sequential(M, N, K, (i, p) => A[i * Lda + p], Array.ConvertAll(B, v => float.IsNaN(v) ? 0f : v), Ldb, C, Ldc);
            var withSkip = (float[])C.Clone();
            product(withSkip, true);
            Assert.Equal(skips ? skipped : kept, withSkip);
            Assert.Equal(skips, !Array.Exists(withSkip, float.IsNaN));
            var without = (float[])C.Clone();
            product(without, false);
            Assert.Equal(kept, without);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) Assert.True(float.IsNaN(without[i * Ldc + j]));
        }
    }

    [Fact]
    public void PackPanel_reports_whether_every_value_is_finite()
    {
        var b = TestData.Uniform(5 * 130, 3);
        var panel = new float[5 * 130];
        Assert.True(Gemm.PackPanel(b, 130, 5, 130, panel));
        foreach (float bad in new[] { float.PositiveInfinity, float.NegativeInfinity, float.NaN })
            foreach (int at in new[] { 0, 129, 4 * 130 + 64, 5 * 130 - 1 }) // the first and last value of the first block, of the last (narrower) block
            {
                var copy = (float[])b.Clone();
                copy[at] = bad;
                Assert.False(Gemm.PackPanel(copy, 130, 5, 130, panel), $"{bad} at {at}");
            }
        Assert.True(Gemm.PackPanel(b, 130, 0, 130, panel)); // no rows: nothing infinite
    }

    [Fact]
    public void A_panel_too_short_for_its_matrix_is_refused()
    {
        var panel = new float[10];
        var e = Assert.Throws<ArgumentException>(() => Gemm.PackPanel(new float[12], 4, 3, 4, panel));
        Assert.Equal("panel", e.ParamName);
        Assert.Contains("needs 12", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.AddAPanel(1, 4, 3, new float[3], 3, panel, new float[4], 4));
        Assert.Equal("panel", e.ParamName);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void AddAB_is_bit_identical_to_the_sequential_fma_loop(int lanes, int m, int n, int k)
    {
        using var width = new LanesScope(lanes);
        var (a, lda, b, ldb, c, ldc, expected) = Product(m, n, k, seed: 21);
        Gemm.AddAB(m, n, k, a, lda, b, ldb, c, ldc);
        Assert.Equal(expected, c); // also: the padding after each row of C is untouched
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void AddAtB_is_bit_identical_to_the_sequential_fma_loop(int lanes, int m, int n, int k)
    {
        using var width = new LanesScope(lanes);
        int lda = m + 3, ldb = n + 1, ldc = n + 4;
        var a = TestData.Uniform(k * lda, 24); // stored k×m
        var b = TestData.Uniform(k * ldb, 25);
        var c = TestData.Uniform(m * ldc, 26);
        var expected = Sequential(m, n, k, (i, p) => a[p * lda + i], b, ldb, c, ldc);
        Gemm.AddAtB(m, n, k, a, lda, b, ldb, c, ldc);
        Assert.Equal(expected, c);
    }

    [Fact]
    public void Dense_sized_products_are_bit_identical_with_a_4KiB_row_stride()
    {
        // The MNIST dense layer: B rows 1024 floats apart, several KBlock×NBlock blocks, 50 = 12·4 + 2 rows.
        int m = 50, n = 1024, k = 3 * Gemm.KBlock + 5;
        var a = TestData.Uniform(m * k, 27);
        var b = TestData.Uniform(k * n, 28);
        var c = TestData.Uniform(m * n, 29);
        var expected = Sequential(m, n, k, (i, p) => a[i * k + p], b, n, c, n);
        Gemm.AddAB(m, n, k, a, k, b, n, c, n);
        Assert.Equal(expected, c);
    }

    [Fact]
    public void Repeated_products_allocate_nothing_after_the_first()
    {
        int m = 50, n = 300, k = 200;
        var a = TestData.Uniform(m * k, 30);
        var b = TestData.Uniform(k * n, 31);
        var c = new float[m * n];
        var ct = new float[k * n];
        Gemm.AddAB(m, n, k, a, k, b, n, c, n);
        Gemm.AddAtB(k, n, m, a, k, c, n, ct, n);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 0; r < 5; r++)
        {
            Gemm.AddAB(m, n, k, a, k, b, n, c, n);
            Gemm.AddAtB(k, n, m, a, k, c, n, ct, n);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
