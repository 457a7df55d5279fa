using System;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ConvGen.Internal;
using ConvGen.Testing;
using Xunit;

namespace ConvGen.Tests;

/// <summary>A layer whose input gradient's last 4 channels sum over the 24 filters in vector-width order (a horizontal sum), so its bits tell the widths apart.</summary>
[Conv2D(3, 3, Filters = 24, InputChannels = 20, Padding = Padding.Same)]
public partial class WidthProbe;

/// <summary>
/// Which vector width the code runs at. CI runs the suite with DOTNET_MaxVectorTBitWidth and DOTNET_PreferredVectorBitWidth
/// at 128, 256 and 512 bits, and with DOTNET_EnableAVX512=0; these tests check that each run gets the width it asked for, and that the generated kernels
/// run at the width <see cref="Simd.Lanes"/> picks, which is 16 floats on an AVX-512 machine by default.
/// </summary>
[Collection(ProcessWideSettings.Name)]
public class VectorWidthTests
{
    private static string? Env(string name) => Environment.GetEnvironmentVariable(name);

    /// <summary>DOTNET_MaxVectorTBitWidth sets Vector&lt;float&gt; (the runtime's layers); the kernels have their own width.</summary>
    [Fact]
    public void DOTNET_MaxVectorTBitWidth_sets_the_width_of_Vector_T()
    {
        int expected = (Env("DOTNET_MaxVectorTBitWidth"), Env("DOTNET_PreferredVectorBitWidth")) switch
        {
            ("128", _) or (_, "128") => 4,
            ("512", _) when Avx512F.IsSupported => 16,
            _ when Avx2.IsSupported => 8,
            _ => Vector<float>.Count,
        };
        Assert.Equal(expected, Vector<float>.Count);
    }

    /// <summary>
    /// The kernels' width by default: 16 floats wherever the CPU has AVX-512 and no setting turns 512-bit vectors off, with no
    /// environment variable needed; 8 with AVX2; 4 when 256-bit vectors are turned off.
    /// </summary>
    [Fact]
    public void The_kernels_run_16_floats_a_vector_on_an_AVX512_machine_by_default()
    {
        string? preferred = Env("DOTNET_PreferredVectorBitWidth");
        bool wideAllowed = preferred is null or "512" && Env("DOTNET_EnableAVX512") != "0";
        int expected = preferred == "128" ? 4
            : Avx512F.IsSupported && wideAllowed && Vector512.IsHardwareAccelerated ? 16
            : Avx2.IsSupported && preferred != "128" ? 8
            : Simd.HardwareLanes;
        Assert.Equal(expected, Simd.HardwareLanes);
        if (Avx512F.IsSupported && wideAllowed)
            Assert.True(Vector512.IsHardwareAccelerated, "this AVX-512 CPU does not accelerate Vector512: .NET judged it slow at 512 bits");
        Assert.Equal(Simd.HardwareLanes, Simd.Lanes);
    }

    /// <summary>
    /// The generated kernels really dispatch on <see cref="Simd.Lanes"/>: a kernel whose results differ in the last bits between
    /// 16 and 8 floats a vector gives, by default, exactly the bits of the width the hardware picks. So on an AVX-512 machine the
    /// default run is the 16-float code (not, say, Vector&lt;T&gt;'s 8 floats).
    /// </summary>
    [Fact]
    public void By_default_the_kernels_give_the_bits_of_the_hardware_width()
    {
        var rng = new Random(11);
        int n = 2, h = 5, w = 6;
        var weights = RandomConfigurationTests.RandomArray(rng, 3 * 3 * 20 * 24);
        var gradient = RandomConfigurationTests.RandomArray(rng, n * h * w * 24);
        float[] InputGradient()
        {
            var dx = new float[n * h * w * 20];
            WidthProbe.BackwardInput(n, h, w, weights, gradient, dx);
            return dx;
        }
        float[] At(int lanes)
        {
            using var width = new LanesScope(lanes);
            return InputGradient();
        }

        var wide = At(16);
        var narrow = At(8);
        var narrowest = At(4);
        Assert.NotEqual(wide, narrow); // the probe does tell the widths apart
        Assert.NotEqual(narrow, narrowest);
        var byDefault = InputGradient();
        Assert.Equal(Simd.HardwareLanes switch { 16 => wide, 8 => narrow, _ => narrowest }, byDefault);
    }

    /// <summary>
    /// CI's "avx2" run turns AVX-512 off to test on an AVX-512 machine what an AVX2 machine runs: 8 floats a vector and the
    /// kernels' 16-register tiles. This fails if the setting stops doing that (.NET 10 already ignores DOTNET_EnableAVX512F).
    /// </summary>
    [Fact]
    public void DOTNET_EnableAVX512_0_gives_the_AVX2_machines_kernels()
    {
        if (Env("DOTNET_EnableAVX512") != "0")
            return; // nothing to check in the other runs: the facts above cover them
        Assert.False(Avx512F.IsSupported, "DOTNET_EnableAVX512=0 left AVX-512 on");
        Assert.False(Simd.Registers32<System.Runtime.Intrinsics.Vector256<float>>(), "DOTNET_EnableAVX512=0 left the kernels at 8 floats 32 vector registers");
        Assert.Equal(Avx2.IsSupported ? 8 : 4, Simd.HardwareLanes);
    }

    [Fact]
    public void Simd_Lanes_takes_only_the_kernels_widths()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Simd.Lanes = 32);
        Assert.Throws<ArgumentOutOfRangeException>(() => Simd.Lanes = 2);
        Assert.Equal(Simd.HardwareLanes, Simd.Lanes);
    }
}
