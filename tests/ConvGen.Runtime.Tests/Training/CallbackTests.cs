using System;
using System.IO;
using System.Linq;
using Xunit;

namespace ConvGen.Runtime.Tests.Training;

/// <summary>EarlyStopping and ModelCheckpoint in Fit, against the epoch figures Fit reports.</summary>
public sealed class CallbackTests
{
    /// <summary>A model that overfits a few random labels fast, so the validation loss turns up after a few epochs.</summary>
    private static (Model Model, Tensor X, int[] Y, (Tensor, int[]) Validation) Overfitting()
    {
        var random = new Random(2);
        Tensor Data(int n) { var t = new Tensor(new Shape(n, 8)); for (int i = 0; i < n * 8; i++) t.Span[i] = (float)random.NextDouble(); return t; }
        var x = Data(16);
        var y = Enumerable.Range(0, 16).Select(_ => random.Next(3)).ToArray();
        var validation = (Data(16), Enumerable.Range(0, 16).Select(_ => random.Next(3)).ToArray());
        var model = new Sequential(new Dense(64, Activation.ReLU), new Dense(3)).Build(new Shape(8), seed: 1)
            .Compile(new Adam(0.05f), new SparseCategoricalCrossentropy(fromLogits: true));
        return (model, x, y, validation);
    }

    [Fact]
    public void EarlyStopping_stops_after_patience_epochs_without_improvement_and_restores_the_best()
    {
        var (model, x, y, validation) = Overfitting();
        var stop = new EarlyStopping(Monitored.ValidationLoss, patience: 2, restoreBestWeights: true);
        float[]? atBest = null;
        var history = model.Fit(x, y, epochs: 60, batchSize: 8, new FitOptions
        {
            ValidationData = validation, Output = null, Callbacks = [stop],
            OnEpochEnd = r => { if (r.Epoch == stop.BestEpoch) atBest = model.ParameterBuffer.ToArray(); },
        });
        // The run ends exactly `patience` epochs after the best one, which is the lowest validation loss seen.
        Assert.True(stop.StoppedEpoch > 0 && history.Count < 60, $"did not stop: {history.Count} epochs");
        Assert.Equal(stop.BestEpoch + 2, stop.StoppedEpoch); // Keras: the second epoch without improvement stops it
        Assert.Equal(history.Count, stop.StoppedEpoch);
        float best = history.Min(h => h.ValidationLoss);
        Assert.Equal(best, history[stop.BestEpoch - 1].ValidationLoss);
        Assert.All(history.Skip(stop.BestEpoch), h => Assert.True(h.ValidationLoss >= best));
        Assert.Equal(atBest, model.ParameterBuffer.ToArray());
        Assert.Equal(best, model.Evaluate(validation.Item1, validation.Item2).Loss, 5);
    }

    [Fact]
    public void ModelCheckpoint_with_save_best_only_holds_the_best_epoch()
    {
        var (model, x, y, validation) = Overfitting();
        string path = Path.Combine(Path.GetTempPath(), $"convgen-best-{Guid.NewGuid():N}.cgw");
        try
        {
            var checkpoint = new ModelCheckpoint(path, Monitored.ValidationAccuracy, saveBestOnly: true);
            var history = model.Fit(x, y, epochs: 12, batchSize: 8, new FitOptions { ValidationData = validation, Output = null, Callbacks = [checkpoint] });
            float best = history.Max(h => h.ValidationAccuracy);
            Assert.Equal(history.First(h => h.ValidationAccuracy == best).Epoch, checkpoint.SavedEpoch);
            var restored = Overfitting().Model;
            restored.LoadCheckpoint(path);
            Assert.Equal(best, restored.Evaluate(validation.Item1, validation.Item2).Accuracy);
            Assert.Equal(checkpoint.SavedEpoch * 2, restored.Optimizer!.Iterations); // 2 steps an epoch
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_callback_watching_validation_figures_without_validation_data_says_so()
    {
        var (model, x, y, _) = Overfitting();
        var e = Assert.Throws<InvalidOperationException>(() => model.Fit(x, y, 2, 8, new FitOptions { Output = null, Callbacks = [new EarlyStopping()] }));
        Assert.Contains("no validation data", e.Message);
        Assert.Equal("patience", Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(patience: -1)).ParamName);
    }
}
