using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading.Tasks;

namespace ConvGen.Mpi.Tests;

/// <summary>Starts ConvGen.Mpi.Ranks under <c>mpirun -np N --oversubscribe</c> and collects what every rank printed.</summary>
internal static class MpiRun
{
    public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed);

    public static Result Ranks(int ranks, string arguments, int timeoutSeconds = 120)
    {
        string helper = Path.Combine(AppContext.BaseDirectory, "ConvGen.Mpi.Ranks.dll");
        var start = new ProcessStartInfo("mpirun", $"-np {ranks} --oversubscribe --bind-to none dotnet \"{helper}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Open MPI refuses to start as root unless told that is intended (CI containers run as root).
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        start.Environment.Remove("DOTNET_gcServer");
        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"mpirun could not be started ({e.Message}). These tests need Open MPI: apt-get install openmpi-bin libopenmpi-dev (bash .ci/run installs it).", e);
        }
        using (process)
        {
            var stdout = Task.Run(() => process.StandardOutput.ReadToEnd());
            var stderr = Task.Run(() => process.StandardError.ReadToEnd());
            if (!process.WaitForExit(timeoutSeconds * 1000))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                throw new TimeoutException($"mpirun -np {ranks} {arguments} did not finish in {timeoutSeconds} s. Output so far:\n{stdout.Result}\n{stderr.Result}");
            }
            output.Append(stdout.Result).Append(stderr.Result);
            return new Result(process.ExitCode, output.ToString(), clock.Elapsed);
        }
    }
}
