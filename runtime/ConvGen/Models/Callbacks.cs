using System;

namespace ConvGen;

/// <summary>
/// Something <see cref="Model.Fit"/> calls as training goes, as a Keras callback is (<see cref="FitOptions.Callbacks"/>):
/// before the first epoch, after every epoch (with its figures, validation included) and after the last. Setting
/// <see cref="Model.StopTraining"/> ends training after the current epoch.
/// </summary>
public abstract class Callback
{
    /// <summary>Called once before the first epoch.</summary>
    public virtual void OnTrainBegin(Model model) { }

    /// <summary>Called after every epoch, once its validation (if any) is done.</summary>
    public virtual void OnEpochEnd(Model model, EpochResult result) { }

    /// <summary>Called once after the last epoch, or after the epoch that stopped training.</summary>
    public virtual void OnTrainEnd(Model model) { }
}

/// <summary>A figure of an epoch that callbacks watch, by Keras' name.</summary>
public enum Monitored
{
    /// <summary><c>val_loss</c>: the validation loss (lower is better). Needs validation data.</summary>
    ValidationLoss,

    /// <summary><c>val_accuracy</c>: the validation accuracy (higher is better). Needs validation data.</summary>
    ValidationAccuracy,

    /// <summary><c>loss</c>: the training loss (lower is better).</summary>
    Loss,

    /// <summary><c>accuracy</c>: the training accuracy (higher is better).</summary>
    Accuracy,
}

/// <summary>Reading a watched figure and comparing two of them.</summary>
internal static class MonitorFigures
{
    public static float Read(Monitored monitor, EpochResult r)
    {
        float value = monitor switch
        {
            Monitored.ValidationLoss => r.ValidationLoss,
            Monitored.ValidationAccuracy => r.ValidationAccuracy,
            Monitored.Loss => r.Loss,
            _ => r.Accuracy,
        };
        if (float.IsNaN(value) && monitor is Monitored.ValidationLoss or Monitored.ValidationAccuracy)
            throw new InvalidOperationException($"The callback watches {monitor}, but Fit has no validation data: give FitOptions.ValidationData or ValidationSplit, or watch Monitored.Loss.");
        return value;
    }

    /// <summary>Whether <paramref name="current"/> beats <paramref name="best"/> by more than <paramref name="minDelta"/>.</summary>
    public static bool Improves(Monitored monitor, float current, float best, float minDelta) =>
        monitor is Monitored.ValidationLoss or Monitored.Loss ? current < best - minDelta : current > best + minDelta;

    public static float Worst(Monitored monitor) => monitor is Monitored.ValidationLoss or Monitored.Loss ? float.PositiveInfinity : float.NegativeInfinity;
}

/// <summary>
/// Keras' <c>EarlyStopping</c>: stops training after <c>patience</c> epochs in a row in which the watched figure did not improve
/// by more than <c>minDelta</c> (the first such epoch when <c>patience</c> is 0); with <c>restoreBestWeights</c>, the weights and state of the best epoch are put back
/// when it stops.
/// </summary>
public sealed class EarlyStopping : Callback
{
    private float _best;
    private int _wait;
    private float[]? _bestParameters, _bestState;

    /// <summary>Creates the callback with Keras' defaults (watch <c>val_loss</c>, stop at the first epoch without improvement).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="patience"/> is negative or <paramref name="minDelta"/> negative or not finite.</exception>
    public EarlyStopping(Monitored monitor = Monitored.ValidationLoss, float minDelta = 0f, int patience = 0, bool restoreBestWeights = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        if (!(float.IsFinite(minDelta) && minDelta >= 0)) throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "minDelta must be finite and at least 0.");
        (Monitor, MinDelta, Patience, RestoreBestWeights) = (monitor, minDelta, patience, restoreBestWeights);
    }

    /// <summary>The figure watched.</summary>
    public Monitored Monitor { get; }

    /// <summary>The least change that counts as an improvement.</summary>
    public float MinDelta { get; }

    /// <summary>Epochs without improvement after which training stops (0: the first such epoch stops it).</summary>
    public int Patience { get; }

    /// <summary>Whether the best epoch's weights are restored when training stops.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>The epoch after which training stopped, or 0 if it ran to the end.</summary>
    public int StoppedEpoch { get; private set; }

    /// <summary>The best epoch so far (1-based), 0 before the first.</summary>
    public int BestEpoch { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainBegin(Model model)
    {
        (_best, _wait, StoppedEpoch, BestEpoch) = (MonitorFigures.Worst(Monitor), 0, 0, 0);
        _bestParameters = _bestState = null;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(Model model, EpochResult result)
    {
        float current = MonitorFigures.Read(Monitor, result);
        if (MonitorFigures.Improves(Monitor, current, _best, MinDelta) || BestEpoch == 0)
        {
            (_best, _wait, BestEpoch) = (current, 0, result.Epoch);
            if (RestoreBestWeights)
            {
                _bestParameters = model.ParameterValues.ToArray();
                _bestState = model.StateValues.ToArray();
            }
            return;
        }
        if (++_wait < Patience) return; // as Keras: stop at the patience-th epoch without improvement
        StoppedEpoch = result.Epoch;
        model.StopTraining = true;
        if (_bestParameters is not null)
        {
            _bestParameters.CopyTo(model.WrittenParameters);
            _bestState!.CopyTo(model.WrittenState);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"EarlyStopping({Monitor}, minDelta: {MinDelta}, patience: {Patience}, restoreBestWeights: {RestoreBestWeights})";
}

/// <summary>
/// Keras' <c>ModelCheckpoint</c>: writes a checkpoint (<see cref="Model.SaveCheckpoint"/>: weights, state, optimizer) after
/// every epoch, or with <c>saveBestOnly</c> only after an epoch whose watched figure is the best so far. Written atomically,
/// so the file always holds a whole checkpoint. In a data-parallel group only rank 0 writes.
/// </summary>
public sealed class ModelCheckpoint : Callback
{
    private float _best;

    /// <summary>Creates the callback.</summary>
    public ModelCheckpoint(string path, Monitored monitor = Monitored.ValidationLoss, bool saveBestOnly = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        (Path, Monitor, SaveBestOnly) = (path, monitor, saveBestOnly);
    }

    /// <summary>Where the checkpoint goes.</summary>
    public string Path { get; }

    /// <summary>The figure watched with <see cref="SaveBestOnly"/>.</summary>
    public Monitored Monitor { get; }

    /// <summary>Whether only epochs that improve on the best so far are written.</summary>
    public bool SaveBestOnly { get; }

    /// <summary>The epoch last written (1-based), 0 before any.</summary>
    public int SavedEpoch { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainBegin(Model model) => (_best, SavedEpoch) = (MonitorFigures.Worst(Monitor), 0);

    /// <inheritdoc/>
    public override void OnEpochEnd(Model model, EpochResult result)
    {
        if (SaveBestOnly)
        {
            float current = MonitorFigures.Read(Monitor, result);
            if (!MonitorFigures.Improves(Monitor, current, _best, 0f)) return;
            _best = current;
        }
        if (model.DataParallel is not { Rank: > 0 }) model.SaveCheckpoint(Path);
        SavedEpoch = result.Epoch;
    }

    /// <inheritdoc/>
    public override string ToString() => $"ModelCheckpoint({Path}, {Monitor}, saveBestOnly: {SaveBestOnly})";
}
