using System;
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;

namespace ConvGen.Internal;

/// <summary>Argument checks called by generated kernels. Formats messages only when it throws, so a passing check allocates nothing.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class KernelGuard
{
    /// <summary>Throws unless <paramref name="value"/> is at least 1.</summary>
    public static void Positive(int value, string paramName)
    {
        if (value < 1) Throw(paramName, $"{paramName} is {value}; it must be at least 1.");
    }

    /// <summary>Throws unless <c>0 &lt;= rowStart &lt;= rowEnd &lt;= outputHeight</c>.</summary>
    public static void Rows(int rowStart, int rowEnd, int outputHeight)
    {
        if (rowStart < 0 || rowStart > outputHeight) Throw(nameof(rowStart), $"rowStart is {rowStart}; it must be within [0, {outputHeight}] (the output has {outputHeight} rows).");
        if (rowEnd < rowStart || rowEnd > outputHeight) Throw(nameof(rowEnd), $"rowEnd is {rowEnd}; it must be within [rowStart = {rowStart}, {outputHeight}] (the output has {outputHeight} rows).");
    }

    /// <summary>Throws unless an input extent covers the dilated kernel under Valid padding.</summary>
    public static void CoversKernel(int size, int kernel, int dilation, string paramName, string axis)
    {
        long needed = Geometry.Extent(kernel, dilation);
        if (size < needed)
            Throw(paramName, $"{paramName} is {size}, but a Valid {axis} kernel of {kernel} with dilation {dilation} spans {needed}; the input needs at least {needed} {axis}s (or use Padding.Same).");
    }

    /// <summary>Throws unless <paramref name="actual"/> equals <c>d0 * d1 * d2 * d3</c>; <paramref name="layout"/> names the dimensions, e.g. <c>[batch, height, width, InputChannels]</c>.</summary>
    public static void Length(int actual, string paramName, string layout, int d0, int d1, int d2, int d3)
    {
        long expected = (long)d0 * d1 * d2 * d3;
        if (actual != expected)
            Throw(paramName, $"{paramName} has {actual} elements; expected {layout} = [{d0}, {d1}, {d2}, {d3}] = {expected}.");
    }

    /// <summary>Throws unless <paramref name="actual"/> equals <paramref name="expected"/>.</summary>
    public static void Length(int actual, string paramName, string layout, int expected)
    {
        if (actual != expected)
            Throw(paramName, $"{paramName} has {actual} elements; expected {layout} = {expected}.");
    }

    /// <summary>Throws unless <paramref name="actual"/> is 0 (skip) or <c>d0 * d1 * d2 * d3</c>.</summary>
    public static void LengthOrEmpty(int actual, string paramName, string layout, int d0, int d1, int d2, int d3)
    {
        if (actual != 0) Length(actual, paramName, layout, d0, d1, d2, d3);
    }

    /// <summary>Throws unless <paramref name="actual"/> is 0 or <paramref name="expected"/>.</summary>
    public static void LengthOrEmpty(int actual, string paramName, string layout, int expected)
    {
        if (actual != 0) Length(actual, paramName, layout, expected);
    }

    [DoesNotReturn]
    private static void Throw(string paramName, string message) => throw new ArgumentException(message, paramName);
}
