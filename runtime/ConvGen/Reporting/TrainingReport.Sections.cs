using System;
using System.Collections.Generic;
using System.Globalization;
using static ConvGen.Reporting.MarkupWriter;

namespace ConvGen.Reporting;

// The four sections of the page. Every picture is inline SVG drawn from the numbers, in CSS pixels.
public sealed partial class TrainingReport
{
    private const string TrainingColour = "#1f77b4", ValidationColour = "#e8710a";

    // (a) Loss and accuracy: two line charts, training solid and validation dashed.
    private void WriteHistory(MarkupWriter w)
    {
        bool validated = false;
        foreach (var p in History) validated |= float.IsFinite(p.ValidationLoss) || float.IsFinite(p.ValidationAccuracy);
        OpenSection(w, "history", "Loss and accuracy",
            $"{(validated ? "Training (solid) and validation (dashed)" : "Training")} loss and accuracy per {HistoryAxis}. {HistoryNote}".TrimEnd());
        if (History.Count == 0)
        {
            Missing(w, "No training history was recorded.");
        }
        else
        {
            w.Open("div", ("class", "charts"));
            LineChart(w, "loss", "Loss", static p => p.Loss, static p => p.ValidationLoss, isAccuracy: false);
            LineChart(w, "accuracy", "Accuracy", static p => p.Accuracy, static p => p.ValidationAccuracy, isAccuracy: true);
            w.Close();
        }
        w.Close();
    }

    private void LineChart(MarkupWriter w, string id, string name, Func<HistoryPoint, float> training, Func<HistoryPoint, float> validation, bool isAccuracy)
    {
        const int width = 540, height = 320, left = 64, right = 20, top = 42, bottom = 52;
        const int plotWidth = width - left - right, plotHeight = height - top - bottom;

        var values = new List<double>();
        bool hasValidation = false;
        double xMax = 0;
        bool integral = true;
        foreach (var p in History)
        {
            if (double.IsFinite(p.Step)) { xMax = Math.Max(xMax, p.Step); integral &= p.Step == Math.Floor(p.Step); }
            if (float.IsFinite(training(p))) values.Add(training(p));
            if (float.IsFinite(validation(p))) { values.Add(validation(p)); hasValidation = true; }
        }
        double yLow = values.Count == 0 ? 0 : Math.Min(0, Min(values)), yHigh = values.Count == 0 ? 1 : Max(values);
        if (isAccuracy) (yLow, yHigh) = values.Count == 0 ? (0, 1) : (Math.Max(0, Min(values) - 0.01), Math.Min(1, yHigh + 0.005));
        var yAxis = Axis.Nice(yLow, yHigh, 5, integral: false, clampTo: isAccuracy ? (0, 1) : null);
        var xAxis = Axis.Nice(0, Math.Max(xMax, integral ? 1 : 1e-9), 6, integral, clampTo: null);
        double X(double v) => left + xAxis.Scale(v) * plotWidth;
        double Y(double v) => top + (1 - yAxis.Scale(v)) * plotHeight;

        string axisName = isAccuracy ? "accuracy" : "loss";
        w.Open("figure");
        w.Open("svg", ("id", $"chart-{id}"), ("class", "chart"), ("width", $"{width}"), ("height", $"{height}"), ("viewBox", $"0 0 {width} {height}"),
            ("role", "img"), ("aria-label", $"{name} per {HistoryAxis}, training and validation"));
        w.Element("title", $"{name} per {HistoryAxis}");
        w.Empty("rect", ("x", $"{left}"), ("y", $"{top}"), ("width", $"{plotWidth}"), ("height", $"{plotHeight}"), ("fill", "#fbfcfd"));

        foreach (double t in yAxis.Ticks)
        {
            string y = Number(Y(t), 1);
            w.Empty("line", ("x1", $"{left}"), ("x2", $"{left + plotWidth}"), ("y1", y), ("y2", y), ("stroke", "#e4e7eb"));
            w.Element("text", yAxis.Label(t), ("x", $"{left - 8}"), ("y", y), ("dy", "4"), ("text-anchor", "end"), ("font-size", "12"));
        }
        foreach (double t in xAxis.Ticks)
        {
            string x = Number(X(t), 1);
            w.Empty("line", ("x1", x), ("x2", x), ("y1", $"{top}"), ("y2", $"{top + plotHeight}"), ("stroke", "#eef0f2"));
            w.Element("text", xAxis.Label(t), ("x", x), ("y", $"{top + plotHeight + 18}"), ("text-anchor", "middle"), ("font-size", "12"));
        }
        w.Empty("path", ("d", $"M{left} {top}V{top + plotHeight}H{left + plotWidth}"), ("fill", "none"), ("stroke", "#7b8794"));
        w.Element("text", HistoryAxis, ("x", Number(left + plotWidth / 2.0)), ("y", $"{height - 10}"), ("text-anchor", "middle"), ("font-size", "13"));
        w.Element("text", axisName, ("transform", $"translate(16 {Number(top + plotHeight / 2.0)}) rotate(-90)"), ("text-anchor", "middle"), ("font-size", "13"));
        w.Element("text", name, ("x", $"{left}"), ("y", "22"), ("font-size", "15"), ("font-weight", "700"));

        // The legend, top right, above the plot.
        int legendX = left + plotWidth - (hasValidation ? 200 : 90);
        LegendEntry(w, legendX, 18, TrainingColour, dashed: false, "training");
        if (hasValidation) LegendEntry(w, legendX + 95, 18, ValidationColour, dashed: true, "validation");

        Series(w, "training", TrainingColour, dashed: false, training, X, Y, axisName);
        if (hasValidation) Series(w, "validation", ValidationColour, dashed: true, validation, X, Y, axisName);
        w.Close().Close(); // svg, figure
    }

