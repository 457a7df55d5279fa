using System;
using System.Text;

namespace ConvGen;

/// <summary>An immutable tensor shape: a list of positive dimensions, e.g. <c>(50, 28, 28, 1)</c>.</summary>
public readonly struct Shape : IEquatable<Shape>
{
    private readonly int[]? _dims;

    /// <summary>Creates a shape; every dimension must be positive and the element count must fit in an <see cref="int"/>.</summary>
    /// <exception cref="ArgumentException">A dimension is not positive, or the product overflows.</exception>
    public Shape(params int[] dimensions)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        long size = 1;
        for (int i = 0; i < dimensions.Length; i++)
        {
            if (dimensions[i] <= 0)
                throw new ArgumentException($"Dimension {i} of shape ({string.Join(", ", dimensions)}) is {dimensions[i]}; every dimension must be at least 1.", nameof(dimensions));
            size *= dimensions[i];
            if (size > Array.MaxLength)
                throw new ArgumentException($"Shape ({string.Join(", ", dimensions)}) has more than {Array.MaxLength} elements.", nameof(dimensions));
        }
        _dims = (int[])dimensions.Clone();
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims?.Length ?? 0;

    /// <summary>The dimension at <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in <c>[0, Rank)</c>.</exception>
    public int this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Rank)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Shape {this} has rank {Rank}, so dimension {index} does not exist.");
            return _dims![index];
        }
    }

    /// <summary>The dimensions.</summary>
    public ReadOnlySpan<int> Dimensions => _dims;

    /// <summary>Number of elements: the product of the dimensions (1 for a rank-0 shape).</summary>
    public int Size
    {
        get
        {
            int size = 1;
            foreach (int d in Dimensions) size *= d;
            return size;
        }
    }

    /// <summary>This shape with a leading batch dimension.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is less than 1, or the batch has more elements than an array can hold.</exception>
    public Shape WithBatch(int batch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        if ((long)batch * Size > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"A batch of {batch} samples of {this} has {(long)batch * Size} elements, more than the {Array.MaxLength} an array can hold.");
        var dims = new int[Rank + 1];
        dims[0] = batch;
        Dimensions.CopyTo(dims.AsSpan(1));
        return new Shape(dims);
    }

    /// <summary>This shape without its leading (batch) dimension.</summary>
    /// <exception cref="InvalidOperationException">The shape has rank 0.</exception>
    public Shape WithoutBatch()
    {
        if (Rank == 0) throw new InvalidOperationException("A rank-0 shape has no batch dimension.");
        return new Shape(Dimensions[1..].ToArray());
    }

    /// <inheritdoc/>
    public bool Equals(Shape other) => Dimensions.SequenceEqual(other.Dimensions);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in Dimensions) h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Shape equality.</summary>
    public static bool operator ==(Shape left, Shape right) => left.Equals(right);

    /// <summary>Shape inequality.</summary>
    public static bool operator !=(Shape left, Shape right) => !left.Equals(right);

    /// <summary>Formats as <c>(d0, d1, ...)</c>, the way Keras prints shapes.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("(");
        for (int i = 0; i < Rank; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(this[i]);
        }
        if (Rank == 1) sb.Append(',');
        return sb.Append(')').ToString();
    }
}
