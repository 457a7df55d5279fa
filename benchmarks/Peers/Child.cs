using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using ConvGen;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace ConvGen.Peers;

/// <summary>
/// What one child process measured: images per second per sample, the process's peak resident memory, and how far the system's
/// inference outputs on the timed batch were from ConvGen's (relative to the largest; 0 for ConvGen itself).
/// </summary>
public sealed record Measurement(string System, string Network, string Task, int Batch, int Threads, double[] ImagesPerSecond, double PeakRssMiB,
    double Difference)
{
    /// <summary>Whether the system computed ConvGen's function on this batch (a peer that does not is left out of the ratio).</summary>
    public bool Agrees => Check.Agrees(Difference);

    public double Median => Stats.Median(ImagesPerSecond);
}

/// <summary>
/// One configuration (system, network, task, batch, threads) in this process: build, warm up, then time <c>samples</c>
/// stretches of steps and print one JSON line. Only the chosen system's libraries are loaded, so the peak RSS is its own. A peer's
/// inference outputs on the batch are taken before timing and compared with ConvGen's after the peak RSS is read (ConvGen's
/// pass would add its own memory), so that a peer computing something else (a kernel defect, as <c>check</c> found in LibTorch)
/// is not timed unnoticed.
/// </summary>
public static class Child
{
    public const int Samples = 5;

    public static Measurement Run(string system, string network, string task, int batch, int threads, double seconds)
    {
        var model = Networks.Create(network, Math.Max(batch, 1));
        var rng = new Random(7);
        int pixels = model.InputShape.Size;
        var images = new float[batch * pixels];
        for (int i = 0; i < images.Length; i++) images[i] = rng.NextSingle();
        var labels = new int[batch];
        for (int i = 0; i < batch; i++) labels[i] = rng.Next(model.OutputShape.Size);

        float[]? outputs = null;
        Action step = (system, task) switch
        {
            ("convgen", _) => ConvGenStep(model, images, labels, batch, threads, task),
            ("torch" or "torch-cl", _) => TorchStep(model, images, labels, batch, threads, task, channelsLast: system == "torch-cl", out outputs),
            ("ort", "infer") => OrtStep(model, images, batch, threads, out outputs),
            _ => throw new ArgumentException($"system '{system}' cannot run task '{task}'"),
        };

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 3 || clock.Elapsed.TotalSeconds < Math.Min(1.0, seconds / 2); i++) step();
        var rates = new double[Samples];
        for (int s = 0; s < Samples; s++)
        {
            long steps = 0;
            clock.Restart();
            do { step(); steps++; } while (clock.Elapsed.TotalSeconds < seconds / Samples);
            rates[s] = steps * batch / clock.Elapsed.TotalSeconds;
        }
        double peakRss = PeakRssMiB();
        double difference = outputs == null ? 0 : Check.Difference(model.Predict(new Tensor(model.InputShape.WithBatch(batch), images), batchSize: batch).ToArray(), outputs);
        return new Measurement(system, network, task, batch, threads, rates, peakRss, difference);
    }

    private static Action ConvGenStep(Model model, float[] images, int[] labels, int batch, int threads, string task)
    {
        Parallelism.Threads = threads;
        var x = new Tensor(model.InputShape.WithBatch(batch), images);
        return task == "train" ? () => model.TrainStep(x, labels, out _) : () => model.Predict(x, batchSize: batch);
    }

    private static Action TorchStep(Model model, float[] images, int[] labels, int batch, int threads, string task, bool channelsLast, out float[] outputs)
    {
        TorchSharpSetup.Ensure();
        torch.set_num_threads(threads);
        torch.set_num_interop_threads(1);
        var net = new TorchNet(Graph.From(model), channelsLast);
        outputs = net.Infer(images, batch);
        var x = net.Input(images, batch);
        if (task == "infer")
        {
            net.eval();
            return () =>
            {
                using var scope = torch.NewDisposeScope();
                using var noGrad = torch.no_grad();
                net.forward(x);
            };
        }
        net.train();
        var y = torch.tensor(labels.Select(l => (long)l).ToArray(), [batch]);
        var optimizer = torch.optim.Adam(net.parameters(), lr: 1e-3);
        return () =>
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = torch.nn.functional.cross_entropy(net.forward(x), y);
            loss.backward();
            optimizer.step();
        };
    }

    private static Action OrtStep(Model model, float[] images, int batch, int threads, out float[] outputs)
    {
        var graph = Graph.From(model);
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
        };
        var session = new InferenceSession(model.ExportOnnx(), options);
        var input = OrtValue.CreateTensorValueFromMemory(graph.ToChannelsFirst(images, batch), graph.BatchShape(batch));
        var output = OrtValue.CreateTensorValueFromMemory(new float[batch * graph.Outputs], [batch, graph.Outputs]);
        string inputName = session.InputMetadata.Keys.Single(), outputName = session.OutputMetadata.Keys.Single();
        var runOptions = new RunOptions();
        session.Run(runOptions, [inputName], [input], [outputName], [output]);
        outputs = output.GetTensorDataAsSpan<float>().ToArray();
        return () => session.Run(runOptions, [inputName], [input], [outputName], [output]);
    }

    /// <summary>VmHWM from /proc/self/status: the peak resident set size, in MiB.</summary>
    public static double PeakRssMiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        return double.NaN;
    }
}

public static class Stats
{
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        int m = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }
}
