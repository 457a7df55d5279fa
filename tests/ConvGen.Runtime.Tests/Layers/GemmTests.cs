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
        Gemm.AddABParallel(1, 3, 0, [], 0, 0, [], 0, 3, c, 0, 3, 4);
        Assert.Equal(new float[] { 1, 2, 3 }, c);
    }
}

[Collection(ThreadCountCollection.Name)]
public class GemmParallelTests
{
    public static TheoryData<int, int, int> Sizes => new()
    {
        { 1, 1, 1 }, { 7, 13, 5 }, { 1, 300, 250 }, { 3, 200, 129 }, { 50, 37, 3136 }, { 50, 3136, 37 }, { 3136, 37, 50 }, { 130, 70, 90 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Parallel_variants_equal_the_single_threaded_kernels_bit_for_bit(int m, int n, int k)
    {
        var a = TestData.Uniform(m * k + 7, 11);
        var b = TestData.Uniform(k * n + 5, 12);
        var bt = TestData.Uniform(n * k + 3, 13);
        var at = TestData.Uniform(k * m + 1, 14);
        var c0 = TestData.Uniform(m * n + 2, 15);

        float[] Run(int variant, int threads)
        {
            var c = (float[])c0.Clone();
            switch (variant)
            {
                case 0: Gemm.AddABParallel(m, n, k, a, 7, k, b, 5, n, c, 2, n, threads); break;
                case 1: Gemm.AddAtBParallel(m, n, k, at, 1, m, b, 5, n, c, 2, n, threads); break;
                default: Gemm.AddABtParallel(m, n, k, a, 7, k, bt, 3, k, c, 2, n, threads); break;
            }
            return c;
        }

        for (int variant = 0; variant < 3; variant++)
        {
            var serial = (float[])c0.Clone();
            switch (variant)
            {
                case 0: Gemm.AddAB(m, n, k, a.AsSpan(7), k, b.AsSpan(5), n, serial.AsSpan(2), n); break;
                case 1: Gemm.AddAtB(m, n, k, at.AsSpan(1), m, b.AsSpan(5), n, serial.AsSpan(2), n); break;
                default: Gemm.AddABt(m, n, k, a.AsSpan(7), k, bt.AsSpan(3), k, serial.AsSpan(2), n); break;
            }
            foreach (int threads in new[] { 1, 2, 3, 8 })
            {
                Assert.Equal(serial, Run(variant, threads));
                Assert.Equal(Run(variant, threads), Run(variant, threads));
            }
        }
    }
}
