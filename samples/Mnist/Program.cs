// The TF2 MNIST tutorial's CNN (conv 5x5x32, pool, conv 5x5x64, pool, dense 1024, dense 10; Adam 1e-3, batch 50),
// trained on the real MNIST. By default the whole network is compiled at build time from the attributes on MnistNet
// (below); --sequential builds the same layers at run time instead, for comparison. --model residual trains a small residual
// network (ResidualNet, below: two stages of three convolutions with the first one's output added back; batch 100 by default)
// the same two ways. --model resnet20 trains ResNet20 (ResNet20.cs: BatchNormalization, residual and projection blocks, global
// average pooling) with SGD, momentum 0.9 and a cosine-decayed learning rate; --model lenet5 trains LeNet-5 (LeNet5.cs: tanh,
// average pooling) with Adam; --model mobilenetv2 trains MobileNetV2 (MobileNetV2.cs: inverted residual blocks of 1x1
// expansion, depthwise 3x3 and linear 1x1 projection, ReLU6, BatchNormalization) with Adam along a cosine; --model conv1d
// trains Conv1DNet (Conv1DNet.cs: a 1-D CNN reading each digit as 28 steps of 28 pixels) with Adam along a cosine.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using ConvGen;
using ConvGen.Data;
using ConvGen.Reporting;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var options = Options.Parse(args);
if (options is null) return 2;
Job.Start(options.Threads);

if (options.PredictWeights is string trainedWeights)
{
    // Cold start: build the network from trained weights (no initialization first) and classify one test image, the time
    // counted from the process's start.
    var phase = Stopwatch.StartNew();
    Model saved = options.Model switch
    {
        "residual" => new ResidualNet(trainedWeights, maxBatchSize: 1),
        "resnet20" => new ResNet20(trainedWeights, maxBatchSize: 1),
        "lenet5" => new LeNet5(trainedWeights, maxBatchSize: 1),
        "mobilenetv2" => new MobileNetV2(trainedWeights, maxBatchSize: 1),
        "conv1d" => new Conv1DNet(trainedWeights, maxBatchSize: 1),
        _ => new MnistNet(trainedWeights, maxBatchSize: 1),
    };
    double load = phase.Elapsed.TotalMilliseconds;
    var (image, label) = FirstTestImage(Mnist.EnsureDownloaded(options.DataDirectory));
    double read = phase.Elapsed.TotalMilliseconds;
    var logits = saved.Predict(image).Span;
    double predict = phase.Elapsed.TotalMilliseconds;
    int digit = 0;
    for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[digit]) digit = i;
    double sinceStart = (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalMilliseconds;
    Console.WriteLine($"prediction: {digit} (label {label}), {sinceStart:F0} ms after the process started " +
                      $"(model from its weights {load:F0} ms, image {read - load:F0} ms, prediction {predict - read:F1} ms)");
    return 0;
}

Console.WriteLine($"ConvGen MNIST: {(options.Epochs is int e ? $"{e} epochs" : $"{options.Steps} steps")}, batch {options.BatchSize}, seed {options.Seed}, " +
                  $"{Job.Describe}, kernels at {ConvGen.Internal.Simd.Lanes} floats a vector");
string directory = Job.EnsureData(options.DataDirectory);
var mnist = Mnist.Load(directory);
Console.WriteLine($"MNIST from {directory}: {mnist.Train.Count} training and {mnist.Test.Count} test images");

