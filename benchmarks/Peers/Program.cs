using System;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using BenchmarkDotNet.Running;

namespace ConvGen.Peers;

/// <summary>
/// The peer harness (docs/performance.md):
/// <list type="bullet">
/// <item><c>table</c>: every network, task, batch and thread count, each system in its own process, repeated; writes a Markdown table.</item>
/// <item><c>check</c>: the three systems compute the same function (same weights, outputs compared).</item>
/// <item><c>passes</c>: BenchmarkDotNet, each convolution pass of ConvGen against the same pass in LibTorch (arguments go to BenchmarkDotNet).</item>
/// <item><c>child</c>: one measurement (used by <c>table</c>).</item>
/// </list>
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        string mode = args.Length > 0 ? args[0] : "table";
        var rest = args.Skip(1).ToArray();
        switch (mode)
        {
            case "table":
                return Table.Run(rest);
            case "check":
                return Check.Run(rest);
            case "passes":
                BenchmarkSwitcher.FromTypes([typeof(ConvPasses)])
                    .Run(rest.Where(a => a != "--short").ToArray(), PassConfig.Create(rest.Contains("--short")));
                return 0;
            case "child":
            {
                var o = Options.Parse(rest);
                var m = Child.Run(o.Get("system"), o.Get("network"), o.Get("task"), o.Int("batch"), o.Int("threads"), o.Double("seconds", 3));
                Console.WriteLine(JsonSerializer.Serialize(m));
                return 0;
            }
            default:
                Console.Error.WriteLine("usage: dotnet run -c Release --project benchmarks/Peers -- table|check|passes [options] (see docs/performance.md)");
                return 2;
        }
    }
}

/// <summary><c>--name value</c> pairs.</summary>
public sealed class Options
{
    private readonly System.Collections.Generic.Dictionary<string, string> _values = new();

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"expected '--name value', found '{args[i]}'");
            o._values[args[i][2..]] = args[++i];
        }
        return o;
    }

    public string Get(string name, string? fallback = null) =>
        _values.TryGetValue(name, out var v) ? v : fallback ?? throw new ArgumentException($"missing --{name}");

    public int Int(string name, int? fallback = null) => int.Parse(Get(name, fallback?.ToString()));

    public double Double(string name, double? fallback = null) => double.Parse(Get(name, fallback?.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    public string[] List(string name, string fallback) => Get(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries);
}
