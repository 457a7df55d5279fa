using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading;

namespace ConvGen.Mpi;

/// <summary>
/// <c>MPI_COMM_WORLD</c> of the system's Open MPI, as the group a model trains in (<see cref="IDataParallel"/>). Every collective
/// is a non-blocking MPI call polled to completion by this class, so a collective that does not complete within
/// <see cref="Timeout"/> (a rank stuck or gone) stops the whole job with a message instead of hanging it.
/// </summary>
/// <remarks>
/// MPI is initialized with <c>MPI_THREAD_FUNNELED</c>: every call must come from the thread that called <see cref="Initialize"/>
/// (the model's worker threads never call MPI). Start the program with <c>mpirun -np N</c>; started alone it is a group of one.
/// An exception no code catches, on any rank, stops every rank (<c>MPI_Abort</c>) after printing which rank failed and why.
/// </remarks>
public sealed unsafe class MpiCommunicator : IDataParallel, IDisposable
{
    private const int MaxPending = 64;
    private static readonly Lock s_lock = new();
    private static MpiCommunicator? s_world;

    private readonly MpiLibrary _mpi;
    private readonly int _thread;
    private readonly nint* _requests;
    private int _pending;
    private bool _finalized;

    private MpiCommunicator(MpiLibrary mpi)
    {
        _mpi = mpi;
        _thread = Environment.CurrentManagedThreadId;
        int initialized = 0, provided = 0, rank = 0, size = 0;
        Check(mpi.Initialized(&initialized), "MPI_Initialized");
        if (initialized == 0) Check(mpi.InitThread(null, null, MpiLibrary.ThreadFunneled, &provided), "MPI_Init_thread");
        else provided = MpiLibrary.ThreadFunneled;
        if (provided < MpiLibrary.ThreadFunneled)
            throw new MpiException($"The MPI library provides thread level {provided}; ConvGen.Mpi needs MPI_THREAD_FUNNELED (1), since the model's worker threads run beside the thread that calls MPI.");
        Check(mpi.CommRank(mpi.CommWorld, &rank), "MPI_Comm_rank");
        Check(mpi.CommSize(mpi.CommWorld, &size), "MPI_Comm_size");
        (Rank, Size) = (rank, size);
        _requests = (nint*)NativeMemory.AllocZeroed(MaxPending, (nuint)sizeof(nint));
        LocalSize = int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out int local) && local > 0 ? local : 1;
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            Console.Error.WriteLine($"ConvGen.Mpi: rank {Rank} of {Size} failed: {e.ExceptionObject}");
            Abort($"rank {Rank} failed", 1);
        };
    }

    /// <summary>
    /// Initializes MPI (once per process) and returns <c>MPI_COMM_WORLD</c>. Call it first in <c>Main</c>, on the thread that
    /// will train. It also sets <see cref="Parallelism.Threads"/> to this machine's share per rank, e.g. 1 for 2 ranks on 2
    /// cores, unless <paramref name="threads"/> says otherwise.
    /// </summary>
    /// <param name="threads">Worker threads per rank; by default the processors this process may use divided by the ranks on this machine.</param>
    /// <exception cref="MpiException">Open MPI is not installed, or could not be initialized.</exception>
    public static MpiCommunicator Initialize(int? threads = null)
    {
        lock (s_lock)
        {
            if (s_world is null)
            {
                s_world = new MpiCommunicator(MpiLibrary.Load());
                Parallelism.Threads = threads ?? Math.Max(1, Environment.ProcessorCount / s_world.LocalSize);
            }
            return s_world;
        }
    }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int Size { get; }

    /// <summary>The ranks on this machine (Open MPI's <c>OMPI_COMM_WORLD_LOCAL_SIZE</c>; 1 when unknown).</summary>
    public int LocalSize { get; }

    /// <summary>Which library was loaded.</summary>
    public string Library => _mpi.Path;

    /// <inheritdoc/>
    /// <remarks>
    /// Default 1 Mi floats (4 MiB): on 2 ranks of one machine, the tutorial network's step waited 0.7-2.4 ms for its sums with
    /// it and 3.8 ms with the whole gradient in one sum (docs/distributed.md).
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">Set to less than 1.</exception>
    public int BucketSize
    {
        get => _bucketSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(BucketSize));
            _bucketSize = value;
        }
    }

    private int _bucketSize = 1 << 20;

    /// <summary>How long a collective may wait for the other ranks before the job is stopped (default 5 minutes).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to zero or less.</exception>
    public TimeSpan Timeout
    {
        get => _timeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero, nameof(Timeout));
            _timeout = value;
        }
    }

    private TimeSpan _timeout = TimeSpan.FromMinutes(5);

    /// <summary>Seconds spent waiting in <see cref="WaitAll"/> and the blocking collectives since the last reset (the communication not hidden behind computation).</summary>
    public double WaitSeconds { get; set; }

    /// <inheritdoc/>
    public void AllReduceSum(Span<double> values)
    {
        fixed (double* p = values) Start(_mpi.Iallreduce(MpiLibrary.InPlace, p, values.Length, _mpi.Double, _mpi.OpSum, _mpi.CommWorld, Slot()), "MPI_Iallreduce");
        WaitAll();
    }

    /// <inheritdoc/>
    public void AllReduceSum(Span<float> values)
    {
        fixed (float* p = values) Start(_mpi.Iallreduce(MpiLibrary.InPlace, p, values.Length, _mpi.Float, _mpi.OpSum, _mpi.CommWorld, Slot()), "MPI_Iallreduce");
        WaitAll();
    }

    /// <inheritdoc/>
    public void StartAllReduceSum(Span<float> values)
    {
        // The caller guarantees pinned memory (IDataParallel's contract), so the address outlives this call.
        Start(_mpi.Iallreduce(MpiLibrary.InPlace, Unsafe(values), values.Length, _mpi.Float, _mpi.OpSum, _mpi.CommWorld, Slot()), "MPI_Iallreduce");
    }

    /// <summary>Replaces <paramref name="values"/> on every rank with rank <paramref name="root"/>'s (blocking).</summary>
    public void Broadcast(Span<float> values, int root)
    {
        fixed (float* p = values) Start(_mpi.Ibcast(p, values.Length, _mpi.Float, root, _mpi.CommWorld, Slot()), "MPI_Ibcast");
        WaitAll();
    }

    /// <summary>Every rank's <paramref name="mine"/>, rank after rank, into <paramref name="all"/> (<see cref="Size"/> times as long; blocking).</summary>
    /// <exception cref="ArgumentException"><paramref name="all"/> is not <see cref="Size"/> times as long as <paramref name="mine"/>.</exception>
    public void AllGather(ReadOnlySpan<long> mine, Span<long> all)
    {
        if (all.Length != (long)mine.Length * Size)
            throw new ArgumentException($"all holds {all.Length} values; expected {mine.Length} per rank times {Size} ranks = {(long)mine.Length * Size}.", nameof(all));
        fixed (long* m = mine)
        fixed (long* a = all)
        {
            Start(_mpi.Iallgather(m, mine.Length, _mpi.Int64, a, mine.Length, _mpi.Int64, _mpi.CommWorld, Slot()), "MPI_Iallgather");
            WaitAll();
        }
    }

    /// <summary>Returns once every rank has called it.</summary>
    public void Barrier()
    {
        Start(_mpi.Ibarrier(_mpi.CommWorld, Slot()), "MPI_Ibarrier");
        WaitAll();
    }

    /// <inheritdoc/>
    public void Progress()
    {
        if (_pending == 0) return;
        int done = 0;
        Check(_mpi.Testall(_pending, _requests, &done, null), "MPI_Testall");
        if (done != 0) _pending = 0;
    }

    /// <inheritdoc/>
    public void WaitAll()
    {
        if (_pending == 0) return;
        long start = Stopwatch.GetTimestamp(), limit = (long)(Timeout.TotalSeconds * Stopwatch.Frequency);
        for (int spin = 0; ; spin++)
        {
            int done = 0;
            Check(_mpi.Testall(_pending, _requests, &done, null), "MPI_Testall");
            if (done != 0) break;
            if ((spin & 1023) == 1023)
            {
                long waited = Stopwatch.GetTimestamp() - start;
                if (waited > limit)
                {
                    Abort($"rank {Rank} of {Size} waited {Timeout.TotalSeconds:F0} s for the other ranks in a collective; one of them is stuck or gone", 2);
                }
                Thread.Yield();
            }
        }
        _pending = 0;
        WaitSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>
    /// Stops every rank of the job (<c>MPI_Abort</c>) after printing <paramref name="reason"/> on this rank's standard error. It
    /// does not return.
    /// </summary>
    public void Abort(string reason, int errorCode)
    {
        Console.Error.WriteLine($"ConvGen.Mpi: {reason}; stopping all {Size} ranks.");
        Console.Error.Flush();
        _mpi.Abort(_mpi.CommWorld, errorCode);
        Environment.Exit(errorCode);
    }

    /// <summary>Finalizes MPI after a barrier (so no rank leaves while another still waits for it). Call it once training is over.</summary>
    public void Dispose()
    {
        lock (s_lock)
        {
            if (_finalized) return;
            Barrier();
            Check(_mpi.Finalize(), "MPI_Finalize");
            _finalized = true;
            NativeMemory.Free(_requests);
        }
    }

    /// <summary>The next free request slot (waiting first when all are in use), after checking the calling thread.</summary>
    private nint* Slot()
    {
        if (Environment.CurrentManagedThreadId != _thread)
            throw new InvalidOperationException($"MPI was initialized on thread {_thread} (MPI_THREAD_FUNNELED) and is called from thread {Environment.CurrentManagedThreadId}; train, evaluate and checkpoint from the thread that called MpiCommunicator.Initialize.");
        if (_finalized) throw new ObjectDisposedException(nameof(MpiCommunicator), "MPI is finalized.");
        if (_pending == MaxPending) WaitAll();
        return _requests + _pending;
    }

    private void Start(int code, string function)
    {
        Check(code, function);
        _pending++;
    }

    private void Check(int code, string function)
    {
        if (code != MpiLibrary.Success) throw new MpiException($"{function} failed on rank {Rank}: {_mpi.Describe(code)}.");
    }

    private static float* Unsafe(Span<float> values) => (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetReference(values));
}