// Both ways start from the same weights for a seed; softmax is fused into the loss.
Model model = (options.Model, options.Sequential) switch
{
    ("residual", false) => new ResidualNet(maxBatchSize: options.BatchSize, seed: options.Seed),
    ("resnet20", _) => new ResNet20(maxBatchSize: options.BatchSize, seed: options.Seed),
    ("lenet5", _) => new LeNet5(maxBatchSize: options.BatchSize, seed: options.Seed),
    ("mobilenetv2", _) => new MobileNetV2(maxBatchSize: options.BatchSize, seed: options.Seed),
    ("conv1d", _) => new Conv1DNet(maxBatchSize: options.BatchSize, seed: options.Seed),
    ("residual", true) => new Sequential(
        new ResidualStem { Name = "stem" }, new ResidualConv32(), new ResidualConv32Linear(), new Add("stem") { Activation = Activation.ReLU },
        new MaxPool2D(2),
        new ResidualStage2 { Name = "stage2" }, new ResidualConv64(), new ResidualConv64Linear(), new Add("stage2") { Activation = Activation.ReLU },
        new MaxPool2D(2),
        new Flatten(),
        new Dense(128, Activation.ReLU),
        new Dense(10)).Build(new Shape(28, 28, 1), options.Seed),
    (_, false) => new MnistNet(maxBatchSize: options.BatchSize, seed: options.Seed),
    (_, true) => new Sequential(
        new Conv1(), new MaxPool2D(2),
        new Conv2(), new MaxPool2D(2),
        new Flatten(),
        new Dense(1024, Activation.ReLU),
        new Dense(10)).Build(new Shape(28, 28, 1), options.Seed),
};
// ResNet20 trains as its paper does, with SGD and momentum, the rate falling along a cosine over the whole run;
long totalSteps = options.Epochs is int e2 ? (long)e2 * ((mnist.Train.Count + options.BatchSize - 1) / options.BatchSize) : options.Steps;
// LeNet-5, MobileNetV2 and the 1-D CNN take Adam's rate along the same cosine.
IOptimizer optimizer = options.Model switch
{
    "resnet20" => new SGD(0.05f, momentum: 0.9f) { Schedule = new CosineDecay(0.05f, decaySteps: Math.Max(1, totalSteps)) },
    "lenet5" => new Adam(2e-3f) { Schedule = new CosineDecay(2e-3f, decaySteps: Math.Max(1, totalSteps)) },
    "mobilenetv2" or "conv1d" => new Adam(2e-3f) { Schedule = new CosineDecay(2e-3f, decaySteps: Math.Max(1, totalSteps)) },
    _ => new Adam(1e-3f),
};
model.Compile(optimizer, new SparseCategoricalCrossentropy(fromLogits: true));
Job.Join(model);
string description = options.Model switch { "residual" => "a residual CNN", "resnet20" => "a ResNet-20-shaped CNN", "lenet5" => "LeNet-5", "mobilenetv2" => "a MobileNetV2-style CNN", "conv1d" => "a 1-D CNN over the rows", _ => "the TF2 tutorial's CNN" };
Console.WriteLine($"model: {model.GetType().Name} ({description}, {(options.Sequential && options.Model is "tutorial" or "residual" ? "layers built at run time" : "compiled at build time")}), {optimizer}");
Console.WriteLine(model.Summary());

var clock = Stopwatch.StartNew();
long trained;
var history = new List<HistoryPoint>(); // for the report (Report.cs)
var augmentation = options.Augment is int shift ? new Augmentation(maxShift: shift, seed: options.Seed) : null;
if (options.Epochs is int epochs)
{
    history.AddRange(HistoryPoint.FromEpochs(model.Fit(mnist.Train.Images, mnist.Train.Labels, epochs, options.BatchSize,
        new FitOptions { Seed = options.Seed, ValidationData = (mnist.Test.Images, mnist.Test.Labels), Augmentation = augmentation })));
    trained = (long)epochs * mnist.Train.Count;
}
else
{
    var validation = mnist.Test.Take(Math.Min(MnistReport.ValidationImages, mnist.Test.Count));
    trained = TutorialLoop(model, mnist.Train, options.Steps, options.BatchSize, options.Seed, augmentation, (step, loss, accuracy) =>
    {
        clock.Stop(); // validating is not training
        var (validationLoss, validationAccuracy) = model.Evaluate(validation.Images, validation.Labels);
        history.Add(new HistoryPoint(step, loss, accuracy, validationLoss, validationAccuracy));
        clock.Start();
    });
}
double trainSeconds = clock.Elapsed.TotalSeconds;
Console.WriteLine($"training: {trained} images in {trainSeconds:F1} s, {trained / trainSeconds:F0} images/s");

