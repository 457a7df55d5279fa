using System;

namespace ConvGen;

/// <summary>A tensor or layer input has a shape other than the one required; the message names both.</summary>
public sealed class ShapeMismatchException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="paramName"/> with the <paramref name="expected"/> and <paramref name="actual"/> shapes described.</summary>
    public ShapeMismatchException(string paramName, string expected, string actual, string? context = null)
        : base($"{(context is null ? "" : context + ": ")}expected {expected}, got {actual}.", paramName)
    {
        Expected = expected;
        Actual = actual;
    }

    /// <summary>The expected shape, as text.</summary>
    public string Expected { get; }

    /// <summary>The actual shape, as text.</summary>
    public string Actual { get; }
}
