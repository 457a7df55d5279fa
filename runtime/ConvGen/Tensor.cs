using System;

namespace ConvGen;

/// <summary>
/// A float32 tensor: a <see cref="ConvGen.Shape"/> over a slice of a <c>float[]</c>. Image tensors are NHWC.
/// A tensor may be a view into a larger buffer, which is how layers reuse their output buffers between batches.
/// </summary>
public sealed class Tensor
{
    private readonly float[] _buffer;
    private readonly int _offset;

    /// <summary>A zero-filled tensor of <paramref name="shape"/>.</summary>
    public Tensor(Shape shape) : this(shape, new float[shape.Size], 0) { }

    /// <summary>A tensor of <paramref name="shape"/> over <paramref name="data"/>, which must hold exactly <c>shape.Size</c> elements.</summary>
    /// <exception cref="ArgumentException"><paramref name="data"/> has the wrong length.</exception>
    public Tensor(Shape shape, float[] data) : this(shape, CheckData(shape, data), 0) { }

    /// <summary>A view of <paramref name="shape"/> over <paramref name="buffer"/> starting at <paramref name="offset"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="offset"/> is negative.</exception>
    /// <exception cref="ArgumentException">The view does not fit in the buffer.</exception>
    public Tensor(Shape shape, float[] buffer, int offset)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if ((long)offset + shape.Size > buffer.Length)
            throw new ArgumentException($"A view of shape {shape} ({shape.Size} elements) at offset {offset} does not fit in a buffer of {buffer.Length} elements.", nameof(buffer));
        Shape = shape;
        _buffer = buffer;
        _offset = offset;
    }

    /// <summary>The tensor's shape.</summary>
    public Shape Shape { get; }

    /// <summary>Number of elements.</summary>
    public int Length => Shape.Size;

    /// <summary>The elements, row-major (last dimension fastest).</summary>
    /// <remarks>
    /// On a model's parameter or state tensor this is a writable view ConvGen cannot watch: from then on the model's
    /// <c>Predict</c> and <c>Evaluate</c> recompute what they derive from the weights (folded BatchNormalization, a Dense
    /// layer's panels) on every call instead of reusing it (see
    /// docs/runtime.md, "Freshness"). To read weights without that, use <see cref="ToArray"/> or the indexer.
    /// </remarks>
    public Span<float> Span
    {
        get
        {
            WeightsOf?.WeightsExposed();
            return Values;
        }
    }

    /// <summary>The backing array (which may be larger than this tensor) and the tensor's offset in it.</summary>
    /// <remarks>On a model's parameter or state tensor, a writable view ConvGen cannot watch, as <see cref="Span"/> is.</remarks>
    public (float[] Buffer, int Offset) Storage
    {
        get
        {
            WeightsOf?.WeightsExposed();
            return (_buffer, _offset);
        }
    }

    /// <summary>
    /// The model whose parameters or state this tensor views, told when code outside ConvGen takes a writable view
    /// (<see cref="Span"/>, <see cref="Storage"/>) or sets an element, so that what its inference derives from the weights is never stale;
    /// null for every other tensor.
    /// </summary>
    internal Model? WeightsOf { get; init; }

    /// <summary>The elements, for ConvGen's own reads: unlike <see cref="Span"/>, not a view handed to user code.</summary>
    internal Span<float> Values => _buffer.AsSpan(_offset, Shape.Size);

    /// <summary>The elements, for ConvGen's own writes (loading, optimizer steps): a new weights version, so what the model derives from them is made again once.</summary>
    internal Span<float> Written
    {
        get
        {
            WeightsOf?.WeightsWritten();
            return Values;
        }
    }

    /// <summary>A view of the same elements with another shape of the same size.</summary>
    /// <exception cref="ArgumentException">The sizes differ.</exception>
    public Tensor Reshape(Shape shape)
    {
        if (shape.Size != Shape.Size)
            throw new ArgumentException($"Cannot reshape {Shape} ({Shape.Size} elements) to {shape} ({shape.Size} elements).", nameof(shape));
        return new Tensor(shape, _buffer, _offset) { WeightsOf = WeightsOf };
    }

    /// <summary>Rows <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> of the leading dimension, as a view.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1, or the rows are outside the leading dimension.</exception>
    /// <exception cref="InvalidOperationException">The tensor has rank 0, so no leading dimension.</exception>
    public Tensor SliceBatch(int start, int count)
    {
        if (Shape.Rank == 0) throw new InvalidOperationException($"A rank-0 tensor {Shape} has no leading dimension to slice.");
        int batch = Shape[0];
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (start < 0 || (long)start + count > batch)
            throw new ArgumentOutOfRangeException(nameof(start), start, $"Rows {start}..{(long)start + count} are outside a leading dimension of {batch} (shape {Shape}).");
        var dims = Shape.Dimensions.ToArray();
        dims[0] = count;
        int row = Shape.Size / batch;
        return new Tensor(new Shape(dims), _buffer, _offset + start * row) { WeightsOf = WeightsOf };
    }

    /// <summary>Copies the elements into a new array.</summary>
    public float[] ToArray() => Values.ToArray();

    /// <summary>The element at NHWC position, for tests and debugging (not for hot loops).</summary>
    public float this[params int[] index]
    {
        get => Values[FlatIndex(index)];
        set => Written[FlatIndex(index)] = value;
    }

    private int FlatIndex(int[] index)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (index.Length != Shape.Rank)
            throw new ArgumentException($"Index has {index.Length} coordinates; shape {Shape} has rank {Shape.Rank}.", nameof(index));
        int flat = 0;
        for (int i = 0; i < index.Length; i++)
        {
            if ((uint)index[i] >= (uint)Shape[i])
                throw new ArgumentOutOfRangeException(nameof(index), $"Coordinate {i} is {index[i]}; shape {Shape} allows 0..{Shape[i] - 1}.");
            flat = flat * Shape[i] + index[i];
        }
        return flat;
    }

    private static float[] CheckData(Shape shape, float[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length != shape.Size)
            throw new ArgumentException($"A tensor of shape {shape} needs {shape.Size} elements, but the array has {data.Length}.", nameof(data));
        return data;
    }

    /// <inheritdoc/>
    public override string ToString() => $"Tensor{Shape}";
}
