using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using ConvGen.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ConvGen.Tests;

/// <summary>
/// [Conv1D] classes as the generator writes them, over random configurations (kernels 1 to 7, strides 1 to 4, dilations 1 to 3,
/// Valid, Same and Causal, channels 1 to 40), each compiled in memory and run as a layer of a Sequential on random step counts and
/// batches at 16, 8 and 4 floats a vector and 1 and 2 threads: outputs and every gradient against <see cref="ReferenceConv"/> (plain
/// loops in double) of the one-row convolution, on the sequence left-padded with (k - 1) * d zero steps for Causal.
/// </summary>
[Collection(ProcessWideSettings.Name)]
[Trait(WidthsForcedInProcess.Name, WidthsForcedInProcess.Value)]
public class Conv1DConfigurationTests(ITestOutputHelper output)
{
    private sealed record Config(int K, int C, int F, int Stride, int Dilation, Padding Padding, bool UseBias)
    {
        public ConvConfig Window => new(1, K, C, F, 1, Stride, 1, Dilation, Padding == Padding.Same, UseBias);

        public int Pad => Padding == Padding.Causal ? (K - 1) * Dilation : 0;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Generated_Conv1D_classes_match_the_reference(int batchIndex)
    {
        var rng = new Random(1205 + batchIndex);
        int[] channels = [1, 3, 8, 17, 33];
        int Channels() => rng.Next(3) == 0 ? rng.Next(1, 41) : channels[rng.Next(channels.Length)];
        var configs = Enumerable.Range(0, 30).Select(_ => new Config(rng.Next(1, 8), Channels(), Channels(), rng.Next(1, 5), rng.Next(1, 4),
            (Padding)rng.Next(3), rng.Next(4) != 0)).ToList();
        var source = new StringBuilder("using ConvGen;\nnamespace Conv1DConfigs;\n");
        for (int i = 0; i < configs.Count; i++)
        {
            var k = configs[i];
            source.Append($"[Conv1D({k.K}, Filters = {k.F}, InputChannels = {k.C}, Stride = {k.Stride}, Dilation = {k.Dilation}, Padding = Padding.{k.Padding}, UseBias = {(k.UseBias ? "true" : "false")})]\n")
                  .Append($"public partial class Config{i};\n");
        }
        var assembly = InMemoryGenerator.CompileAndLoad(source.ToString(), $"Conv1DConfigs{batchIndex}");

        int cases = 0;
        for (int i = 0; i < configs.Count; i++)
        {
            var k = configs[i];
            var type = assembly.GetType($"Conv1DConfigs.Config{i}")!;
            int extent = (k.K - 1) * k.Dilation + 1;
            int steps = k.Padding == Padding.Valid ? extent + rng.Next(0, 12) : rng.Next(1, extent + 12);
            int n = rng.Next(1, 4);
            var window = k.Window;
            int outSteps = window.Geometry(1, steps + k.Pad).OutW;
            var x = RandomConfigurationTests.RandomArray(rng, n * steps * k.C);
            var g = RandomConfigurationTests.RandomArray(rng, n * outSteps * k.F);

            foreach (var (lanes, threads) in new[] { (16, 1), (8, 2), (4, 1) })
            {
                using var width = new LanesScope(lanes);
                using var scope = new ThreadScope(threads);
                string where = $"config {i} [Conv1D({k.K}, F {k.F}, C {k.C}, stride {k.Stride}, dilation {k.Dilation}, {k.Padding}{(k.UseBias ? "" : ", no bias")})] on n={n} steps={steps}, {lanes} floats, {threads} threads";
                var layer = (Layer)Activator.CreateInstance(type)!;
                var model = new Sequential(layer).Build(new Shape(steps, k.C), seed: i);
                Assert.Equal(new Shape(outSteps, k.F), model.OutputShape);
                var weights = model.Parameters[0].Value.ToArray();
                var bias = k.UseBias ? model.Parameters[1].Value.ToArray() : [];
                // The bias starts at zero; give it values so that it is checked.
                if (k.UseBias)
                {
                    bias = RandomConfigurationTests.RandomArray(new Random(i), k.F);
                    bias.CopyTo(model.Parameters[1].Value.Span);
                }

                var padded = new float[n * (steps + k.Pad) * k.C];
                for (int s = 0; s < n; s++) Array.Copy(x, s * steps * k.C, padded, (s * (steps + k.Pad) + k.Pad) * k.C, steps * k.C);
                var expected = ReferenceConv.Forward(window, padded, n, 1, steps + k.Pad, weights, bias);
                var y = model.Forward(new Tensor(new Shape(n, steps, k.C), x), training: true).ToArray();
                RandomConfigurationTests.AssertClose(expected, y, k.K * k.C, "forward " + where);

                var (rdx, rdk, rdb) = ReferenceConv.Backward(window, padded, n, 1, steps + k.Pad, weights, g);
                var dxPadded = rdx;
                var expectedDx = new float[x.Length];
                for (int s = 0; s < n; s++) Array.Copy(dxPadded, (s * (steps + k.Pad) + k.Pad) * k.C, expectedDx, s * steps * k.C, steps * k.C);
                var dx = new Tensor(new Shape(n, steps, k.C));
                model.ZeroGradients();
                model.Backward(new Tensor(new Shape(n, outSteps, k.F), g), dx);
                RandomConfigurationTests.AssertClose(expectedDx, dx.ToArray(), k.K * k.F, "input gradient " + where);
                RandomConfigurationTests.AssertClose(rdk, model.Parameters[0].Gradient.ToArray(), n * outSteps, "kernel gradient " + where);
                if (k.UseBias) RandomConfigurationTests.AssertClose(rdb, model.Parameters[1].Gradient.ToArray(), n * outSteps, "bias gradient " + where);
                cases++;
            }
        }
        output.WriteLine($"{configs.Count} configurations ({configs.Count(c => c.Padding == Padding.Causal)} causal), {cases} cases");
        Assert.Contains(configs, c => c.Padding == Padding.Causal);
    }
}
