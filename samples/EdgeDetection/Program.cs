// "Dive into Deep Learning" 6.2 (TensorFlow 2), reproduced with kernels ConvGen generates at build time.
using System;
using System.Globalization;
using System.Linq;
using ConvGen;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
// The learned kernel ends within 0.05 of [1, -1] only from a good enough start: with the model's seed rule (layer i draws
// from Random(seed * 1_000_003 + i)), seeds 1, 4, 6, 7, 9, 11 and 12 of 1-12 do, and seed 1 is the default.
int seed = args.Length == 2 && args[0] == "--seed" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;

// 6.2.1 The cross-correlation operation.
Console.WriteLine("corr2d(X, K) with X = [[0,1,2],[3,4,5],[6,7,8]], K = [[0,1],[2,3]]:");
var corr = new float[4];
Corr2x2.Forward([0, 1, 2, 3, 4, 5, 6, 7, 8], 1, 3, 3, [0, 1, 2, 3], [0f], corr);
Print(corr, 2, 2);

// 6.2.3 Object edge detection in images: ones, with columns 2..5 black, and the kernel [1, -1].
var x = new float[6 * 8];
for (int r = 0; r < 6; r++)
for (int c = 0; c < 8; c++)
    x[r * 8 + c] = c is >= 2 and <= 5 ? 0f : 1f;
Console.WriteLine("\nX (6 x 8):");
Print(x, 6, 8);
var y = new float[6 * 7];
EdgeKernel.Forward(x, 1, 6, 8, [1f, -1f], [], y);
Console.WriteLine("\nY = corr2d(X, [[1, -1]]): 1 marks white-to-black edges, -1 black-to-white:");
Print(y, 6, 7);

// 6.2.4 Learning a kernel: from X and Y alone, by gradient descent on the sum of squared errors.
Console.WriteLine($"\nLearning the kernel from (X, Y): Glorot-uniform start (seed {seed}), 10 steps, learning rate 0.03");
var layer = new EdgeKernel();
new Sequential(layer).Build(new Shape(6, 8, 1), seed); // the layer's Glorot-uniform start, as a model initializes it
float[] k = layer.Kernel.Value.ToArray();
Console.WriteLine($"start kernel [{k[0]:F4}, {k[1]:F4}]");
var yHat = new float[42];
var dLoss = new float[42];
for (int step = 1; step <= 10; step++)
{
    EdgeKernel.Forward(x, 1, 6, 8, k, [], yHat);
    float loss = 0;
    for (int i = 0; i < 42; i++)
    {
        float d = yHat[i] - y[i];
        loss += d * d;
        dLoss[i] = 2 * d;
    }
    var dk = new float[2];
    EdgeKernel.Backward(x, 1, 6, 8, k, dLoss, [], dk, []);
    for (int i = 0; i < 2; i++) k[i] -= 0.03f * dk[i];
    Console.WriteLine($"batch {step}, loss {loss:F3}");
}
float error = Math.Max(Math.Abs(k[0] - 1f), Math.Abs(k[1] + 1f));
Console.WriteLine($"learned kernel [{k[0]:F4}, {k[1]:F4}] (target [1, -1], largest error {error:F4})");
return error <= 0.05f ? 0 : 1;

static void Print(float[] values, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        Console.WriteLine("  [" + string.Join(", ", values.Skip(r * cols).Take(cols).Select(v => v.ToString("0.##", CultureInfo.InvariantCulture).PadLeft(3))) + "]");
}

/// <summary>The book's corr2d example: a 2x2 kernel.</summary>
[Conv2D(2, 2)]
public partial class Corr2x2;

/// <summary>The book's edge detector: a 1x2 kernel, no bias, learnable.</summary>
[Conv2D(1, 2, UseBias = false)]
public partial class EdgeKernel;
