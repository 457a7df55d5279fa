using System;
using System.Threading;

namespace ConvGen;

/// <summary>
/// The thread-safety contract of a model, enforced. Layers reuse their buffers between calls, so two calls running the
/// layers at once would corrupt each other. Calls that only read the weights (<c>Predict</c>, <c>Evaluate</c>,
/// <c>SaveWeights</c>) are <em>shared</em>: they take turns on one lock, so any number of threads may call them at once.
/// Calls that change the model (<c>TrainStep</c>, <c>Fit</c>, <c>Build</c>, <c>Compile</c>, <c>LoadWeights</c>, the raw
/// <c>Forward</c>/<c>Backward</c>) are <em>exclusive</em>: they never wait; they throw <see cref="InvalidOperationException"/>
/// when another thread is inside any call, and a shared call waiting for its turn throws as soon as an exclusive one runs.
/// A thread may nest calls (<c>Fit</c> calls <c>TrainStep</c> and <c>Evaluate</c>).
/// </summary>
/// <remarks>
/// Entering costs one uncontended <see cref="Monitor"/> acquisition and allocates nothing. Every exclusive entry calls
/// <paramref name="exclusiveEntered"/> (the model: its weights may change, so what it derives from them, the folds, must be made again).
/// </remarks>
internal sealed class ModelGate(string modelName, Action exclusiveEntered)
{
    /// <summary>How long a waiting shared call sleeps between checks for an exclusive holder; a release wakes it at once.</summary>
    private const int PollMilliseconds = 10;

    private readonly object _lock = new();
    private string? _running;   // the outermost call holding the lock, for messages
    private bool _exclusive;    // whether that call is exclusive

    /// <summary>Waits for other shared calls; throws if an exclusive call holds the model on another thread.</summary>
    /// <exception cref="InvalidOperationException">An exclusive call (training, loading, building) is running on another thread.</exception>
    public Scope EnterShared(string operation)
    {
        while (!Monitor.TryEnter(_lock, PollMilliseconds))
        {
            if (Volatile.Read(ref _exclusive)) throw Busy(operation);
        }
        return Enter(operation, exclusive: false);
    }

    /// <summary>Takes the model without waiting.</summary>
    /// <exception cref="InvalidOperationException">Another thread is inside any call on the model.</exception>
    public Scope EnterExclusive(string operation)
    {
        if (!Monitor.TryEnter(_lock)) throw Busy(operation);
        exclusiveEntered();
        return Enter(operation, exclusive: true);
    }

    private Scope Enter(string operation, bool exclusive)
    {
        bool outermost = _running is null;
        if (outermost)
        {
            _running = operation;
            Volatile.Write(ref _exclusive, exclusive);
        }
        return new Scope(this, outermost);
    }

    private void Exit(bool outermost)
    {
        if (outermost)
        {
            Volatile.Write(ref _exclusive, false);
            _running = null;
        }
        Monitor.Exit(_lock);
    }

    private InvalidOperationException Busy(string operation) =>
        new($"{modelName}.{operation} was called while {Volatile.Read(ref _running) ?? "another call"} is running on another thread. " +
            "Training, building, compiling, loading weights and the raw Forward/Backward need the model to themselves; only Predict, " +
            "Evaluate and SaveWeights may be called from several threads at once (they take turns).");

    /// <summary>Leaves the gate when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly ModelGate _gate;
        private readonly bool _outermost;

        internal Scope(ModelGate gate, bool outermost) => (_gate, _outermost) = (gate, outermost);

        /// <summary>Releases the model.</summary>
        public void Dispose() => _gate.Exit(_outermost);
    }
}