    private static void LegendEntry(MarkupWriter w, int x, int y, string colour, bool dashed, string label)
    {
        w.Empty("line", ("x1", $"{x}"), ("x2", $"{x + 26}"), ("y1", $"{y}"), ("y2", $"{y}"), ("stroke", colour), ("stroke-width", "2.5"), ("stroke-dasharray", dashed ? "6 4" : "none"));
        w.Element("text", label, ("x", $"{x + 32}"), ("y", $"{y + 4}"), ("font-size", "12"));
    }

    private void Series(MarkupWriter w, string name, string colour, bool dashed, Func<HistoryPoint, float> value, Func<double, double> x, Func<double, double> y, string axisName)
    {
        var points = new System.Text.StringBuilder();
        foreach (var p in History)
            if (float.IsFinite(value(p)) && double.IsFinite(p.Step))
                points.Append(Number(x(p.Step), 1)).Append(',').Append(Number(y(value(p)), 1)).Append(' ');
        w.Empty("polyline", ("class", $"series {name}"), ("points", points.ToString().TrimEnd()), ("fill", "none"), ("stroke", colour), ("stroke-width", "2"),
            ("stroke-dasharray", dashed ? "6 4" : "none"), ("stroke-linejoin", "round"));
        foreach (var p in History)
        {
            if (!float.IsFinite(value(p)) || !double.IsFinite(p.Step)) continue;
            w.Open("circle", ("cx", Number(x(p.Step), 1)), ("cy", Number(y(value(p)), 1)), ("r", "3"), ("fill", dashed ? "#fff" : colour), ("stroke", colour), ("stroke-width", "1.5"));
            w.Element("title", $"{HistoryAxis} {Number(p.Step)}: {name} {axisName} {value(p).ToString("0.0000", CultureInfo.InvariantCulture)}").Close();
        }
    }

