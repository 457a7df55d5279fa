using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using BenchmarkDotNet.Order;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Jobs;
using ConvGen.Benchmarks;
using TorchSharp;
using static TorchSharp.torch;

namespace ConvGen.Peers;

using Tensor = TorchSharp.torch.Tensor;

/// <summary>
/// Each pass of <see cref="GeneratedConv"/> (its <c>Generated</c> benchmark, inherited) and the same pass in LibTorch
/// (TorchSharp-cpu; oneDNN where LibTorch picks it), in one class so <see cref="AlternatingOrderer"/> can run the two side by
/// side. Same shapes and batch, same thread counts (<c>torch.set_num_threads</c>): forward is <c>conv2d</c>; the gradients are
/// <c>autograd.grad</c> of one retained forward graph with respect to the input alone (BackwardData) or to the weights and bias
/// (BackwardWeights), so each measures only its pass. Layout: channels-last strides (NHWC storage), as ConvGen's, which is
/// also where LibTorch uses oneDNN.
/// </summary>
public class ConvPasses : GeneratedConv
{
    private Tensor _x = null!, _w = null!, _b = null!, _y = null!, _g = null!;

    /// <summary>The LibTorch case's setup: the arrays, then the tensors (the ConvGen case's process never loads LibTorch).</summary>
    [GlobalSetup(Target = nameof(LibTorch))]
    public void SetupLibTorch()
    {
        Setup();
        TorchSharpSetup.Ensure();
        torch.set_num_threads(Threads);
        torch.set_num_interop_threads(1);
        // NHWC and OHWI storage viewed as NCHW and OIHW.
        _x = torch.tensor(X, [S.Batch, S.H, S.W, S.C]).permute(0, 3, 1, 2);
        var ohwi = new float[K.Length];
        for (int kh = 0; kh < S.K; kh++)
            for (int kw = 0; kw < S.K; kw++)
                for (int c = 0; c < S.C; c++)
                    for (int f = 0; f < S.F; f++)
                        ohwi[((f * S.K + kh) * S.K + kw) * S.C + c] = K[((kh * S.K + kw) * S.C + c) * S.F + f];
        _w = torch.tensor(ohwi, [S.F, S.K, S.K, S.C]).permute(0, 3, 1, 2);
        _b = torch.tensor(B, [S.F]);
        _g = torch.tensor(G, [S.Batch, S.OH, S.OW, S.F]).permute(0, 3, 1, 2);
        switch (Pass)
        {
            case Pass.BackwardData: _x.requires_grad_(true); break;
            case Pass.BackwardWeights: _w.requires_grad_(true); _b.requires_grad_(true); break;
        }
        _y = Conv(_x);
    }

    // TF 'same': the shapes here pad symmetrically except stride2 (32 -> 16 with a 3x3 kernel pads 0 top/left, 1 bottom/right);
    // LibTorch's symmetric padding of 1 gives the same output size and the same number of multiply-adds.
    private Tensor Conv(Tensor x) => nn.functional.conv2d(x, _w, _b, strides: [S.Stride, S.Stride], padding: [S.Stride == 1 ? S.PadTop : 1, S.Stride == 1 ? S.PadLeft : 1]);

    [Benchmark]
    public void LibTorch()
    {
        using var scope = torch.NewDisposeScope();
        switch (Pass)
        {
            case Pass.Forward:
                using (torch.no_grad()) Conv(_x);
                break;
            case Pass.BackwardData:
                torch.autograd.grad([_y], [_x], [_g], retain_graph: true);
                break;
            case Pass.BackwardWeights:
                torch.autograd.grad([_y], [_w, _b], [_g], retain_graph: true);
                break;
        }
    }
}

/// <summary>
/// BenchmarkDotNet settings for <c>passes</c>: the default width (no environment variable), GFLOP/s, each case's ConvGen and
/// LibTorch runs one after the other.
/// </summary>
public static class PassConfig
{
    public static IConfig Create(bool shortRun) => DefaultConfig.Instance
        .AddJob(shortRun ? Job.Default.WithWarmupCount(2).WithIterationCount(5) : Job.Default.WithWarmupCount(3).WithIterationCount(15))
        .AddColumn(new RateColumn())
        .WithOption(ConfigOptions.JoinSummary, true)
        .WithOrderer(new AlternatingOrderer())
        .HideColumns(Column.Error, Column.StdDev);
}

/// <summary>
/// Runs each shape, pass and thread count in ConvGen and then in LibTorch, rather than BenchmarkDotNet's order (every ConvGen
/// case, then every LibTorch case, five minutes apart): this VM's speed drifts by 10-50% within minutes, and a ratio should
/// compare two runs taken as close together as they can be.
/// </summary>
public sealed class AlternatingOrderer : DefaultOrderer
{
    public override IEnumerable<BenchmarkCase> GetExecutionOrder(ImmutableArray<BenchmarkCase> benchmarkCases, IEnumerable<BenchmarkLogicalGroupRule>? order = null)
        => base.GetExecutionOrder(benchmarkCases, order).GroupBy(c => c.Parameters.DisplayInfo).SelectMany(g => g);
}
