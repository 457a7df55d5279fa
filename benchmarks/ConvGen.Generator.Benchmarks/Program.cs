using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using ConvGen.Generator.Benchmarks;

// --short runs fewer iterations (2 warmups, 5 iterations), as benchmarks/ConvGen.Benchmarks does.
bool shortRun = args.Contains("--short");
args = args.Where(a => a != "--short").ToArray();
var job = shortRun
    ? Job.Default.WithWarmupCount(2).WithIterationCount(5).WithLaunchCount(1)
    : Job.Default.WithWarmupCount(3).WithIterationCount(15).WithLaunchCount(1);
var config = DefaultConfig.Instance.AddJob(job).AddDiagnoser(MemoryDiagnoser.Default);
BenchmarkSwitcher.FromAssembly(typeof(GeneratorBenchmarks).Assembly).Run(args, config);
