using System;
using System.Numerics;
using System.Runtime.Intrinsics.X86;
using Xunit;

namespace ConvGen.Tests;

public class VectorWidthTests
{
    /// <summary>
    /// CI runs the suite at DOTNET_MaxVectorTBitWidth 128, (unset = 256) and 512; this proves each run really uses
    /// 4, 8 and 16 floats a vector where the CPU has them, so the kernels are tested at every width.
    /// </summary>
    [Fact]
    public void DOTNET_MaxVectorTBitWidth_sets_the_Vector_width_the_kernels_run_at()
    {
        string? asked = Environment.GetEnvironmentVariable("DOTNET_MaxVectorTBitWidth");
        int expected = asked switch
        {
            "128" => 4,
            "512" when Avx512F.IsSupported => 16,
            _ when Avx2.IsSupported => 8,
            _ => Vector<float>.Count,
        };
        Assert.Equal(expected, Vector<float>.Count);
    }
}