    // (b) The first layer's filters, one tile per filter, on one diverging colour scale.
    private void WriteFilters(MarkupWriter w)
    {
        var k = FirstLayerKernel;
        OpenSection(w, "filters", "First-layer filters", k is null ? null :
            $"The {k.Filters} filters of the first convolution ({k.Height}×{k.Width}, {Plural(k.InputChannels, "input channel")}{(k.InputChannels > 1 ? " side by side" : "")}), " +
            "weight by weight: red is positive, blue negative and white zero, on one scale for all filters. A filter that learned an edge shows a red band beside a blue one.");
        if (k is null)
        {
            Missing(w, "No kernel was given.");
            w.Close();
            return;
        }
        float scale = 0;
        foreach (float v in k.Weights) if (float.IsFinite(v)) scale = Math.Max(scale, Math.Abs(v));
        if (scale == 0) scale = 1;

        int pixel = Math.Clamp(80 / Math.Max(k.Height, k.Width), 3, 16), gap = 14, label = 16;
        int imageWidth = k.Width * pixel, tileWidth = k.InputChannels * imageWidth + (k.InputChannels - 1) * 3, tileHeight = k.Height * pixel;
        int columns = Columns(k.Filters, Math.Max(1, (1100 + gap) / (tileWidth + gap)));
        int rows = (k.Filters + columns - 1) / columns;
        int svgWidth = Math.Max(columns * (tileWidth + gap) - gap, 340) + 2, svgHeight = rows * (tileHeight + label + gap) + 44;

        w.Open("svg", ("id", "filter-grid"), ("width", $"{svgWidth}"), ("height", $"{svgHeight}"), ("viewBox", $"0 0 {svgWidth} {svgHeight}"),
            ("role", "img"), ("aria-label", $"{k.Filters} first-layer filters"), ("shape-rendering", "crispEdges"));
        w.Element("title", $"{k.Filters} first-layer filters");
        for (int f = 0; f < k.Filters; f++)
        {
            int x0 = 1 + f % columns * (tileWidth + gap), y0 = 1 + f / columns * (tileHeight + label + gap);
            w.Open("g", ("class", "filter"), ("data-filter", $"{f}"), ("transform", $"translate({x0} {y0})"));
            for (int c = 0; c < k.InputChannels; c++)
            {
                int cx = c * (imageWidth + 3);
                for (int r = 0; r < k.Height; r++)
                for (int col = 0; col < k.Width; col++)
                    w.Empty("rect", ("x", $"{cx + col * pixel}"), ("y", $"{r * pixel}"), ("width", $"{pixel}"), ("height", $"{pixel}"), ("fill", Diverging(k[r, col, c, f] / scale)));
                w.Empty("rect", ("x", $"{cx}"), ("y", "0"), ("width", $"{imageWidth}"), ("height", $"{tileHeight}"), ("fill", "none"), ("stroke", "#9aa5b1"));
            }
            w.Element("text", $"{f}", ("x", Number(tileWidth / 2.0)), ("y", $"{tileHeight + 13}"), ("text-anchor", "middle"), ("font-size", "11"), ("fill", "#616e7c"));
            w.Close();
        }
        ColourLegend(w, 1, svgHeight - 36, scale);
        w.Close().Close(); // svg, section
    }

    /// <summary>The largest divisor of <paramref name="count"/> that fits in <paramref name="max"/> columns, unless it is under half of them.</summary>
    private static int Columns(int count, int max)
    {
        if (count <= max) return count;
        for (int c = max; c >= (max + 1) / 2; c--)
            if (count % c == 0) return c;
        return max;
    }

    private static void ColourLegend(MarkupWriter w, int x, int y, float scale)
    {
        const int steps = 21, swatch = 16;
        w.Open("g", ("class", "legend"), ("transform", $"translate({x} {y})"));
        w.Element("text", "weight", ("x", "0"), ("y", "12"), ("font-size", "12"));
        for (int i = 0; i < steps; i++)
            w.Empty("rect", ("x", $"{52 + i * swatch}"), ("y", "0"), ("width", $"{swatch}"), ("height", "16"), ("fill", Diverging(-1 + 2.0 * i / (steps - 1))));
        w.Empty("rect", ("x", "52"), ("y", "0"), ("width", $"{steps * swatch}"), ("height", "16"), ("fill", "none"), ("stroke", "#9aa5b1"));
        foreach (var (at, text) in new[] { (0, "-" + Number(scale, 3)), (steps / 2, "0"), (steps - 1, "+" + Number(scale, 3)) })
            w.Element("text", text, ("x", $"{52 + at * swatch + swatch / 2}"), ("y", "30"), ("text-anchor", "middle"), ("font-size", "12"));
        w.Close();
    }

