using System;
using ConvGen;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Runtime.Tests.Layers;

/// <summary>
/// <see cref="Gemm.AddABt"/> forms blocks of 4×4 or 2×4 dot products; each must be the same float as the product formed on
/// its own (one row of <c>A</c>, one row of <c>B</c>: lane-wise sums, masked last vector, horizontal sum, scalar tail), at every
/// vector width.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class GemmDotTileTests
{
    public static TheoryData<int, int, int, int> Sizes()
    {
        var data = new TheoryData<int, int, int, int>();
        foreach (int v in new[] { 4, 8, 16 })
            foreach (int k in new[] { 1, v - 1, v, v + 1, 3 * v + 5, 300 })
                foreach (var (m, n) in new[] { (4, 4), (5, 9), (7, 6), (9, 33), (2, 5) })
                    data.Add(v, m, n, k);
        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void AddABt_tiles_are_bit_identical_to_one_dot_product_at_a_time(int lanes, int m, int n, int k)
    {
        using var width = new LanesScope(lanes);
        int lda = k + 1, ldb = k + 3, ldc = n + 2;
        var a = TestData.Uniform(m * lda, 41);
        var b = TestData.Uniform(n * ldb, 42); // stored n×k
        var c = TestData.Uniform(m * ldc, 43);
        var expected = (float[])c.Clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                Gemm.AddABt(1, 1, k, a.AsSpan(i * lda, k), k, b.AsSpan(j * ldb, k), k, expected.AsSpan(i * ldc + j, 1), 1);
        Gemm.AddABt(m, n, k, a, lda, b, ldb, c, ldc);
        Assert.Equal(expected, c);
    }
}
