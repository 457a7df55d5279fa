// Uses the ConvGen package the way a stranger would: annotate classes, call the generated kernels, train. Each check
// prints "ok" or "FAIL"; the exit code is the number of failures, so 0 means the package works.
using System.Globalization;
using ConvGen;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
int failures = 0;
void Check(bool ok, string what)
{
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}");
    if (!ok) failures++;
}

// 1. The generator ran: the class has its constants, and D2L 6.2's corr2d example gives [[19, 25], [37, 43]].
var corr = new float[4];
Corr2x2.Forward([0, 1, 2, 3, 4, 5, 6, 7, 8], 1, 3, 3, [0, 1, 2, 3], [0f], corr);
Check(Corr2x2.KernelHeight == 2 && Corr2x2.OutputHeight(3) == 2, "the generator emitted Corr2x2's constants and shape functions");
Check(corr.SequenceEqual([19f, 25f, 37f, 43f]), $"corr2d of the 3x3 example: [{string.Join(", ", corr)}]");

// 2. A strided, 'same'-padded, multi-channel kernel against a plain loop written here: forward and all three gradients.
{
    const int batch = 2, height = 9, width = 7;
    var random = new Random(1);
    float[] Uniform(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    int oh = StridedConv.OutputHeight(height), ow = StridedConv.OutputWidth(width);
    float[] x = Uniform(batch * height * width * 3), w = Uniform(3 * 3 * 3 * 5), b = Uniform(5), dy = Uniform(batch * oh * ow * 5);
    var y = new float[dy.Length];
    float[] dx = new float[x.Length], dw = new float[w.Length], db = new float[b.Length];
    StridedConv.Forward(x, batch, height, width, w, b, y);
    StridedConv.Backward(x, batch, height, width, w, dy, dx, dw, db);
    var (ry, rdx, rdw, rdb) = PlainConv(x, batch, height, width, 3, w, 3, 3, 5, b, stride: 2, dy);
    Check(oh == 5 && ow == 4, $"'same' output size with stride 2: {oh}x{ow} (expected 5x4)");
    Check(Close(y, ry) && Close(dx, rdx) && Close(dw, rdw) && Close(db, rdb),
        $"3x3x3->5, stride 2, same: forward and input/weight/bias gradients match a plain loop (largest difference {Difference(y, ry, dx, rdx, dw, rdw, db, rdb):G3})");
}

// 3. Learn D2L's edge detector [1, -1] from (X, Y) with the layer in a one-layer model, plain SGD and a sum-of-squares loss.
{
    var image = new Tensor(new Shape(1, 6, 8, 1));
    for (int r = 0; r < 6; r++)
    for (int c = 0; c < 8; c++)
        image.Span[r * 8 + c] = c is >= 2 and <= 5 ? 0f : 1f;
    var target = new float[6 * 7];
    EdgeKernel.Forward(image.Span, 1, 6, 8, [1f, -1f], [], target);
    var layer = new EdgeKernel();
    var model = new Sequential(layer).Build(new Shape(6, 8, 1), seed: 3);
    var sgd = new SGD(learningRate: 0.03f);
    var gradient = new Tensor(new Shape(1, 6, 7, 1));
    for (int step = 0; step < 40; step++)
    {
        var prediction = model.Forward(image, training: true).Span;
        for (int i = 0; i < target.Length; i++) gradient.Span[i] = 2 * (prediction[i] - target[i]);
        model.ZeroGradients();
        model.Backward(gradient);
        sgd.Step(model.Parameters);
    }
    var k = layer.Kernel.Value.Span;
    Check(Math.Abs(k[0] - 1) < 1e-2 && Math.Abs(k[1] + 1) < 1e-2, $"learned the edge kernel: [{k[0]:F4}, {k[1]:F4}] (target [1, -1])");
}

// 4. A tiny Sequential on synthetic 8x8 images: a horizontal bar is class 0, a vertical bar class 1. Train, evaluate on
//    fresh images, and check that saved weights load into a new model with the same predictions.
{
    var (trainImages, trainLabels) = Bars(400, seed: 10);
    var (testImages, testLabels) = Bars(200, seed: 11);
    Sequential NewModel() => new Sequential(new BarConv(), new MaxPool2D(2), new Flatten(), new Dense(2))
        .Build(new Shape(8, 8, 1), seed: 0)
        .Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits: true));
    var model = NewModel();
    var history = model.Fit(trainImages, trainLabels, epochs: 5, batchSize: 20, new FitOptions { Seed = 0, Output = null });
    var (loss, accuracy) = model.Evaluate(testImages, testLabels);
    Check(history[^1].Loss < history[0].Loss, $"training loss fell: {history[0].Loss:F4} -> {history[^1].Loss:F4}");
    Check(accuracy >= 0.95f, $"tiny CNN on unseen bar images: accuracy {accuracy:F4}, loss {loss:F4} (need >= 0.95)");

    string path = Path.Combine(Path.GetTempPath(), $"consumer-{Guid.NewGuid():N}.weights");
    model.SaveWeights(path);
    var restored = NewModel();
    restored.LoadWeights(path);
    File.Delete(path);
    Check(model.Predict(testImages).Span.SequenceEqual(restored.Predict(testImages).Span), "saved weights reload into a new model with identical predictions");
}

