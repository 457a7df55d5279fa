using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.CompilerServices;

namespace ConvGen.Peers;

/// <summary>
/// Makes TorchSharp's native shim loadable before the first TorchSharp call, in whatever directory this process runs from (the
/// harness's output, or a project BenchmarkDotNet generated, which imports no Directory.Build files): TorchSharp 0.107.0's
/// libLibTorchSharp.so lists GLIBCXX_3.4.32 (GCC 13) among its needs though it uses no symbol of that version, and Debian 12's
/// libstdc++ stops at 3.4.30. <c>setup-torchsharp.sh</c> marks that need weak in this directory's copy (idempotent; it changes
/// nothing where the system's libstdc++ is new enough). See docs/performance.md.
/// </summary>
public static class TorchSharpSetup
{
    private static bool s_done;

    public static void Ensure()
    {
        if (s_done || !OperatingSystem.IsLinux()) return;
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Script());
        start.ArgumentList.Add(AppContext.BaseDirectory);
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"setup-torchsharp.sh failed (exit {process.ExitCode}) for {AppContext.BaseDirectory}:\n{output}");
        s_done = true;
    }

    private static string Script([CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "setup-torchsharp.sh");
}
