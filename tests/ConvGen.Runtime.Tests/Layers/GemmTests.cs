using System;
using ConvGen;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

public class GemmTests
{
    public static TheoryData<int, int, int> Sizes => new()
    {
        { 1, 1, 1 }, { 7, 13, 5 }, { 7, 13, 1 }, { 3, 1, 9 }, { 1, 17, 300 }, { 9, 33, 257 }, { 50, 37, 3136 }, { 64, 10, 128 },
    };

    /// <summary>C (m×n, stride ldc) += A (m×k, stride lda) · B (k×n, stride ldb), summed in double.</summary>
    private static double[] ReferenceAB(int m, int n, int k, Func<int, int, float> a, Func<int, int, float> b, float[] c0, int ldc)
    {
        var c = new double[c0.Length];
        for (int i = 0; i < c0.Length; i++) c[i] = c0[i];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double)a(i, p) * b(p, j);
                c[i * ldc + j] += s;
            }
        return c;
    }

    private static void AssertNear(double[] expected, float[] actual, int m, int n, int k, int ldc)
    {
        // Float rounding of a k-term sum of products of values in [-1, 1].
        double tolerance = 1e-6 * (k + 1) + 1e-6;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                Assert.True(Math.Abs(expected[i * ldc + j] - actual[i * ldc + j]) <= tolerance,
                    $"C[{i},{j}]: expected {expected[i * ldc + j]}, got {actual[i * ldc + j]}");
        // Padding between rows is untouched.
        for (int i = 0; i < expected.Length; i++)
            if (i % ldc >= n) Assert.Equal((float)expected[i], actual[i]);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void AddAB_matches_reference_and_sequential_fma_loop(int m, int n, int k)
    {
        int lda = k + 3, ldb = n + 2, ldc = n + 1;
        var a = TestData.Uniform(m * lda, 1);
        var b = TestData.Uniform(k * ldb, 2);
        var c = TestData.Uniform(m * ldc, 3);
        var expected = ReferenceAB(m, n, k, (i, p) => a[i * lda + p], (p, j) => b[p * ldb + j], c, ldc);

        // The blocked kernel adds the products one at a time in increasing k, like the naive loop.
        var sequential = (float[])c.Clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = sequential[i * ldc + j];
                for (int p = 0; p < k; p++) s = Gemm.MulAdd(a[i * lda + p], b[p * ldb + j], s);
                sequential[i * ldc + j] = s;
            }

        Gemm.AddAB(m, n, k, a, lda, b, ldb, c, ldc);
        AssertNear(expected, c, m, n, k, ldc);
        Assert.Equal(sequential, c);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void AddAtB_matches_reference(int m, int n, int k)
    {
        int lda = m + 2, ldb = n + 3, ldc = n;
        var a = TestData.Uniform(k * lda, 4); // stored k×m
        var b = TestData.Uniform(k * ldb, 5);
        var c = TestData.Uniform(m * ldc, 6);
        var expected = ReferenceAB(m, n, k, (i, p) => a[p * lda + i], (p, j) => b[p * ldb + j], c, ldc);
        Gemm.AddAtB(m, n, k, a, lda, b, ldb, c, ldc);
        AssertNear(expected, c, m, n, k, ldc);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void AddABt_matches_reference(int m, int n, int k)
    {
        int lda = k, ldb = k + 5, ldc = n + 4;
        var a = TestData.Uniform(m * lda, 7);
        var b = TestData.Uniform(n * ldb, 8); // stored n×k
        var c = TestData.Uniform(m * ldc, 9);
        var expected = ReferenceAB(m, n, k, (i, p) => a[i * lda + p], (p, j) => b[j * ldb + p], c, ldc);
        Gemm.AddABt(m, n, k, a, lda, b, ldb, c, ldc);
        AssertNear(expected, c, m, n, k, ldc);
    }

    [Fact]
    public void Rejects_spans_too_short_for_the_shape()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.AddAB(2, 2, 2, new float[3], 2, new float[4], 2, new float[4], 2));
        Assert.Equal("a", ex.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.AddAB(2, 3, 2, new float[4], 2, new float[6], 2, new float[6], 3));
    }

    [Fact]
    public void Zero_sized_products_leave_C_alone()
    {
        var c = new float[] { 1, 2, 3 };
        Gemm.AddAB(1, 3, 0, [], 0, [], 3, c, 3);
        Assert.Equal(new float[] { 1, 2, 3 }, c);
    }

    public static TheoryData<int, int, int> SplitSizes => new()
    {
        { 1, 1, 1 }, { 7, 13, 5 }, { 1, 300, 250 }, { 3, 200, 129 }, { 50, 37, 3136 }, { 50, 3136, 37 }, { 3136, 37, 50 }, { 130, 70, 90 },
    };

    /// <summary>
    /// What lets a layer split a product over threads (Dense: output columns forward, rows of the weight gradient and of the
    /// input gradient backward): computing C in row or column pieces gives the bits of the whole product.
    /// </summary>
    [Theory]
    [MemberData(nameof(SplitSizes))]
    public void Row_and_column_pieces_equal_the_whole_product_bit_for_bit(int m, int n, int k)
    {
        var a = TestData.Uniform(m * k, 11);
        var b = TestData.Uniform(k * n, 12);
        var bt = TestData.Uniform(n * k, 13);
        var at = TestData.Uniform(k * m, 14);
        var c0 = TestData.Uniform(m * n, 15);

        void Product(int variant, int i0, int i1, int j0, int j1, float[] c)
        {
            var cPiece = c.AsSpan(i0 * n + j0);
            switch (variant)
            {
                case 0: Gemm.AddAB(i1 - i0, j1 - j0, k, a.AsSpan(i0 * k), k, b.AsSpan(j0), n, cPiece, n); break;
                case 1: Gemm.AddAtB(i1 - i0, j1 - j0, k, at.AsSpan(i0), m, b.AsSpan(j0), n, cPiece, n); break;
                default: Gemm.AddABt(i1 - i0, j1 - j0, k, a.AsSpan(i0 * k), k, bt.AsSpan(j0 * k), k, cPiece, n); break;
            }
        }

        for (int variant = 0; variant < 3; variant++)
        {
            var whole = (float[])c0.Clone();
            Product(variant, 0, m, 0, n, whole);
            foreach (int parts in new[] { 2, 3, 8 })
            {
                var byRows = (float[])c0.Clone();
                var byColumns = (float[])c0.Clone();
                for (int p = 0; p < parts; p++)
                {
                    var (i0, i1) = Parallelism.ChunkRange(m, parts, p);
                    if (i1 > i0) Product(variant, i0, i1, 0, n, byRows);
                    var (j0, j1) = Parallelism.ChunkRange(n, parts, p);
                    if (j1 > j0) Product(variant, 0, m, j0, j1, byColumns);
                }
                Assert.Equal(whole, byRows);
                Assert.Equal(whole, byColumns);
            }
        }
    }
}
