using System;
using System.Runtime.InteropServices;
using System.Text;

namespace ConvGen.Mpi;

/// <summary>
/// The few MPI functions ConvGen.Mpi needs, bound at run time from the system's Open MPI through function pointers (no
/// DllImport resolution, NativeAOT-safe). Open MPI's handles (<c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>, <c>MPI_SUM</c>) are the
/// addresses of exported globals (<c>ompi_mpi_comm_world</c>, ...), so they are looked up the same way.
/// </summary>
internal sealed unsafe partial class MpiLibrary
{
    /// <summary>Library names tried in order: Open MPI 4 and 5's runtime library, then the development symlink.</summary>
    private static readonly string[] Names = ["libmpi.so.40", "libmpi.so"];

    public const int ThreadFunneled = 1;   // MPI_THREAD_FUNNELED in Open MPI's mpi.h
    public const int Success = 0;
    public static readonly void* InPlace = (void*)1; // MPI_IN_PLACE

    public readonly string Path;
    public readonly nint CommWorld, Float, Double, Int64, OpSum;

    public readonly delegate* unmanaged<int*, byte***, int, int*, int> InitThread;
    public readonly delegate* unmanaged<int*, int> Initialized;
    public readonly delegate* unmanaged<int> Finalize;
    public readonly delegate* unmanaged<nint, int*, int> CommRank;
    public readonly delegate* unmanaged<nint, int*, int> CommSize;
    public readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int> Iallreduce;
    public readonly delegate* unmanaged<void*, int, nint, int, nint, nint*, int> Ibcast;
    public readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, nint*, int> Iallgather;
    public readonly delegate* unmanaged<nint, nint*, int> Ibarrier;
    public readonly delegate* unmanaged<int, nint*, int*, void*, int> Testall;
    public readonly delegate* unmanaged<nint, int, int> Abort;
    public readonly delegate* unmanaged<int, byte*, int*, int> ErrorString;

    private MpiLibrary(nint handle, string path)
    {
        Path = path;
        CommWorld = Symbol(handle, "ompi_mpi_comm_world");
        Float = Symbol(handle, "ompi_mpi_float");
        Double = Symbol(handle, "ompi_mpi_double");
        Int64 = Symbol(handle, "ompi_mpi_int64_t");
        OpSum = Symbol(handle, "ompi_mpi_op_sum");
        InitThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Symbol(handle, "MPI_Init_thread");
        Initialized = (delegate* unmanaged<int*, int>)Symbol(handle, "MPI_Initialized");
        Finalize = (delegate* unmanaged<int>)Symbol(handle, "MPI_Finalize");
        CommRank = (delegate* unmanaged<nint, int*, int>)Symbol(handle, "MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Symbol(handle, "MPI_Comm_size");
        Iallreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int>)Symbol(handle, "MPI_Iallreduce");
        Ibcast = (delegate* unmanaged<void*, int, nint, int, nint, nint*, int>)Symbol(handle, "MPI_Ibcast");
        Iallgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, nint*, int>)Symbol(handle, "MPI_Iallgather");
        Ibarrier = (delegate* unmanaged<nint, nint*, int>)Symbol(handle, "MPI_Ibarrier");
        Testall = (delegate* unmanaged<int, nint*, int*, void*, int>)Symbol(handle, "MPI_Testall");
        Abort = (delegate* unmanaged<nint, int, int>)Symbol(handle, "MPI_Abort");
        ErrorString = (delegate* unmanaged<int, byte*, int*, int>)Symbol(handle, "MPI_Error_string");
    }

    /// <summary>
    /// Loads Open MPI with <c>RTLD_GLOBAL</c> (its plug-ins, loaded later, resolve symbols against it, as mpi4py does it) and
    /// binds every function. Signal handlers of Open MPI's own are turned off unless the user set them, because .NET turns
    /// SIGSEGV into NullReferenceException and Open MPI's handler would kill the process instead.
    /// </summary>
    /// <exception cref="MpiException">No Open MPI library is found, or it lacks a function (not Open MPI, or too old).</exception>
    public static MpiLibrary Load()
    {
        if (!OperatingSystem.IsLinux())
            throw new MpiException($"ConvGen.Mpi runs on Linux with Open MPI; this is {RuntimeInformation.OSDescription}.");
        SetDefault("OMPI_MCA_opal_signal", "");
        var errors = new StringBuilder();
        foreach (var name in Names)
        {
            nint handle = Dl.Open(name);
            if (handle == 0)
            {
                errors.Append($" {name}: {Dl.LastError()};");
                continue;
            }
            try
            {
                return new MpiLibrary(handle, name);
            }
            catch (EntryPointNotFoundException e)
            {
                throw new MpiException($"{name} is not Open MPI 4 or later: {e.Message} ConvGen.Mpi binds Open MPI's ABI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev).");
            }
        }
        throw new MpiException($"Open MPI's libmpi was not found ({errors.ToString().Trim()}). Install it (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) and start the program with mpirun.");
    }

    /// <summary>The text of MPI error code <paramref name="code"/>.</summary>
    public string Describe(int code)
    {
        byte* text = stackalloc byte[512]; // MPI_MAX_ERROR_STRING is 256 in Open MPI
        int length = 0;
        return ErrorString(code, text, &length) == Success ? Encoding.UTF8.GetString(text, Math.Clamp(length, 0, 512)) : $"MPI error {code}";
    }

    private static nint Symbol(nint handle, string name) =>
        NativeLibrary.TryGetExport(handle, name, out nint address) ? address : throw new EntryPointNotFoundException($"'{name}' is missing.");

    private static void SetDefault(string name, string value)
    {
        // .NET keeps its own copy of the environment on Unix; Open MPI reads the C library's.
        if (Environment.GetEnvironmentVariable(name) is null) Dl.SetEnv(name, value, overwrite: 0);
    }

    /// <summary>The C library calls the binding needs (glibc 2.34 and later keep dlopen in libc.so.6).</summary>
    private static partial class Dl
    {
        private const int RtldNow = 2, RtldGlobal = 0x100;

        public static nint Open(string name) => dlopen(name, RtldNow | RtldGlobal);

        public static string LastError() => Marshal.PtrToStringUTF8(dlerror()) ?? "not found";

        public static void SetEnv(string name, string value, int overwrite) => setenv(name, value, overwrite);

        [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
        private static partial nint dlopen(string file, int mode);

        [LibraryImport("libc.so.6")]
        private static partial nint dlerror();

        [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int setenv(string name, string value, int overwrite);
    }
}

/// <summary>MPI could not be loaded or used, or the ranks disagree (different models or weights); the message says what and what would work.</summary>
public sealed class MpiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MpiException(string message) : base(message) { }
}
