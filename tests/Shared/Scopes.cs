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
