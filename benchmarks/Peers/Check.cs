using System;
using System.Linq;
using ConvGen;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace ConvGen.Peers;

/// <summary>
/// Before timing, make sure the three systems compute the same network: ConvGen's weights (and BatchNormalization's moving
/// statistics) go to TorchSharp (both layouts) and to the ONNX model, and these must agree to 1e-4 of the largest output:
/// <list type="bullet">
/// <item>the loss of a first training step (before the update; training mode, so BatchNormalization uses the batch's
/// statistics in every system), from the fresh weights;</item>
/// <item>after <see cref="Steps"/> training steps of ConvGen (new weights, and moving statistics that are no longer 0 and 1),
/// the inference outputs on one image and on a batch.</item>
/// </list>
/// Where TorchSharp's float32 result disagrees, the same module runs again in float64: if that agrees, the translation is right
/// and LibTorch's float32 kernel is wrong (reported as a LibTorch defect, not a failure: <c>table</c> children then find the same
/// disagreement on their own batch and leave the configuration out of the ratio). <c>check --networks a,b</c> checks some
/// networks only.
/// </summary>
public static class Check
{
    private const int Batch = 16, Steps = 10;
    private const double Tolerance = 1e-4;

    public static int Run(string[] args)
    {
        var networks = Options.Parse(args).List("networks", string.Join(",", Networks.Names));
        bool ok = true;
        TorchSharpSetup.Ensure();
        foreach (var network in networks)
        {
            var model = Networks.Create(network, Batch);
            var rng = new Random(3);
            var images = new float[Batch * model.InputShape.Size];
            for (int i = 0; i < images.Length; i++) images[i] = rng.NextSingle();
            var labels = Enumerable.Range(0, Batch).Select(_ => rng.Next(model.OutputShape.Size)).ToArray();
            var x = new Tensor(model.InputShape.WithBatch(Batch), images);

            // The loss of a first training step (before the update), from the same weights, in training mode.
            var graph = Graph.From(model);
            var y = torch.tensor(labels.Select(l => (long)l).ToArray(), [Batch]);
            float ourLoss = model.TrainStep(x, labels);
            foreach (bool channelsLast in new[] { false, true })
            {
                ok &= ReportTorch($"{network}: first training loss, TorchSharp{Layout(channelsLast)} (ConvGen {ourLoss:F5})", [ourLoss], dtype =>
                {
                    var net = new TorchNet(graph, channelsLast, dtype);
                    net.train();
                    return [(float)torch.nn.functional.cross_entropy(net.forward(net.Input(images, Batch)), y).to(torch.float64).item<double>()];
                });
            }

            // Inference after more steps, with the weights and moving statistics they left.
            for (int step = 1; step < Steps; step++) model.TrainStep(x, labels);
            graph = Graph.From(model);
            using var session = new InferenceSession(model.ExportOnnx());
            foreach (int batch in new[] { 1, Batch })
            {
                var batchImages = images[..(batch * model.InputShape.Size)];
                var expected = model.Predict(new Tensor(model.InputShape.WithBatch(batch), batchImages)).ToArray();
                foreach (bool channelsLast in new[] { false, true })
                    ok &= ReportTorch($"{network}: batch {batch}, TorchSharp{Layout(channelsLast)} outputs", expected,
                        dtype => new TorchNet(graph, channelsLast, dtype).Infer(batchImages, batch));
                using var input = OrtValue.CreateTensorValueFromMemory(graph.ToChannelsFirst(batchImages, batch), graph.BatchShape(batch));
                using var outputs = session.Run(new RunOptions(), [session.InputMetadata.Keys.Single()], [input], [session.OutputMetadata.Keys.Single()]);
                ok &= Report($"{network}: batch {batch}, ONNX Runtime outputs", expected, outputs[0].GetTensorDataAsSpan<float>().ToArray());
            }
        }
        Console.WriteLine(ok ? "check: the systems agree" : "check: MISMATCH");
        return ok ? 0 : 1;
    }

    private static string Layout(bool channelsLast) => channelsLast ? " channels-last" : "";

    /// <summary>The largest difference between two outputs, relative to the largest of <paramref name="expected"/> (NaN if the lengths differ).</summary>
    public static double Difference(float[] expected, float[] actual)
    {
        if (expected.Length != actual.Length) return double.NaN;
        double scale = Math.Max(expected.Max(v => Math.Abs(v)), 1e-6);
        return expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() / scale;
    }

    /// <summary>Whether two outputs agree to <see cref="Tolerance"/> (false for NaN too).</summary>
    public static bool Agrees(double difference) => difference <= Tolerance;

    private static bool Report(string what, float[] expected, float[] actual)
    {
        double worst = Difference(expected, actual);
        Console.WriteLine($"{what}: max difference {worst:E2} of the largest output {(Agrees(worst) ? "ok" : "TOO LARGE")}");
        return Agrees(worst);
    }

    /// <summary>TorchSharp's float32 result; where it disagrees, the same module in float64 says whose error it is.</summary>
    private static bool ReportTorch(string what, float[] expected, Func<torch.ScalarType, float[]> run)
    {
        double worst = Difference(expected, run(torch.ScalarType.Float32));
        if (Agrees(worst))
        {
            Console.WriteLine($"{what}: max difference {worst:E2} of the largest output ok");
            return true;
        }
        double inDouble = Difference(expected, run(torch.ScalarType.Float64));
        Console.WriteLine(Agrees(inDouble)
            ? $"{what}: max difference {worst:E2} of the largest output: a LibTorch float32 defect (the same module in float64 agrees to {inDouble:E2}); left out of the table's ratio"
            : $"{what}: max difference {worst:E2} of the largest output TOO LARGE (in float64 too: {inDouble:E2})");
        return Agrees(inDouble);
    }
}
