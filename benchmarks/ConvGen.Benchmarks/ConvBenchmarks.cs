using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using ConvGen;

namespace ConvGen.Benchmarks;

public enum Pass { Forward, BackwardData, BackwardWeights }

/// <summary>
/// One convolution pass on one shape, by one implementation, on 1 or 2 threads (the batch split in fixed halves, as the
/// runtime's layers split it; weight gradients of the two halves summed afterwards). The GFLOP/s column counts
/// 2 * N * OH * OW * F * KH * KW * C per pass.
/// </summary>
public abstract class ConvBenchmarkBase
{
    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "conv2";

    [ParamsAllValues]
    public Pass Pass { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    public static IEnumerable<string> Shapes => ["conv1", "conv2", "stride2"];

    protected ConvShape S = null!;
    protected float[] X = [], K = [], B = [], Y = [], G = [], DX = [], DK = [], DK2 = [], DB = [], DB2 = [];

    [GlobalSetup]
    public void Setup()
    {
        S = ConvShape.Get(Shape);
        var rng = new Random(1);
        float[] Random(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = rng.NextSingle() - 0.5f; return a; }
        X = Random(S.Batch * S.H * S.W * S.C);
        K = Random(S.K * S.K * S.C * S.F);
        B = Random(S.F);
        Y = new float[S.Batch * S.OH * S.OW * S.F];
        G = Random(Y.Length);
        DX = new float[X.Length];
        DK = new float[K.Length];
        DK2 = new float[K.Length];
        DB = new float[S.F];
        DB2 = new float[S.F];
        Prepare();
    }

    protected virtual void Prepare() { }

    public double Flops => S.Flops;

    /// <summary>Runs <paramref name="body"/> on the batch halves [n0, n1): one call on 1 thread, two in parallel on 2.</summary>
    protected void Split(Action<int, int, int> body)
    {
        if (Threads == 1) { body(0, 0, S.Batch); return; }
        Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, half => body(half, half * S.Batch / 2, (half + 1) * S.Batch / 2));
    }

    protected void SumWeightHalves()
    {
        if (Threads == 2) System.Numerics.Tensors.TensorPrimitives.Add(DK, DK2, DK);
    }
}

/// <summary>The kernels ConvGen generates for each shape.</summary>
public class GeneratedConv : ConvBenchmarkBase
{
    [Benchmark]
    public void Generated()
    {
        int xRow = S.H * S.W * S.C, yRow = S.OH * S.OW * S.F;
        switch (Pass)
        {
            case Pass.Forward:
                Split((_, n0, n1) => S.Forward(X.AsSpan(n0 * xRow, (n1 - n0) * xRow), n1 - n0, S.H, S.W, K, B, Y.AsSpan(n0 * yRow, (n1 - n0) * yRow)));
                break;
            case Pass.BackwardWeights:
                Split((half, n0, n1) => S.Weights(X.AsSpan(n0 * xRow, (n1 - n0) * xRow), n1 - n0, S.H, S.W, G.AsSpan(n0 * yRow, (n1 - n0) * yRow), half == 0 ? DK : DK2, half == 0 ? DB : DB2));
                SumWeightHalves();
                break;
            case Pass.BackwardData:
                Split((_, n0, n1) => S.Input(n1 - n0, S.H, S.W, K, G.AsSpan(n0 * yRow, (n1 - n0) * yRow), DX.AsSpan(n0 * xRow, (n1 - n0) * xRow)));
                break;
        }
    }
}

/// <summary>Baselines: the tutorial's scalar loops, and im2col + a vectorized matrix product.</summary>
public class BaselineConv : ConvBenchmarkBase
{
    private Im2colConv _im2col = null!;

    protected override void Prepare() => _im2col = new Im2colConv(S);

    [Benchmark]
    public void Scalar()
    {
        switch (Pass)
        {
            case Pass.Forward: Split((_, n0, n1) => ScalarConv.Forward(S, X, n0, n1, K, B, Y)); break;
            case Pass.BackwardWeights: Split((half, n0, n1) => ScalarConv.Weights(S, X, n0, n1, G, half == 0 ? DK : DK2)); SumWeightHalves(); break;
            case Pass.BackwardData: Split((_, n0, n1) => ScalarConv.Input(S, n0, n1, K, G, DX)); break;
        }
    }

    [Benchmark]
    public void Im2colGemm()
    {
        switch (Pass)
        {
            case Pass.Forward: Split((_, n0, n1) => _im2col.Forward(X, n0, n1, K, B, Y)); break;
            case Pass.BackwardWeights: Split((half, n0, n1) => _im2col.Weights(X, n0, n1, G, half == 0 ? DK : DK2)); SumWeightHalves(); break;
            case Pass.BackwardData: Split((_, n0, n1) => _im2col.Input(n0, n1, K, G, DX)); break;
        }
    }
}