clock.Restart();
var (testLoss, testAccuracy) = model.Evaluate(mnist.Test.Images, mnist.Test.Labels, batchSize: 500);
double inferSeconds = clock.Elapsed.TotalSeconds;
Console.WriteLine($"inference: {mnist.Test.Count} images in {inferSeconds:F2} s, {mnist.Test.Count / inferSeconds:F0} images/s; test loss {testLoss:F4}");

Console.WriteLine($"test accuracy: {testAccuracy:F4}");
if (!Job.Reports)
{
    Job.End();
    return 0;
}
string weights = Path.GetFullPath(options.WeightsPath);
Directory.CreateDirectory(Path.GetDirectoryName(weights)!);
model.SaveWeights(weights);
Console.WriteLine($"weights saved to {weights}");

string report = MnistReport.Write(options.ReportPath ?? Path.Combine(Path.GetDirectoryName(weights)!, "report.html"),
    new RunFacts($"{description}, {model.ParameterCount:N0} parameters",
        $"{(options.Epochs is int n ? $"{n} epochs" : $"{options.Steps} steps")} of batch {options.BatchSize}, seed {options.Seed}, {Job.Describe}",
        $"training {trained / trainSeconds:F0} images/s, inference {mnist.Test.Count / inferSeconds:F0} images/s", testLoss, testAccuracy),
    history, options.Epochs is not null, FirstKernel(model), model.Predict(mnist.Test.Images).Span, mnist.Test);
Console.WriteLine($"report: {report}");
Job.End();
return 0;

// The first test image and its label, read from the raw IDX files (16- and 8-byte headers) without loading the whole set; from
// the whole set when only the gzip-compressed files are there.
// The report draws the first layer's kernel as HWIO; a 1-D kernel [K, C, F] is drawn as K rows of C pixels, [K, C, 1, F].
static Tensor FirstKernel(Model model)
{
    var kernel = model.Parameters[0].Value;
    return kernel.Shape.Rank == 3 ? kernel.Reshape(new Shape(kernel.Shape[0], kernel.Shape[1], 1, kernel.Shape[2])) : kernel;
}

static (Tensor Image, int Label) FirstTestImage(string directory)
{
    string images = Path.Combine(directory, Mnist.TestImagesFile), labels = Path.Combine(directory, Mnist.TestLabelsFile);
    if (!File.Exists(images) || !File.Exists(labels))
    {
        var first = Mnist.LoadSplit(images, labels).Take(1);
        return (first.Images, first.Labels[0]);
    }
    var pixels = new byte[28 * 28];
    using (var file = File.OpenRead(images))
    {
        file.Seek(16, SeekOrigin.Begin);
        file.ReadExactly(pixels);
    }
    var image = new Tensor(new Shape(1, 28, 28, 1));
    for (int i = 0; i < pixels.Length; i++) image.Span[i] = pixels[i] * (1f / 255f); // as Mnist.Load scales
    using var labelFile = File.OpenRead(labels);
    labelFile.Seek(8, SeekOrigin.Begin);
    return (image, labelFile.ReadByte());
}