    // (c) The confusion matrix: true classes down, predicted across, counts in the cells, colour by share of the row.
    private void WriteConfusion(MarkupWriter w)
    {
        var test = Test;
        int[,]? counts = test?.ConfusionMatrix();
        int total = test?.Labels.Length ?? 0, correct = 0;
        for (int i = 0; counts is not null && i < test!.Classes; i++) correct += counts[i, i];
        OpenSection(w, "confusion", "Confusion matrix", test is null ? null :
            $"Rows are the true classes and columns the predicted ones, so the diagonal counts the correct predictions and every other cell a kind of mistake. " +
            $"The colour shows the share of the row. {total.ToString("N0", CultureInfo.InvariantCulture)} test samples, {correct.ToString("N0", CultureInfo.InvariantCulture)} correct " +
            $"(accuracy {(total == 0 ? 0 : (double)correct / total).ToString("0.0000", CultureInfo.InvariantCulture)}).");
        if (test is null || counts is null)
        {
            Missing(w, "No test results were given.");
            w.Close();
            return;
        }
        int n = test.Classes, cell = n <= 10 ? 44 : Math.Max(16, 440 / n);
        int left = 86, top = 62, right = 80;
        int size = n * cell, svgWidth = left + size + right, svgHeight = top + size + 12;
        w.Open("svg", ("id", "confusion-matrix"), ("width", $"{svgWidth}"), ("height", $"{svgHeight}"), ("viewBox", $"0 0 {svgWidth} {svgHeight}"),
            ("role", "img"), ("aria-label", $"{n} by {n} confusion matrix"));
        w.Element("title", "Confusion matrix: true class by predicted class");
        w.Element("text", "predicted class", ("x", Number(left + size / 2.0)), ("y", "16"), ("text-anchor", "middle"), ("font-size", "13"), ("font-weight", "600"));
        w.Element("text", "true class", ("transform", $"translate(20 {Number(top + size / 2.0)}) rotate(-90)"), ("text-anchor", "middle"), ("font-size", "13"), ("font-weight", "600"));
        w.Element("text", "correct", ("x", $"{left + size + 40}"), ("y", $"{top - 10}"), ("text-anchor", "middle"), ("font-size", "12"), ("fill", "#616e7c"));
        int fontSize = Math.Clamp(cell / 3, 8, 14);
        for (int j = 0; j < n; j++)
            w.Element("text", test.ClassName(j), ("x", Number(left + (j + 0.5) * cell)), ("y", $"{top - 10}"), ("text-anchor", "middle"), ("font-size", $"{fontSize}"));
        for (int i = 0; i < n; i++)
        {
            int rowTotal = 0;
            for (int j = 0; j < n; j++) rowTotal += counts[i, j];
            double cy = top + (i + 0.5) * cell;
            w.Element("text", test.ClassName(i), ("x", $"{left - 10}"), ("y", Number(cy)), ("dy", "4"), ("text-anchor", "end"), ("font-size", $"{fontSize}"));
            for (int j = 0; j < n; j++)
            {
                double share = rowTotal == 0 ? 0 : (double)counts[i, j] / rowTotal, shade = Math.Sqrt(share);
                w.Empty("rect", ("class", "cell"), ("data-true", $"{i}"), ("data-predicted", $"{j}"), ("data-count", $"{counts[i, j]}"),
                    ("x", $"{left + j * cell}"), ("y", $"{top + i * cell}"), ("width", $"{cell}"), ("height", $"{cell}"),
                    ("fill", Blend((255, 255, 255), i == j ? (8, 81, 156) : (191, 54, 12), shade)), ("stroke", "#e4e7eb"));
                if (counts[i, j] > 0)
                    w.Element("text", $"{counts[i, j]}", ("x", Number(left + (j + 0.5) * cell)), ("y", Number(cy)), ("dy", $"{fontSize / 3}"), ("text-anchor", "middle"),
                        ("font-size", $"{(counts[i, j] >= 1000 ? fontSize - 1 : fontSize)}"), ("fill", shade > 0.6 ? "#fff" : "#1f2933"));
            }
            w.Element("text", rowTotal == 0 ? "–" : ((double)counts[i, i] / rowTotal).ToString("0.0%", CultureInfo.InvariantCulture),
                ("x", $"{left + size + 40}"), ("y", Number(cy)), ("dy", "4"), ("text-anchor", "middle"), ("font-size", "12"), ("fill", "#616e7c"));
        }
        w.Empty("rect", ("x", $"{left}"), ("y", $"{top}"), ("width", $"{size}"), ("height", $"{size}"), ("fill", "none"), ("stroke", "#7b8794"));
        w.Close().Close(); // svg, section
    }

