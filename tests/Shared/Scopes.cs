using System;
using ConvGen.Internal;
using Xunit;

namespace ConvGen.Testing;

/// <summary>Tests that change a process-wide setting (<see cref="Parallelism.Threads"/>, <see cref="Simd.Lanes"/>) run alone, never beside other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideSettings
{
    public const string Name = "Process-wide settings";
}

/// <summary>
/// The trait of test classes that force every vector width the generated kernels have in-process (<see cref="LanesScope"/>
/// at 16, 8 and 4 floats): their kernels' code depends on the process's settings only through whether the CPU has 32 vector
/// registers (<see cref="Simd.Registers32"/>, AVX-512), so <c>.ci/run</c> runs them at the default width and with AVX-512
/// turned off (16 registers), not again at each width the rest of the suite runs at. Use as
/// <c>[Trait(WidthsForcedInProcess.Name, WidthsForcedInProcess.Value)]</c>.
/// </summary>
public static class WidthsForcedInProcess
{
    public const string Name = "Widths";
    public const string Value = "ForcedInProcess";
}

/// <summary>Sets <see cref="Parallelism.Threads"/> for a scope and restores it.</summary>
public sealed class ThreadScope : IDisposable
{
    private readonly int _previous = Parallelism.Threads;

    public ThreadScope(int threads) => Parallelism.Threads = threads;

    public void Dispose() => Parallelism.Threads = _previous;
}

/// <summary>Forces the generated kernels' vector width (<see cref="Simd.Lanes"/>) for a scope and restores the hardware's choice.</summary>
public sealed class LanesScope : IDisposable
{
    public LanesScope(int lanes) => Simd.Lanes = lanes;

    public void Dispose() => Simd.Lanes = 0;
}