// 5. The same model as one compiled network declared with stacked attributes: it loads the Sequential's weights file
//    and must predict the same, then trains with Fit on its own.
{
    var (trainImages, trainLabels) = Bars(400, seed: 10);
    var (testImages, testLabels) = Bars(200, seed: 11);
    var sequential = new Sequential(new BarConv(), new MaxPool2D(2), new Flatten(), new Dense(2)).Build(new Shape(8, 8, 1), seed: 0);
    var net = new BarNet(maxBatchSize: 20, seed: 0).Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits: true));
    Check(BarNet.TotalParameters == sequential.ParameterCount && net.Summary() == sequential.Summary(), "the compiled network's parameter count and summary equal the Sequential's");
    string path = Path.Combine(Path.GetTempPath(), $"consumer-{Guid.NewGuid():N}.weights");
    sequential.SaveWeights(path);
    net.LoadWeights(path);
    File.Delete(path);
    Check(Difference(sequential.Predict(testImages).Span.ToArray(), net.Predict(testImages).Span.ToArray()) <= 1e-5f, "the compiled network predicts like the Sequential with its weights");
    net.Fit(trainImages, trainLabels, epochs: 5, batchSize: 20, new FitOptions { Seed = 0, Output = null });
    var (loss, accuracy) = net.Evaluate(testImages, testLabels);
    Check(accuracy >= 0.95f, $"compiled network on unseen bar images: accuracy {accuracy:F4}, loss {loss:F4} (need >= 0.95)");
}