    // (d) The first misclassified test samples, each drawn with its predicted and true labels.
    private void WriteMisclassified(MarkupWriter w)
    {
        var test = Test;
        var wrong = new List<int>();
        for (int i = 0; test is not null && i < test.Labels.Length; i++)
            if (test.Predicted[i] != test.Labels[i]) wrong.Add(i);
        int shown = Math.Min(wrong.Count, MaxMisclassified);
        OpenSection(w, "misclassified", "Misclassified test samples", test is null || wrong.Count == 0 ? null :
            $"{(shown == wrong.Count ? $"All {Plural(wrong.Count, "misclassified test sample")}" : $"The first {shown} of {wrong.Count} misclassified test samples")}, in test order: " +
            "what the model predicted in red, the true label in green, and the sample's index.");
        if (test is null) Missing(w, "No test results were given.");
        else if (wrong.Count == 0) Missing(w, "Every test sample was classified correctly.");
        else
        {
            w.Open("div", ("class", "digits"));
            for (int s = 0; s < shown; s++)
            {
                int i = wrong[s];
                string predicted = test.ClassName(test.Predicted[i]), truth = test.ClassName(test.Labels[i]);
                w.Open("figure", ("class", "digit"), ("data-index", $"{i}"), ("data-predicted", predicted), ("data-true", truth));
                if (test.HasImages) Image(w, test, i, $"test sample {i}: predicted {predicted}, true {truth}");
                w.Open("figcaption");
                w.Element("div", $"predicted {predicted}", ("class", "predicted"));
                w.Element("div", $"true {truth}", ("class", "true"));
                w.Element("div", $"#{i}", ("class", "index"));
                w.Close().Close(); // figcaption, figure
            }
            w.Close();
        }
        w.Close();
    }

    /// <summary>Sample <paramref name="index"/> as an SVG of one rect per run of equal pixels: grey as ink on white, or RGB.</summary>
    private static void Image(MarkupWriter w, TestResults test, int index, string title)
    {
        int h = test.ImageHeight, wd = test.ImageWidth, ch = test.ImageChannels, scale = Math.Max(1, 84 / Math.Max(h, wd));
        var pixels = test.Images.Span.Slice(index * test.ImageSize, test.ImageSize);
        w.Open("svg", ("width", $"{wd * scale}"), ("height", $"{h * scale}"), ("viewBox", $"0 0 {wd} {h}"), ("role", "img"), ("shape-rendering", "crispEdges"));
        w.Element("title", title);
        w.Empty("rect", ("width", $"{wd}"), ("height", $"{h}"), ("fill", "#fff"));
        for (int r = 0; r < h; r++)
        {
            int start = 0;
            string? runColour = null;
            for (int c = 0; c <= wd; c++)
            {
                string? colour = c == wd ? null : PixelColour(pixels.Slice((r * wd + c) * ch, ch));
                if (colour == runColour) continue;
                if (runColour is not null)
                    w.Empty("rect", ("x", $"{start}"), ("y", $"{r}"), ("width", $"{c - start}"), ("height", "1"), ("fill", runColour));
                (start, runColour) = (c, colour);
            }
        }
        w.Close();
    }

