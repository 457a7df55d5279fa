using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace ConvGen.Reporting;

/// <summary>
/// A one-file HTML report of a training run, for looking at rather than reading: loss and accuracy curves, the first
/// layer's filters as small images, the confusion matrix, and a row of misclassified test samples.
/// </summary>
/// <remarks>
/// <para>The page is self-contained: inline SVG and an inline style sheet, no scripts, no fonts, no links or other
/// external references, so it can be mailed, archived or opened offline. It is also well-formed XML (every element
/// closed, all text escaped), so tools can parse it.</para>
/// <para>Each part is a <c>section</c> with a fixed id: <c>history</c>, <c>filters</c>, <c>confusion</c> and
/// <c>misclassified</c>. A part whose data was not given still appears, saying so.</para>
/// <para>The report only takes plain data (numbers, arrays and labels), so it works with any model.</para>
/// </remarks>
/// <example>
/// <code>
/// var report = new TrainingReport
/// {
///     Title = "MNIST",
///     History = HistoryPoint.FromEpochs(model.Fit(images, labels, epochs: 3, batchSize: 50)),
///     FirstLayerKernel = new KernelWeights(kernel, 5, 5, 1, 32),
///     Test = new TestResults(TestResults.ArgMax(model.Predict(testImages).Span, 10), testLabels, 10)
///     { Images = testImages.Storage.Buffer, ImageHeight = 28, ImageWidth = 28 },
/// };
/// string path = report.Save("report.html");
/// </code>
/// </example>
public sealed partial class TrainingReport
{
    /// <summary>The page's title and main heading.</summary>
    public string Title { get; init; } = "Training report";

    /// <summary>Facts shown under the title, in order, such as the model, the run's settings and the test accuracy.</summary>
    public IReadOnlyList<(string Label, string Value)> Summary { get; init; } = [];

    /// <summary>The training history, in order of <see cref="HistoryPoint.Step"/>.</summary>
    public IReadOnlyList<HistoryPoint> History { get; init; } = [];

    /// <summary>What <see cref="HistoryPoint.Step"/> counts: the x axis title, e.g. <c>epoch</c> or <c>training step</c>.</summary>
    public string HistoryAxis { get; init; } = "epoch";

    /// <summary>A sentence under the curves saying how the points were measured, or null.</summary>
    public string? HistoryNote { get; init; }

    /// <summary>The first convolution's weights, drawn as one small image per filter; or null.</summary>
    public KernelWeights? FirstLayerKernel { get; init; }

    /// <summary>Predictions and labels on test data (and optionally its images); or null.</summary>
    public TestResults? Test { get; init; }

    /// <summary>At most this many misclassified samples are drawn, the first ones in test order (default 20: two rows on a wide page).</summary>
    public int MaxMisclassified { get; init; } = 20;

    /// <summary>The page as HTML5 that is also well-formed XML.</summary>
    /// <exception cref="ArgumentException">The kernel or the test results are inconsistent (wrong lengths, labels out of range).</exception>
    public string ToHtml()
    {
        FirstLayerKernel?.Validate();
        Test?.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(MaxMisclassified, nameof(MaxMisclassified));

        var w = new MarkupWriter();
        w.Raw("<!DOCTYPE html>\n");
        w.Open("html", ("lang", "en"));
        w.Open("head");
        w.Empty("meta", ("charset", "utf-8"));
        w.Empty("meta", ("name", "viewport"), ("content", "width=device-width, initial-scale=1"));
        w.Element("title", Title);
        w.Open("style").Raw(StyleSheet).Close();
        w.Close(); // head

        w.Open("body").Open("main");
        w.Open("header").Element("h1", Title);
        if (Summary.Count > 0)
        {
            w.Open("dl", ("class", "summary"));
            foreach (var (label, value) in Summary) w.Element("dt", label).Element("dd", value);
            w.Close();
        }
        w.Close(); // header

        WriteHistory(w);
        WriteFilters(w);
        WriteConfusion(w);
        WriteMisclassified(w);

        w.Element("footer", "Written by ConvGen's TrainingReport: one self-contained file (inline SVG, no scripts, no external files).");
        w.Close().Close().Close(); // main, body, html
        return w.Raw("\n").ToString();
    }

    /// <summary>
    /// Writes the page to <paramref name="path"/> (creating its folder if needed) and returns the full path. The page goes
    /// to a temporary file beside it first and is then renamed over <paramref name="path"/>, so a reader never sees half a page.
    /// </summary>
    public string Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string html = ToHtml();
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temporary = $"{full}.tmp-{Guid.NewGuid():N}";
        try
        {
            File.WriteAllText(temporary, html, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
        return full;
    }

    private static void OpenSection(MarkupWriter w, string id, string heading, string? lead)
    {
        w.Open("section", ("id", id)).Element("h2", heading);
        if (lead is not null) w.Element("p", lead, ("class", "lead"));
    }

    private static void Missing(MarkupWriter w, string what) => w.Element("p", what, ("class", "missing"));

    private const string StyleSheet = """

        :root { color-scheme: light; }
        body { margin: 0; background: #f3f4f6; color: #1f2933; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
        main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 40px; }
        header h1 { margin: 0 0 10px; font-size: 26px; }
        dl.summary { display: grid; grid-template-columns: max-content auto; gap: 2px 18px; margin: 0 0 8px; }
        dl.summary dt { color: #616e7c; }
        dl.summary dd { margin: 0; font-weight: 600; }
        section { background: #fff; border: 1px solid #e4e7eb; border-radius: 8px; padding: 16px 20px 18px; margin: 18px 0; }
        h2 { margin: 0 0 4px; font-size: 19px; }
        p.lead { margin: 0 0 12px; color: #52606d; max-width: 900px; }
        p.missing { color: #9aa5b1; font-style: italic; }
        .charts { display: flex; flex-wrap: wrap; gap: 12px 24px; }
        figure { margin: 0; }
        svg { fill: #323f4b; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
        .digits { display: flex; flex-wrap: wrap; gap: 14px 12px; }
        .digit { width: 96px; text-align: center; font-size: 13px; }
        .digit svg { display: block; margin: 0 auto 4px; border: 1px solid #cbd2d9; }
        .digit .predicted { color: #c62828; font-weight: 700; }
        .digit .true { color: #2e7d32; }
        .digit .index { color: #9aa5b1; font-size: 11px; }
        footer { color: #9aa5b1; font-size: 12px; text-align: center; }

        """;
}
