using System;
using System.Linq;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using ConvGen.Benchmarks;

// Every benchmark runs twice: with the default 256-bit Vector<float> and with 512-bit (DOTNET_MaxVectorTBitWidth=512,
// which only takes effect at process start, so each job is its own process). --short runs fewer iterations.
bool shortRun = args.Contains("--short");
args = args.Where(a => a != "--short").ToArray();
var baseJob = shortRun
    ? Job.Default.WithWarmupCount(2).WithIterationCount(5).WithLaunchCount(1)
    : Job.Default.WithWarmupCount(3).WithIterationCount(15).WithLaunchCount(1);
var config = DefaultConfig.Instance
    .AddJob(baseJob.WithEnvironmentVariables(new EnvironmentVariable("DOTNET_MaxVectorTBitWidth", "256")).WithId("256-bit"))
    .AddJob(baseJob.WithEnvironmentVariables(new EnvironmentVariable("DOTNET_MaxVectorTBitWidth", "512")).WithId("512-bit"))
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumn(new RateColumn())
    .WithOption(ConfigOptions.JoinSummary, true)
    .HideColumns(Column.Error, Column.StdDev, Column.Gen0, Column.Gen1, Column.Gen2, "EnvironmentVariables");
BenchmarkSwitcher.FromAssembly(typeof(GeneratedConv).Assembly).Run(args, config);

/// <summary>GFLOP/s for convolution passes, images/s for the MNIST model.</summary>
internal sealed class RateColumn : IColumn
{
    public string Id => nameof(RateColumn);
    public string ColumnName => "Rate";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "GFLOP/s (convolutions, 2*N*OH*OW*F*KH*KW*C) or images/s (MNIST model)";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } stats) return "-";
        double seconds = stats.Mean * 1e-9;
        var shape = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Shape")?.Value as string;
        if (shape is null) return $"{1 / seconds:N0} img/s";
        return $"{ConvShape.Get(shape).Flops / seconds / 1e9:F1} GFLOP/s";
    }
}
