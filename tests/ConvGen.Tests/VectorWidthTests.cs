using System;
using System.Numerics;
using System.Runtime.Intrinsics.X86;
using Xunit;

namespace ConvGen.Tests;

public class VectorWidthTests
{
    /// <summary>CI runs the suite twice; this proves the second run really uses 512-bit Vector&lt;float&gt; where the CPU has it.</summary>
    [Fact]
    public void DOTNET_MaxVectorTBitWidth_512_gives_16_floats_on_AVX512_hardware()
    {
        bool asked512 = Environment.GetEnvironmentVariable("DOTNET_MaxVectorTBitWidth") == "512";
        if (asked512 && Avx512F.IsSupported) Assert.Equal(16, Vector<float>.Count);
        else if (!asked512 && Avx2.IsSupported) Assert.Equal(8, Vector<float>.Count);
        else Assert.InRange(Vector<float>.Count, 4, 16);
    }
}
