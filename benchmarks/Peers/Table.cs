using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace ConvGen.Peers;

/// <summary>
/// Runs every configuration in its own process, the systems in a rotating order, <c>--reps</c> times, and writes a Markdown
/// table of medians (over processes, each the median of its samples) with the range over processes, the ratio of ConvGen to
/// the best peer, and each system's peak RSS for training.
/// </summary>
public static class Table
{
    private sealed record Config(string Network, string Task, int Batch, int Threads);

    public static int Run(string[] args)
    {
        var o = Options.Parse(args);
        int reps = o.Int("reps", 3);
        double seconds = o.Double("seconds", 3);
        string output = o.Get("out", "peers.md");
        var networks = o.List("networks", string.Join(",", Networks.Names));
        var threads = o.List("threads", "1,2").Select(int.Parse).ToArray();
        var tasks = o.List("tasks", "train,infer");
        var trainBatches = o.List("train-batches", "50,128").Select(int.Parse).ToArray();
        var inferBatches = o.List("infer-batches", "1,50,500").Select(int.Parse).ToArray();
        var configs = (from n in networks
                       from task in tasks
                       from b in task == "train" ? trainBatches : inferBatches
                       from t in threads
                       select new Config(n, task, b, t)).ToList();

        var results = new List<Measurement>();
        var jsonPath = Path.ChangeExtension(output, ".json");
        var clock = Stopwatch.StartNew();
        for (int rep = 0; rep < reps; rep++)
        {
            foreach (var c in configs)
            {
                var systems = Systems(c.Task);
                for (int k = 0; k < systems.Length; k++)
                {
                    string system = systems[(k + rep) % systems.Length]; // a different system goes first each repetition
                    var m = Spawn(system, c, seconds);
                    Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] rep {rep + 1}/{reps} {c.Network} {c.Task} batch {c.Batch} threads {c.Threads} {system}: " +
                        (m == null ? "failed" : $"{m.Median:F0} images/s, peak RSS {m.PeakRssMiB:F0} MiB" +
                            (m.Agrees ? "" : $", WRONG OUTPUT (difference {m.Difference:E1} of ConvGen's largest output)")));
                    if (m != null) results.Add(m);
                }
            }
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        }
        File.WriteAllText(output, Markdown(configs, results, reps, seconds));
        Console.WriteLine($"wrote {output} and {jsonPath}");
        return 0;
    }

    private static string[] Systems(string task) => task == "train" ? ["convgen", "torch", "torch-cl"] : ["convgen", "torch", "torch-cl", "ort"];

    private static Measurement? Spawn(string system, Config c, double seconds)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string self = Environment.ProcessPath!;
        start.FileName = self;
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        foreach (var a in new[] { "child", "--system", system, "--network", c.Network, "--task", c.Task, "--batch", c.Batch.ToString(),
                     "--threads", c.Threads.ToString(), "--seconds", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
        if (process.ExitCode != 0 || line == null)
        {
            Console.Error.WriteLine($"{system} {c} exited with {process.ExitCode}:\n{stdout}\n{stderr.Result}");
            return null;
        }
        return JsonSerializer.Deserialize<Measurement>(line);
    }

    private static string Markdown(List<Config> configs, List<Measurement> results, int reps, double seconds)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Images per second: median over {reps} processes per cell (each the median of {Child.Samples} timed stretches of {seconds / Child.Samples:0.##} s after warm-up), range over processes in brackets. " +
                      "`ratio` is ConvGen's median over the best peer's. torch = TorchSharp NCHW, torch-cl = TorchSharp channels-last strides, ort = ONNX Runtime (all optimizations). " +
                      "A peer whose inference outputs on the batch differ from ConvGen's (more than `check`'s tolerance) is marked *wrong* and left out of the ratio.");
        sb.AppendLine();
        sb.AppendLine("| network | task | batch | threads | ConvGen | torch | torch-cl | ort | ratio | peak RSS MiB (ConvGen / torch / torch-cl / ort) |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var c in configs)
        {
            var cells = new List<string>();
            var medians = new Dictionary<string, double>();
            var rss = new List<string>();
            foreach (var system in new[] { "convgen", "torch", "torch-cl", "ort" })
            {
                var ms = results.Where(m => m.System == system && m.Network == c.Network && m.Task == c.Task && m.Batch == c.Batch && m.Threads == c.Threads).ToList();
                if (ms.Count == 0) { cells.Add("–"); rss.Add("–"); continue; }
                var per = ms.Select(m => m.Median).ToArray();
                double median = Stats.Median(per);
                bool agrees = ms.All(m => m.Agrees);
                if (agrees) medians[system] = median;
                cells.Add($"{median:N0} [{per.Min():N0}–{per.Max():N0}]{(agrees ? "" : " *wrong*")}");
                rss.Add($"{Stats.Median(ms.Select(m => m.PeakRssMiB).ToArray()):N0}");
            }
            var peers = medians.Where(kv => kv.Key != "convgen").Select(kv => kv.Value).ToArray();
            string ratio = medians.TryGetValue("convgen", out var ours) && peers.Length > 0 ? $"**{ours / peers.Max():F2}x**" : "–";
            sb.AppendLine($"| {c.Network} | {c.Task} | {c.Batch} | {c.Threads} | {string.Join(" | ", cells)} | {ratio} | {string.Join(" / ", rss)} |");
        }
        return sb.ToString();
    }
}