// 6. A residual graph compiled from attributes equals the same graph built at run time, and a layer of our own (written
//    against the public Layer contract only) trains inside a model.
{
    var (images, labels) = Bars(100, seed: 12);
    var graph = new Sequential(new BarConv { Name = "stem" }, new BarBlockConv(), new Add("stem"), new MaxPool2D(2), new Flatten(), new Dense(2))
        .Build(new Shape(8, 8, 1), seed: 0);
    var compiled = new BarResidualNet(maxBatchSize: 100, seed: 0);
    Check(Difference(graph.Predict(images).Span.ToArray(), compiled.Predict(images).Span.ToArray()) <= 1e-5f && graph.Summary() == compiled.Summary(),
        "a residual network declared by attributes predicts like the same graph built at run time");

    // Its gradients (the factor's, and the input gradient it hands the convolution) against central differences of
    // L = sum(output * dy), and then training.
    var probe = new Sequential(new BarConv(), new Scale(), new Flatten(), new Dense(2)).Build(new Shape(8, 8, 1), seed: 0);
    var x = images.SliceBatch(0, 4);
    var dy = new Tensor(new Shape(4, 2));
    var random = new Random(5);
    for (int i = 0; i < dy.Length; i++) dy.Span[i] = (float)(random.NextDouble() * 2 - 1);
    double Objective()
    {
        var y = probe.Forward(x).Span;
        double sum = 0;
        for (int i = 0; i < y.Length; i++) sum += (double)y[i] * dy.Span[i];
        return sum;
    }
    probe.Forward(x);
    probe.ZeroGradients();
    probe.Backward(dy);
    bool gradientsMatch = true;
    var report = new List<string>();
    foreach (var (parameter, index, epsilon) in new[] { (probe.Layers[1].Parameters[0], 0, 1e-2f), (probe.Layers[0].Parameters[0], 7, 1e-3f), (probe.Layers[0].Parameters[1], 2, 1e-3f) })
    {
        float analytic = parameter.Gradient.Span[index], saved = parameter.Value.Span[index];
        parameter.Value.Span[index] = saved + epsilon;
        double plus = Objective();
        parameter.Value.Span[index] = saved - epsilon;
        double minus = Objective();
        parameter.Value.Span[index] = saved;
        double numeric = (plus - minus) / (2 * epsilon);
        gradientsMatch &= Math.Abs(numeric - analytic) <= 1e-2 * Math.Max(1, Math.Abs(numeric));
        report.Add($"{parameter.Name}[{index}] {analytic:G4} vs {numeric:G4}");
    }
    Check(gradientsMatch, $"a custom layer's gradients match central differences: {string.Join("; ", report)}");

    var (trainImages, trainLabels) = Bars(400, seed: 10);
    var (testImages, testLabels) = Bars(200, seed: 11);
    var scaled = new Sequential(new BarConv(), new Scale(), new MaxPool2D(2), new Flatten(), new Dense(2)).Build(new Shape(8, 8, 1), seed: 0)
        .Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits: true));
    var scale = scaled.Layers[1].Parameters[0].Value;
    float before = scale.Span[0];
    scaled.Fit(trainImages, trainLabels, epochs: 5, batchSize: 20, new FitOptions { Seed = 0, Output = null });
    var (_, scaledAccuracy) = scaled.Evaluate(testImages, testLabels);
    string names = string.Join(", ", scaled.NamedParameters().Select(p => p.Name));
    Check(names.Contains("scale/factor") && scale.Span[0] != before && scaledAccuracy >= 0.95f,
        $"a model with the custom layer trains: factor {before} -> {scale.Span[0]:F4}, accuracy on unseen images {scaledAccuracy:F4} (need >= 0.95), parameters {names}");
}

Console.WriteLine(failures == 0 ? "consumer: all checks passed" : $"consumer: {failures} check(s) failed");
return failures;

// Cross-correlation with TF 'same' padding, written as plainly as possible: output and the three gradients of
// sum(output * dy), in double precision.
static (float[] Y, float[] Dx, float[] Dw, float[] Db) PlainConv(float[] x, int n, int h, int w, int c, float[] k, int kh, int kw, int f,
    float[] b, int stride, float[] dy)
{
    int oh = (h + stride - 1) / stride, ow = (w + stride - 1) / stride;
    int padTop = Math.Max((oh - 1) * stride + kh - h, 0) / 2, padLeft = Math.Max((ow - 1) * stride + kw - w, 0) / 2;
    var y = new double[n * oh * ow * f];
    double[] dx = new double[x.Length], dk = new double[k.Length], db = new double[f];
    for (int i = 0; i < n; i++)
    for (int r = 0; r < oh; r++)
    for (int s = 0; s < ow; s++)
    for (int o = 0; o < f; o++)
    {
        int yi = ((i * oh + r) * ow + s) * f + o;
        y[yi] = b[o];
        db[o] += dy[yi];
        for (int u = 0; u < kh; u++)
        for (int v = 0; v < kw; v++)
        {
            int row = r * stride - padTop + u, col = s * stride - padLeft + v;
            if (row < 0 || row >= h || col < 0 || col >= w) continue;
            for (int j = 0; j < c; j++)
            {
                int xi = ((i * h + row) * w + col) * c + j, ki = ((u * kw + v) * c + j) * f + o;
                y[yi] += (double)x[xi] * k[ki];
                dx[xi] += (double)k[ki] * dy[yi];
                dk[ki] += (double)x[xi] * dy[yi];
            }
        }
    }
    static float[] F(double[] a) => Array.ConvertAll(a, v => (float)v);
    return (F(y), F(dx), F(dk), F(db));
}