// The tutorial's loop: each step trains on a batch sampled at random, with replacement, from the training set.
// After every MnistReport.SegmentSteps steps (and the last), onSegment gets the step and the segment's mean loss and accuracy.
static long TutorialLoop(Model model, MnistSplit train, int steps, int batchSize, int seed, Augmentation? augmentation, Action<int, float, float> onSegment)
{
    var random = new Random(seed);
    int pixels = 28 * 28;
    var batch = new Tensor(new Shape(batchSize, 28, 28, 1));
    var labels = new int[batchSize];
    var images = train.Images.Span;
    double lossSum = 0;
    int correct = 0, seen = 0;
    var clock = Stopwatch.StartNew();
    for (int step = 1; step <= steps; step++)
    {
        var x = batch.Span;
        for (int i = 0; i < batchSize; i++)
        {
            int index = random.Next(train.Count);
            images.Slice(index * pixels, pixels).CopyTo(x.Slice(i * pixels, pixels));
            labels[i] = train.Labels[index];
        }
        augmentation?.Apply(batch, step - 1);
        lossSum += model.TrainStep(batch, labels, out int c) * batchSize;
        correct += c;
        seen += batchSize;
        if (step % MnistReport.SegmentSteps == 0 || step == steps)
        {
            Console.WriteLine($"step {step}/{steps}: loss {lossSum / seen:F4}, training accuracy {(double)correct / seen:F4}, {seen / clock.Elapsed.TotalSeconds:F0} images/s");
            onSegment(step, (float)(lossSum / seen), (float)correct / seen);
            (lossSum, correct, seen) = (0, 0, 0);
            clock.Restart();
        }
    }
    return (long)steps * batchSize;
}

