using System;
using System.Linq;
using ConvGen;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace ConvGen.Peers;

/// <summary>
/// Before timing, make sure the three systems compute the same network: ConvGen's weights go to TorchSharp (both layouts) and
/// to the ONNX model, and the outputs on one batch, and the loss of a first training step, must agree to 1e-4 relative.
/// </summary>
public static class Check
{
    public static int Run(string[] args)
    {
        const int batch = 7;
        const double tolerance = 1e-4;
        bool ok = true;
        TorchSharpSetup.Ensure();
        foreach (var network in Networks.Names)
        {
            var model = Networks.Create(network, batch);
            var rng = new Random(3);
            var images = new float[batch * model.InputShape.Size];
            for (int i = 0; i < images.Length; i++) images[i] = rng.NextSingle();
            var labels = Enumerable.Range(0, batch).Select(_ => rng.Next(model.OutputShape.Size)).ToArray();
            var x = new Tensor(model.InputShape.WithBatch(batch), images);
            var expected = model.Predict(x).ToArray();
            var graph = Graph.From(model);

            foreach (bool channelsLast in new[] { false, true })
            {
                var net = new TorchNet(graph, channelsLast);
                net.eval();
                float[] actual;
                using (torch.no_grad()) actual = net.forward(net.Input(images, batch)).contiguous().data<float>().ToArray();
                ok &= Report($"{network}: TorchSharp{(channelsLast ? " channels-last" : "")} outputs", expected, actual, tolerance);
            }

            using (var session = new InferenceSession(Onnx.Write(graph)))
            {
                int c = graph.InputShape[0], h = graph.InputShape[1], w = graph.InputShape[2];
                using var input = OrtValue.CreateTensorValueFromMemory(Graph.ToNchw(images, batch, h, w, c), [batch, c, h, w]);
                using var outputs = session.Run(new RunOptions(), [session.InputMetadata.Keys.Single()], [input], [session.OutputMetadata.Keys.Single()]);
                ok &= Report($"{network}: ONNX Runtime outputs", expected, outputs[0].GetTensorDataAsSpan<float>().ToArray(), tolerance);
            }

            // The loss of a first training step (before the update), from the same weights.
            var torchNet = new TorchNet(graph, channelsLast: false);
            var y = torch.tensor(labels.Select(l => (long)l).ToArray(), [batch]);
            float torchLoss = torch.nn.functional.cross_entropy(torchNet.forward(torchNet.Input(images, batch)), y).item<float>();
            float ourLoss = model.TrainStep(x, labels);
            ok &= Report($"{network}: first training loss", [ourLoss], [torchLoss], tolerance);
        }
        Console.WriteLine(ok ? "check: the systems agree" : "check: MISMATCH");
        return ok ? 0 : 1;
    }

    private static bool Report(string what, float[] expected, float[] actual, double tolerance)
    {
        if (expected.Length != actual.Length)
        {
            Console.WriteLine($"{what}: {actual.Length} values, expected {expected.Length}");
            return false;
        }
        double scale = Math.Max(expected.Max(v => Math.Abs(v)), 1e-6);
        double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() / scale;
        Console.WriteLine($"{what}: max difference {worst:E2} of the largest output {(worst <= tolerance ? "ok" : "TOO LARGE")}");
        return worst <= tolerance;
    }
}