static bool Close(float[] a, float[] b) => a.Length == b.Length && Difference(a, b) <= 1e-4f;

static float Difference(params float[][] pairs)
{
    float largest = 0;
    for (int p = 0; p < pairs.Length; p += 2)
        for (int i = 0; i < pairs[p].Length; i++)
            largest = Math.Max(largest, Math.Abs(pairs[p][i] - pairs[p + 1][i]));
    return largest;
}

// count 8x8 images, each a bar of ones across a random row (label 0) or down a random column (label 1), plus noise.
static (Tensor Images, int[] Labels) Bars(int count, int seed)
{
    var random = new Random(seed);
    var images = new Tensor(new Shape(count, 8, 8, 1));
    var labels = new int[count];
    var pixels = images.Span;
    for (int i = 0; i < count; i++)
    {
        labels[i] = random.Next(2);
        int line = random.Next(8);
        for (int p = 0; p < 64; p++)
        {
            bool on = labels[i] == 0 ? p / 8 == line : p % 8 == line;
            pixels[i * 64 + p] = (on ? 1f : 0f) + (float)(random.NextDouble() * 0.2);
        }
    }
    return (images, labels);
}

/// <summary>D2L's corr2d example: a 2x2 kernel.</summary>
[Conv2D(2, 2)]
public partial class Corr2x2;

/// <summary>D2L's edge detector: 1x2, no bias.</summary>
[Conv2D(1, 2, UseBias = false)]
public partial class EdgeKernel;

/// <summary>A strided, 'same'-padded, multi-channel convolution, checked against the plain loop.</summary>
[Conv2D(3, 3, Filters = 5, InputChannels = 3, Stride = 2, Padding = Padding.Same)]
public partial class StridedConv;

/// <summary>The bar classifier's convolution.</summary>
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class BarConv;

/// <summary>Section 5's network: BarConv, pool, flatten, dense, compiled from attributes.</summary>
[Input(8, 8, 1)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Flatten]
[Dense(2)]
public partial class BarNet;

/// <summary>The residual block's second convolution: 4 -> 4 channels, linear (the Add follows).</summary>
[Conv2D(3, 3, Filters = 4, InputChannels = 4, Padding = Padding.Same)]
public partial class BarBlockConv;

/// <summary>Section 6's residual network: a stem, a convolution, the stem added back, pool, flatten, dense.</summary>
[Input(8, 8, 1)]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same, Activation = Activation.ReLU, Name = "stem")]
[Conv2D(3, 3, Filters = 4, Padding = Padding.Same)]
[Add("stem")]
[MaxPool2D(2)]
[Flatten]
[Dense(2)]
public partial class BarResidualNet;

/// <summary>A layer of our own: multiplies its input by one learned factor (initially 1).</summary>
public sealed class Scale : Layer
{
    protected override string BaseName => "scale";

    protected override Shape Build(LayerBuild build)
    {
        build.AddParameter("factor", new Shape(1), new Ones());
        return build.InputShape;
    }

    protected override void RunForward(in NodeContext c)
    {
        var (start, end) = c.Rows; // this thread's share of the batch
        int row = c.OutputShape.Size;
        float factor = c.Parameter(0)[0];
        var x = c.Input().Slice(start * row, (end - start) * row);
        var y = c.Output.Slice(start * row, (end - start) * row);
        for (int i = 0; i < x.Length; i++) y[i] = factor * x[i];
    }

    protected override void RunBackward(in NodeContext c)
    {
        if (c.Part != 0) return; // one thread: the factor's gradient is one sum over the batch
        int values = c.Batch * c.OutputShape.Size;
        float factor = c.Parameter(0)[0];
        var x = c.Input()[..values];
        var dy = c.OutputGradient[..values];
        float sum = 0;
        for (int i = 0; i < values; i++) sum += x[i] * dy[i];
        c.Gradient(0)[0] += sum;
        if (!c.ComputesInputGradient()) return;
        var dx = c.InputGradient()[..values];
        for (int i = 0; i < values; i++) dx[i] = c.AccumulatesInputGradient() ? dx[i] + factor * dy[i] : factor * dy[i];
    }
}
