using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace ConvGen;

/// <summary>Work a <see cref="WorkerPool"/> runs: one phase, split into <c>parts</c> pieces that run at the same time.</summary>
internal interface IPhaseRunner
{
    void RunPhase(int phase, int part, int parts);
}

/// <summary>
/// Persistent worker threads on which every model runs its layers. Unlike <c>Parallel.For</c>, a dispatch allocates nothing (no delegates,
/// closures or tasks), so a training step can run on several threads with zero managed allocation. The calling thread runs
/// part 0; worker <c>i</c> runs part <c>i + 1</c>. One dispatch at a time: concurrent callers queue on a lock.
/// </summary>
internal sealed class WorkerPool
{
    private static readonly object s_sharedLock = new();
    private static WorkerPool? s_shared;

    private readonly object _runLock = new();
    private readonly Worker[] _workers;
    // The caller waits for the workers on this gate; each worker waits for its part on its own.
    private readonly Gate _done = new();
    private IPhaseRunner? _runner;
    private int _phase, _parts, _pending;
    private Exception? _error;
    private volatile bool _stopped;

    private WorkerPool(int threads)
    {
        Threads = threads;
        _workers = new Worker[threads - 1];
        for (int i = 0; i < _workers.Length; i++) _workers[i] = new Worker(this, i + 1);
    }

    /// <summary>Threads this pool runs on, the caller's included.</summary>
    public int Threads { get; }

    /// <summary>Managed bytes the worker threads (not the caller) have allocated, as of their last finished part.</summary>
    public long WorkerAllocatedBytes
    {
        get
        {
            long sum = 0;
            foreach (var worker in _workers) sum += Volatile.Read(ref worker.AllocatedBytes);
            return sum;
        }
    }

    /// <summary>The pool for <see cref="Parallelism.Threads"/>; a new one replaces the old when the setting changes.</summary>
    public static WorkerPool Shared
    {
        get
        {
            int threads = Parallelism.Threads;
            var pool = Volatile.Read(ref s_shared);
            if (pool is not null && pool.Threads == threads) return pool;
            lock (s_sharedLock)
            {
                if (s_shared is null || s_shared.Threads != threads)
                {
                    s_shared?.Stop();
                    s_shared = new WorkerPool(threads);
                }
                return s_shared;
            }
        }
    }

    /// <summary>Runs <paramref name="phase"/> of <paramref name="runner"/> as <paramref name="parts"/> parts and waits for all of them.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="parts"/> is not in [1, <see cref="Threads"/>].</exception>
    public void Run(IPhaseRunner runner, int phase, int parts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(parts, Threads);
        if (parts == 1)
        {
            runner.RunPhase(phase, 0, 1);
            return;
        }
        lock (_runLock)
        {
            if (_stopped)
            {
                // Replaced by a pool of another size while the caller held this one: its workers are gone, so the caller
                // runs every part itself (parts are independent, so one after another gives the same result).
                for (int part = 0; part < parts; part++) runner.RunPhase(phase, part, parts);
                return;
            }
            (_runner, _phase, _parts, _error) = (runner, phase, parts, null);
            Volatile.Write(ref _pending, parts - 1);
            for (int i = 0; i < parts - 1; i++) _workers[i].Start();
            try
            {
                runner.RunPhase(phase, 0, parts);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            _done.WaitFor(ref _pending, 0);
            _runner = null;
            if (_error is { } error) ExceptionDispatchInfo.Capture(error).Throw();
        }
    }

    /// <summary>
    /// Ends the workers once the dispatch in progress, if any, has finished (it holds the run lock); later dispatches to this
    /// pool run on their caller's thread.
    /// </summary>
    private void Stop()
    {
        lock (_runLock)
        {
            _stopped = true;
            foreach (var worker in _workers) worker.Start();
        }
    }

    private sealed class Worker
    {
        private readonly WorkerPool _pool;
        private readonly int _part;

        public Worker(WorkerPool pool, int part)
        {
            (_pool, _part) = (pool, part);
            new Thread(Loop) { IsBackground = true, Name = $"ConvGen worker {part}" }.Start();
        }

        private readonly Gate _gate = new();
        private int _started;

        /// <summary>Lets this worker run its part of the current dispatch (or see that the pool has stopped).</summary>
        public void Start()
        {
            Volatile.Write(ref _started, 1);
            _gate.Pulse();
        }

        /// <summary>GC.GetAllocatedBytesForCurrentThread() of this worker after its last part.</summary>
        public long AllocatedBytes;

        private void Loop()
        {
            while (true)
            {
                _gate.WaitFor(ref _started, 1);
                Volatile.Write(ref _started, 0);
                if (_pool._stopped) return;
                try
                {
                    _pool._runner!.RunPhase(_pool._phase, _part, _pool._parts);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _pool._error, e, null);
                }
                Volatile.Write(ref AllocatedBytes, GC.GetAllocatedBytesForCurrentThread());
                if (Interlocked.Decrement(ref _pool._pending) == 0) _pool._done.Pulse();
            }
        }
    }

    /// <summary>
    /// Where one thread waits for a field to reach a value another thread writes: it spins briefly (as ManualResetEventSlim does,
    /// 2000 spins), then blocks on a lock allocated here. ManualResetEventSlim allocates its lock (24 B) the first time a thread
    /// blocks on it, which can happen mid-training after warm-up, whenever a thread is late for once; this allocates nothing.
    /// </summary>
    private sealed class Gate
    {
        /// <summary>How long a waiter spins without a system call first: 50 µs, a little longer than most layers' parts at batch 1.</summary>
        private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 20_000;

        private readonly object _lock = new();

        public void WaitFor(ref int field, int value)
        {
            // First spin without giving the core up: a yield is a system call (perf shows it costly on these virtual machines), and a
            // thread inside one when the field changes sees it only when the call returns.
            long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref field) != value && System.Diagnostics.Stopwatch.GetTimestamp() < deadline) Thread.SpinWait(8);
            var spinner = new SpinWait();
            while (Volatile.Read(ref field) != value && spinner.Count < 2000) spinner.SpinOnce(sleep1Threshold: -1);
            if (Volatile.Read(ref field) == value) return;
            lock (_lock)
            {
                while (Volatile.Read(ref field) != value) Monitor.Wait(_lock);
            }
        }

        /// <summary>Wakes the waiter after the field was written (a waiter that has not blocked yet sees the new value under the lock).</summary>
        public void Pulse()
        {
            lock (_lock) Monitor.PulseAll(_lock);
        }
    }
}
