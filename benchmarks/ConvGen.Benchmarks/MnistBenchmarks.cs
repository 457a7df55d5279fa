using System;
using BenchmarkDotNet.Attributes;
using ConvGen;

namespace ConvGen.Benchmarks;

/// <summary>MNIST conv1 as the tutorial's model uses it: 5x5, 32 filters, same, ReLU.</summary>
[Conv2D(5, 5, Filters = 32, InputChannels = 1, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class MnistConv1;

/// <summary>MNIST conv2: 5x5, 32 -> 64, same, ReLU.</summary>
[Conv2D(5, 5, Filters = 64, InputChannels = 32, Padding = Padding.Same, Activation = Activation.ReLU)]
public partial class MnistConv2;

/// <summary>
/// The TF2 tutorial's MNIST model through the runtime's Sequential: one training step on a batch of 50 (forward, loss,
/// backward, Adam) and inference (Predict) on batches of 500 and of 50. Times are per image (OperationsPerInvoke), so
/// images/s = 1 / time.
/// </summary>
public class MnistModel
{
    private const int TrainBatch = 50, InferBatch = 500;
    private Sequential _model = null!;
    private Tensor _x = null!, _xInfer = null!;
    private int[] _labels = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.Threads = Threads;
        _model = new Sequential(new MnistConv1(), new MaxPool2D(2), new MnistConv2(), new MaxPool2D(2),
            new Flatten(), new Dense(1024, Activation.ReLU), new Dense(10));
        _model.Build(new Shape(28, 28, 1), seed: 1).Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        var rng = new Random(1);
        _x = new Tensor(new Shape(TrainBatch, 28, 28, 1));
        _xInfer = new Tensor(new Shape(InferBatch, 28, 28, 1));
        for (int i = 0; i < _x.Length; i++) _x.Span[i] = rng.NextSingle();
        for (int i = 0; i < _xInfer.Length; i++) _xInfer.Span[i] = rng.NextSingle();
        _labels = new int[TrainBatch];
        for (int i = 0; i < TrainBatch; i++) _labels[i] = rng.Next(10);
    }

    [Benchmark(OperationsPerInvoke = TrainBatch)]
    public float TrainStep() => _model.TrainStep(_x, _labels);

    [Benchmark(OperationsPerInvoke = InferBatch)]
    public Tensor Inference() => _model.Predict(_xInfer, batchSize: InferBatch);

    [Benchmark(OperationsPerInvoke = TrainBatch)]
    public Tensor InferenceBatch50() => _model.Predict(_x, batchSize: TrainBatch);
}

/// <summary>The same model as <see cref="MnistModel"/>, compiled from stacked attributes.</summary>
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
/// <see cref="MnistModel"/>'s measurements on the compiled <see cref="MnistNet"/>: a training step on a batch of 50 and
/// inference (Predict) on batches of 500 and of 50, per image.
/// </summary>
public class CompiledMnistModel
{
    private const int TrainBatch = 50, InferBatch = 500;
    private MnistNet _net = null!;
    private Tensor _x = null!, _xInfer = null!;
    private int[] _labels = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.Threads = Threads;
        _net = new MnistNet(maxBatchSize: InferBatch, seed: 1);
        _net.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        var rng = new Random(1);
        _x = new Tensor(new Shape(TrainBatch, 28, 28, 1));
        _xInfer = new Tensor(new Shape(InferBatch, 28, 28, 1));
        for (int i = 0; i < _x.Length; i++) _x.Span[i] = rng.NextSingle();
        for (int i = 0; i < _xInfer.Length; i++) _xInfer.Span[i] = rng.NextSingle();
        _labels = new int[TrainBatch];
        for (int i = 0; i < TrainBatch; i++) _labels[i] = rng.Next(10);
    }

    [Benchmark(OperationsPerInvoke = TrainBatch)]
    public float TrainStep() => _net.TrainStep(_x, _labels, out _);

    [Benchmark(OperationsPerInvoke = InferBatch)]
    public Tensor Inference() => _net.Predict(_xInfer, batchSize: InferBatch);

    [Benchmark(OperationsPerInvoke = TrainBatch)]
    public Tensor InferenceBatch50() => _net.Predict(_x, batchSize: TrainBatch);
}