/// <summary>The tutorial's CNN as one compiled network: every shape is checked and every kernel specialized at build time.</summary>
[Input(28, 28, 1)]
[Conv2D(5, 5, Filters = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Conv2D(5, 5, Filters = 64, Padding = Padding.Same, Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Flatten]
[Dense(1024, Activation = Activation.ReLU)]
[Dense(10)]
public partial class MnistNet;

/// <summary>
/// A residual CNN: two stages of a 3x3 convolution (its output named, the block's shortcut), two more 3x3 convolutions and
/// the shortcut added back with a ReLU, each stage followed by a 2x2 pool (32 channels at 28x28, 64 at 14x14), then Dense 128
/// and Dense 10: 513,994 parameters.
/// </summary>
[Input(28, 28, 1)]
[Conv2D(3, 3, Filters = 32, Padding = Padding.Same, Activation = Activation.ReLU, Name = "stem")]
[Conv2D(3, 3, Filters = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
[Conv2D(3, 3, Filters = 32, Padding = Padding.Same)]
[Add("stem", Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Conv2D(3, 3, Filters = 64, Padding = Padding.Same, Activation = Activation.ReLU, Name = "stage2")]
[Conv2D(3, 3, Filters = 64, Padding = Padding.Same, Activation = Activation.ReLU)]
[Conv2D(3, 3, Filters = 64, Padding = Padding.Same)]
[Add("stage2", Activation = Activation.ReLU)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation = Activation.ReLU)]
[Dense(10)]
public partial class ResidualNet;

// ResidualNet's convolutions as standalone layers, for --sequential. The second convolution of a block has no activation:
// its ReLU comes after the shortcut is added.
[Conv2D(3, 3, Filters = 32, InputChannels = 1, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class ResidualStem;
[Conv2D(3, 3, Filters = 32, InputChannels = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class ResidualConv32;
[Conv2D(3, 3, Filters = 32, InputChannels = 32, Padding = Padding.Same)]
public partial class ResidualConv32Linear;
[Conv2D(3, 3, Filters = 64, InputChannels = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class ResidualStage2;
[Conv2D(3, 3, Filters = 64, InputChannels = 64, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class ResidualConv64;
[Conv2D(3, 3, Filters = 64, InputChannels = 64, Padding = Padding.Same)]
public partial class ResidualConv64Linear;

/// <summary>Conv2D(32, 5x5, same, ReLU) on 28x28x1, for --sequential.</summary>
[Conv2D(5, 5, Filters = 32, InputChannels = 1, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class Conv1;

/// <summary>Conv2D(64, 5x5, same, ReLU) on 14x14x32, for --sequential.</summary>
[Conv2D(5, 5, Filters = 64, InputChannels = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class Conv2;

/// <summary>Command-line options.</summary>
internal sealed record Options(int Steps, int? Epochs, int BatchSize, string? DataDirectory, int Seed, int? Threads, string WeightsPath, string? ReportPath = null, bool Sequential = false, string Model = "tutorial", string? PredictWeights = null, int? Augment = null)
{
    private const string Usage = """
        usage: dotnet run -c Release --project samples/Mnist [options]
          --steps N        the tutorial's loop: N batches sampled at random with replacement (default 1000)
          --epochs N       N full shuffled epochs instead (validation on the test set after each)
          --batch-size B   batch size (default 50; 100 with --model residual)
          --data DIR       MNIST directory (default $CONVGEN_DATA or ~/.cache/convgen/mnist; fetched if missing)
          --seed S         seed for initialization and sampling (default 0)
          --threads T      threads (default: all cores)
          --save PATH      where to write the trained weights (default mnist.weights)
          --report PATH    where to write the HTML report (default report.html beside the weights)
          --model M        tutorial (the TF2 tutorial's CNN, MnistNet; the default), residual (ResidualNet), resnet20
                           (ResNet20: SGD with momentum and cosine decay, batch 64; compiled only), lenet5 (LeNet5:
                           tanh and average pooling, batch 32; compiled only) or mobilenetv2 (MobileNetV2: inverted
                           residual blocks, Adam with cosine decay, batch 64; compiled only) or conv1d (Conv1DNet:
                           Conv1D over the 28 rows as steps, Adam with cosine decay, batch 64; compiled only)
          --sequential     train the same layers built at run time (a Sequential) instead of the compiled network
          --augment N      move each training image by up to N pixels each way, zero-filled (default: no augmentation)
          --predict PATH   no training: load weights saved by --save and classify the first test image (cold start)
        """;

    public static Options? Parse(string[] args)
    {
        var o = new Options(1000, null, 0, null, 0, null, "mnist.weights");
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (name is "-h" or "--help") { Console.WriteLine(Usage); return null; }
            if (name == "--sequential") { o = o with { Sequential = true }; continue; }
            if (i + 1 >= args.Length) return Fail($"{name} needs a value");
            string value = args[++i];
            int Int() => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : throw new FormatException($"{name} needs a positive integer, got '{value}'");
            try
            {
                o = name switch
                {
                    "--steps" => o with { Steps = Int() },
                    "--epochs" => o with { Epochs = Int() },
                    "--batch-size" => o with { BatchSize = Int() },
                    "--data" => o with { DataDirectory = value },
                    "--seed" => o with { Seed = int.Parse(value, CultureInfo.InvariantCulture) },
                    "--threads" => o with { Threads = Int() },
                    "--save" => o with { WeightsPath = value },
                    "--report" => o with { ReportPath = value },
                    "--predict" => o with { PredictWeights = value },
                    "--augment" => o with { Augment = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int shift) && shift >= 0 ? shift : throw new FormatException($"--augment needs a shift of 0 or more pixels, got '{value}'") },
                    "--model" => value is "tutorial" or "residual" or "resnet20" or "lenet5" or "mobilenetv2" or "conv1d" ? o with { Model = value } : throw new FormatException($"--model takes tutorial, residual, resnet20, lenet5, mobilenetv2 or conv1d, got '{value}'"),
                    _ => throw new FormatException($"unknown option {name}"),
                };
            }
            catch (FormatException e) { return Fail(e.Message); }
        }
        return o.BatchSize > 0 ? o : o with { BatchSize = o.Model switch { "residual" => 100, "resnet20" or "mobilenetv2" or "conv1d" => 64, "lenet5" => 32, _ => 50 } };
    }

    private static Options? Fail(string message)
    {
        Console.Error.WriteLine(message);
        Console.Error.WriteLine(Usage);
        return null;
    }
}
