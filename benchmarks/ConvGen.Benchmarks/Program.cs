using System;
using System.Linq;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using ConvGen.Benchmarks;

// Every benchmark runs in three processes, since the vector-width settings only take effect at process start:
// "default" with no setting (generated kernels take 512-bit vectors wherever Vector512 is hardware-accelerated),
// "512-bit" with DOTNET_MaxVectorTBitWidth=512 (Vector<float> widened too: Dense and the runtime's own loops), and
// "256-bit" with DOTNET_PreferredVectorBitWidth=256 (no 512-bit vectors anywhere: what an AVX2 machine runs).
// --short runs fewer iterations; --launches N runs each case in N processes (default 1), which averages out a process's
// luck with code alignment; --jobs default,512-bit (any of the three ids, comma-separated) runs only those jobs.
string? Option(string name)
{
    int at = Array.IndexOf(args, name);
    if (at < 0 || at + 1 >= args.Length) return null;
    string value = args[at + 1];
    args = args.Where((_, i) => i != at && i != at + 1).ToArray();
    return value;
}
bool shortRun = args.Contains("--short");
args = args.Where(a => a != "--short").ToArray();
string[] jobIds = Option("--jobs")?.Split(',') ?? ["default", "512-bit", "256-bit"];
string launchText = Option("--launches") ?? "1";
if (!int.TryParse(launchText, out int launches) || launches < 1)
{
    Console.Error.WriteLine($"--launches takes a positive whole number; got {launchText}");
    return 2;
}
var baseJob = shortRun
    ? Job.Default.WithWarmupCount(2).WithIterationCount(5).WithLaunchCount(launches)
    : Job.Default.WithWarmupCount(3).WithIterationCount(15).WithLaunchCount(launches);
Job[] jobs =
[
    baseJob.WithId("default"),
    baseJob.WithEnvironmentVariables(new EnvironmentVariable("DOTNET_MaxVectorTBitWidth", "512")).WithId("512-bit"),
    baseJob.WithEnvironmentVariables(new EnvironmentVariable("DOTNET_PreferredVectorBitWidth", "256")).WithId("256-bit"),
];
var unknown = jobIds.Except(jobs.Select(j => j.Id)).ToArray();
if (unknown.Length > 0)
{
    Console.Error.WriteLine($"--jobs takes default, 512-bit and 256-bit, comma-separated; got {string.Join(", ", unknown)}");
    return 2;
}
IConfig config = DefaultConfig.Instance;
foreach (var job in jobs.Where(j => jobIds.Contains(j.Id))) config = config.AddJob(job);
config = config
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumn(new RateColumn())
    .WithOption(ConfigOptions.JoinSummary, true)
    .HideColumns(Column.Error, Column.StdDev, Column.Gen0, Column.Gen1, Column.Gen2, "EnvironmentVariables");
BenchmarkSwitcher.FromAssembly(typeof(GeneratedConv).Assembly).Run(args, config);
return 0;

/// <summary>GFLOP/s for convolution passes, images/s for the MNIST model (also used by benchmarks/Peers).</summary>
public sealed class RateColumn : IColumn
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
