using System;

namespace ConvGen;

/// <summary>Classification metrics.</summary>
public static class Metrics
{
    /// <summary>How many rows of <paramref name="outputs"/> <c>(batch, ..., classes)</c> have their largest value at the row's label (one label per row).</summary>
    /// <exception cref="ShapeMismatchException"><paramref name="outputs"/> has no class axis, or the label count differs from its row count.</exception>
    public static int CountCorrect(Tensor outputs, ReadOnlySpan<int> labels)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (outputs.Shape.Rank < 1)
            throw new ShapeMismatchException(nameof(outputs), "(batch, ..., classes)", outputs.Shape.ToString(), "Metrics.CountCorrect");
        int classes = outputs.Shape.Rank == 1 ? 1 : outputs.Shape[outputs.Shape.Rank - 1], rows = outputs.Length / classes, correct = 0;
        if (labels.Length != rows)
            throw new ShapeMismatchException(nameof(labels), $"{rows} labels, one per row of outputs {outputs.Shape}", $"{labels.Length} labels", "Metrics.CountCorrect");
        var values = outputs.Span;
        for (int r = 0; r < rows; r++)
        {
            var row = values.Slice(r * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (row[c] > row[best]) best = c;
            if (best == labels[r]) correct++;
        }
        return correct;
    }
}