    /// <summary>The fill of one pixel, or null for white: grey is ink (1 = black) in 16 levels, RGB is taken as it is.</summary>
    private static string? PixelColour(ReadOnlySpan<float> pixel)
    {
        static int Byte(float v) => (int)Math.Round(Math.Clamp(float.IsFinite(v) ? v : 0, 0, 1) * 255);
        if (pixel.Length == 3)
        {
            var (r, g, b) = (Byte(pixel[0]), Byte(pixel[1]), Byte(pixel[2]));
            return r == 255 && g == 255 && b == 255 ? null : Hex(r, g, b);
        }
        int level = (Byte(pixel[0]) + 8) / 17; // 0..15
        if (level == 0) return null;
        int grey = 255 - level * 17;
        return Hex(grey, grey, grey);
    }

    /// <summary>A diverging palette: -1 is blue, 0 near-white, +1 red (ColorBrewer RdBu's ends).</summary>
    private static string Diverging(double t)
    {
        if (!double.IsFinite(t)) return "#000000";
        t = Math.Clamp(t, -1, 1);
        return t < 0 ? Blend((247, 247, 247), (33, 102, 172), -t) : Blend((247, 247, 247), (178, 24, 43), t);
    }

    private static string Blend((int R, int G, int B) from, (int R, int G, int B) to, double t)
        => Hex((int)Math.Round(from.R + (to.R - from.R) * t), (int)Math.Round(from.G + (to.G - from.G) * t), (int)Math.Round(from.B + (to.B - from.B) * t));

    private static string Hex(int r, int g, int b) => string.Create(CultureInfo.InvariantCulture, $"#{r:x2}{g:x2}{b:x2}");

    private static string Plural(int count, string noun) => string.Create(CultureInfo.InvariantCulture, $"{count:N0} {noun}{(count == 1 ? "" : "s")}");

    private static double Min(List<double> values)
    {
        double min = double.PositiveInfinity;
        foreach (double v in values) min = Math.Min(min, v);
        return min;
    }

    private static double Max(List<double> values)
    {
        double max = double.NegativeInfinity;
        foreach (double v in values) max = Math.Max(max, v);
        return max;
    }

    /// <summary>A linear axis with "nice" ticks (steps of 1, 2 or 5 times a power of ten) covering a range.</summary>
    private sealed class Axis
    {
        private Axis(double low, double high, double step)
        {
            (Low, High, Step) = (low, high, step);
            var ticks = new List<double>();
            for (int i = 0; Low + i * step <= High + step * 1e-6; i++) ticks.Add(Math.Round(Low + i * step, 10));
            Ticks = ticks;
        }

        public double Low { get; }
        public double High { get; }
        public double Step { get; }
        public IReadOnlyList<double> Ticks { get; }

        /// <summary>Where <paramref name="value"/> lies on the axis, from 0 at <see cref="Low"/> to 1 at <see cref="High"/>.</summary>
        public double Scale(double value) => (value - Low) / (High - Low);

        public string Label(double value)
        {
            int decimals = Step >= 1 ? 0 : (int)Math.Ceiling(-Math.Log10(Step) - 1e-9);
            return value.ToString("F" + Math.Min(decimals, 6).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        }

        public static Axis Nice(double low, double high, int targetTicks, bool integral, (double Low, double High)? clampTo)
        {
            if (!(high > low)) (low, high) = (low - 0.5, high + 0.5);
            double raw = (high - low) / targetTicks, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw))), normalized = raw / magnitude;
            double step = (normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10) * magnitude;
            if (integral) step = Math.Max(1, Math.Round(step));
            double start = Math.Floor(low / step + 1e-9) * step, end = Math.Ceiling(high / step - 1e-9) * step;
            if (clampTo is { } c) (start, end) = (Math.Max(start, c.Low), Math.Min(end, c.High));
            if (!(end > start)) end = start + step;
            return new Axis(start, end, step);
        }
    }
}
