using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Xml;
using System.Xml.Linq;
using ConvGen.Reporting;
using Xunit;

namespace ConvGen.Runtime.Tests.Reporting;

public sealed class TrainingReportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("convgen-report-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // A run like the MNIST sample's: 10 classes, 28x28 grey images, a 5x5x1x32 kernel, 10 history points.
    private const int Samples = 60, Classes = 10, Side = 28;

    private static (int[] Predicted, int[] Labels) Synthetic()
    {
        // Labels cycle through the classes; every 7th sample is predicted as the next class.
        var labels = Enumerable.Range(0, Samples).Select(i => i % Classes).ToArray();
        var predicted = labels.Select((l, i) => i % 7 == 3 ? (l + 1) % Classes : l).ToArray();
        return (predicted, labels);
    }

    private static float[] Images(int count, int side, int channels = 1)
    {
        var random = new Random(5);
        return Enumerable.Range(0, count * side * side * channels).Select(_ => random.NextSingle() < 0.8f ? 0f : random.NextSingle()).ToArray();
    }

    private static TrainingReport FullReport(int maxMisclassified = 20)
    {
        var (predicted, labels) = Synthetic();
        var random = new Random(1);
        return new TrainingReport
        {
            Title = "MNIST run",
            Summary = [("model", "tiny CNN"), ("test accuracy", "0.9000")],
            History = Enumerable.Range(1, 10).Select(i => new HistoryPoint(i * 100, 1f / i, 1 - 0.5f / i, 1.2f / i, 1 - 0.6f / i)).ToArray(),
            HistoryAxis = "training step",
            HistoryNote = "Each point covers 100 steps.",
            FirstLayerKernel = new KernelWeights(Enumerable.Range(0, 5 * 5 * 32).Select(_ => random.NextSingle() - 0.5f).ToArray(), 5, 5, 1, 32),
            Test = new TestResults(predicted, labels, Classes) { Images = Images(Samples, Side), ImageHeight = Side, ImageWidth = Side },
            MaxMisclassified = maxMisclassified,
        };
    }

    private static XDocument Parse(string html)
    {
        using var reader = XmlReader.Create(new StringReader(html), new XmlReaderSettings { DtdProcessing = DtdProcessing.Parse });
        return XDocument.Load(reader);
    }

    private static XElement Section(XDocument page, string id) => page.Descendants("section").Single(s => (string?)s.Attribute("id") == id);

    private static IEnumerable<XElement> WithClass(XElement root, string name, string cssClass)
        => root.Descendants(name).Where(e => ((string?)e.Attribute("class"))?.Split(' ').Contains(cssClass) == true);

    [Fact]
    public void The_page_is_well_formed_xml_with_every_section_in_order()
    {
        var page = Parse(FullReport().ToHtml());
        Assert.Equal("html", page.Root!.Name.LocalName);
        Assert.Equal("MNIST run", page.Root.Element("head")!.Element("title")!.Value);
        Assert.Equal(["history", "filters", "confusion", "misclassified"], page.Descendants("section").Select(s => (string?)s.Attribute("id")));
        var summary = page.Descendants("dl").Single();
        Assert.Equal(["model", "test accuracy"], summary.Elements("dt").Select(e => e.Value));
        Assert.Equal(["tiny CNN", "0.9000"], summary.Elements("dd").Select(e => e.Value));
        Assert.StartsWith("<!DOCTYPE html>\n<html lang=\"en\">", FullReport().ToHtml(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_page_has_no_external_references_scripts_or_links()
    {
        string html = FullReport().ToHtml();
        var page = Parse(html);
        Assert.DoesNotContain(page.Descendants(), e => e.Name.LocalName is "script" or "link" or "img" or "iframe" or "object" or "a" or "use" or "image");
        Assert.DoesNotContain(page.Descendants().Attributes(), a => a.Name.LocalName is "href" or "src" or "srcset" or "xmlns" or "style");
        foreach (string forbidden in new[] { "http:", "https:", "url(", "@import", "file:" })
            Assert.DoesNotContain(forbidden, html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_history_draws_a_loss_and_an_accuracy_chart_with_training_and_validation_series()
    {
        var page = Parse(FullReport().ToHtml());
        var history = Section(page, "history");
        Assert.Contains("Each point covers 100 steps.", history.Element("p")!.Value, StringComparison.Ordinal);
        foreach (string id in new[] { "chart-loss", "chart-accuracy" })
        {
            var chart = history.Descendants("svg").Single(s => (string?)s.Attribute("id") == id);
            Assert.Contains(chart.Descendants("text"), t => t.Value == "training step");
            foreach (string series in new[] { "training", "validation" })
            {
                var line = WithClass(chart, "polyline", series).Single();
                Assert.Equal(10, ((string)line.Attribute("points")!).Split(' ').Length);
            }
            Assert.Equal(20, chart.Descendants("circle").Count());
        }
        var lossChart = history.Descendants("svg").First();
        Assert.Contains(lossChart.Descendants("text"), t => t.Value == "loss");
    }

    [Fact]
    public void A_history_without_validation_draws_only_the_training_series_and_skips_non_finite_values()
    {
        var report = new TrainingReport
        {
            History = [new HistoryPoint(1, 0.5f, 0.8f), new HistoryPoint(2, float.NaN, 0.85f), new HistoryPoint(3, 0.2f, 0.9f)],
        };
        var chart = Section(Parse(report.ToHtml()), "history").Descendants("svg").First();
        Assert.Empty(WithClass(chart, "polyline", "validation"));
        Assert.Equal(2, ((string)WithClass(chart, "polyline", "training").Single().Attribute("points")!).Split(' ').Length);
        Assert.Contains(chart.Descendants("text"), t => t.Value == "epoch");
        // Integral epochs get integral ticks.
        Assert.DoesNotContain(chart.Descendants("text"), t => t.Value.Contains('.', StringComparison.Ordinal) && double.TryParse(t.Value, CultureInfo.InvariantCulture, out double v) && v > 1);
    }

    [Fact]
    public void Each_filter_is_one_small_image_of_its_weights()
    {
        var report = FullReport();
        var filters = Section(Parse(report.ToHtml()), "filters");
        var tiles = WithClass(filters, "g", "filter").ToList();
        Assert.Equal(32, tiles.Count);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => i.ToString(CultureInfo.InvariantCulture)), tiles.Select(t => (string?)t.Attribute("data-filter")));
        foreach (var tile in tiles) Assert.Equal(5 * 5 + 1, tile.Elements("rect").Count()); // 25 weights and a frame
        Assert.Contains("32 filters", filters.Element("p")!.Value, StringComparison.Ordinal);
        // The legend spans minus to plus the largest weight.
        float scale = report.FirstLayerKernel!.Weights.Max(Math.Abs);
        var legend = WithClass(filters, "g", "legend").Single();
        Assert.Contains(legend.Elements("text"), t => t.Value == "+" + Math.Round(scale, 3).ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Filter_colours_are_red_for_positive_blue_for_negative_and_white_for_zero()
    {
        // HWIO [1, 3, 1, 1]: -1, 0, +1.
        var report = new TrainingReport { FirstLayerKernel = new KernelWeights([-1f, 0f, 1f], 1, 3, 1, 1) };
        var fills = WithClass(Section(Parse(report.ToHtml()), "filters"), "g", "filter").Single().Elements("rect").Take(3).Select(r => (string?)r.Attribute("fill"));
        Assert.Equal(["#2166ac", "#f7f7f7", "#b2182b"], fills);
    }

    [Fact]
    public void Multi_channel_filters_show_one_image_per_input_channel()
    {
        var report = new TrainingReport { FirstLayerKernel = new KernelWeights(new float[3 * 3 * 3 * 4], 3, 3, 3, 4) };
        var tiles = WithClass(Section(Parse(report.ToHtml()), "filters"), "g", "filter").ToList();
        Assert.Equal(4, tiles.Count);
        foreach (var tile in tiles) Assert.Equal(3 * (3 * 3 + 1), tile.Elements("rect").Count());
    }

    [Fact]
    public void The_confusion_matrix_counts_true_classes_by_predicted_classes()
    {
        var report = FullReport();
        var (predicted, labels) = Synthetic();
        var confusion = Section(Parse(report.ToHtml()), "confusion");
        var cells = WithClass(confusion, "rect", "cell").ToList();
        Assert.Equal(Classes * Classes, cells.Count);
        var expected = new int[Classes, Classes];
        for (int i = 0; i < Samples; i++) expected[labels[i], predicted[i]]++;
        foreach (var cell in cells)
        {
            int t = (int)cell.Attribute("data-true")!, p = (int)cell.Attribute("data-predicted")!;
            Assert.Equal(expected[t, p], (int)cell.Attribute("data-count")!);
        }
        Assert.Equal(Samples, cells.Sum(c => (int)c.Attribute("data-count")!));
        int correct = Enumerable.Range(0, Classes).Sum(i => expected[i, i]);
        Assert.Contains($"{Samples} test samples, {correct} correct", confusion.Element("p")!.Value, StringComparison.Ordinal);
        // Each non-zero count is printed in its cell.
        var numbers = confusion.Descendants("text").Select(t => t.Value).ToList();
        Assert.Equal(expected.Cast<int>().Count(c => c > 0), numbers.Count(v => int.TryParse(v, out _)) - Classes * 2);
    }

    [Fact]
    public void ConfusionMatrix_and_ArgMax_compute_what_they_say()
    {
        int[] predicted = TestResults.ArgMax([0.1f, 0.9f, 0f, /**/ 5f, -1f, 4f, /**/ 0f, 0f, 1f, /**/ 2f, 2f, 1f], 3);
        Assert.Equal([1, 0, 2, 0], predicted); // ties go to the first
        var matrix = new TestResults(predicted, [1, 2, 2, 0], 3).ConfusionMatrix();
        Assert.Equal(new[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 1, 0, 1 } }, matrix);
        Assert.Throws<ArgumentException>(() => TestResults.ArgMax([1f, 2f, 3f], 2));
    }

    [Fact]
    public void Misclassified_samples_are_drawn_in_test_order_with_predicted_and_true_labels()
    {
        var (predicted, labels) = Synthetic();
        var wrong = Enumerable.Range(0, Samples).Where(i => predicted[i] != labels[i]).ToList();
        var section = Section(Parse(FullReport(maxMisclassified: 5).ToHtml()), "misclassified");
        var digits = WithClass(section, "figure", "digit").ToList();
        Assert.Equal(5, digits.Count);
        for (int s = 0; s < digits.Count; s++)
        {
            int i = wrong[s];
            Assert.Equal(i, (int)digits[s].Attribute("data-index")!);
            Assert.Equal($"predicted {predicted[i]}", WithClass(digits[s], "div", "predicted").Single().Value);
            Assert.Equal($"true {labels[i]}", WithClass(digits[s], "div", "true").Single().Value);
            var image = digits[s].Element("svg")!;
            Assert.Equal($"0 0 {Side} {Side}", (string?)image.Attribute("viewBox"));
            Assert.True(image.Elements("rect").Count() > 1, "the image draws its ink");
        }
        Assert.Contains($"The first 5 of {wrong.Count} misclassified", section.Element("p")!.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void A_grey_image_is_drawn_as_ink_on_white_with_runs_of_equal_pixels_merged()
    {
        // One 1x4 image: white, black, black, mid-grey. Predicted 1, true 0.
        var report = new TrainingReport { Test = new TestResults([1], [0], 2) { Images = new float[] { 0f, 1f, 1f, 0.5f }, ImageHeight = 1, ImageWidth = 4 } };
        var rects = Section(Parse(report.ToHtml()), "misclassified").Descendants("svg").Single().Elements("rect").ToList();
        Assert.Equal(3, rects.Count); // the white background, one run of black, one grey pixel
        Assert.Equal(("1", "2", "#000000"), ((string)rects[1].Attribute("x")!, (string)rects[1].Attribute("width")!, (string)rects[1].Attribute("fill")!));
        Assert.Equal(("3", "1", "#777777"), ((string)rects[2].Attribute("x")!, (string)rects[2].Attribute("width")!, (string)rects[2].Attribute("fill")!));
    }

    [Fact]
    public void Class_names_and_rgb_images_are_supported()
    {
        var report = new TrainingReport
        {
            Test = new TestResults([1, 0], [0, 0], 2) { ClassNames = ["cat", "dog <3"], Images = new float[] { 1, 0, 0, 0, 1, 0 }, ImageHeight = 1, ImageWidth = 1, ImageChannels = 3 },
        };
        var page = Parse(report.ToHtml());
        var digit = WithClass(Section(page, "misclassified"), "figure", "digit").Single();
        Assert.Equal("predicted dog <3", WithClass(digit, "div", "predicted").Single().Value);
        Assert.Equal("#ff0000", (string?)digit.Descendants("rect").Last().Attribute("fill"));
        Assert.Contains(Section(page, "confusion").Descendants("text"), t => t.Value == "cat");
    }

    [Fact]
    public void Sections_without_data_still_appear_and_say_so()
    {
        var page = Parse(new TrainingReport().ToHtml());
        foreach (string id in new[] { "history", "filters", "confusion", "misclassified" })
            Assert.Single(WithClass(Section(page, id), "p", "missing"));
        var perfect = new TrainingReport { Test = new TestResults([0, 1], [0, 1], 2) };
        Assert.Equal("Every test sample was classified correctly.", WithClass(Section(Parse(perfect.ToHtml()), "misclassified"), "p", "missing").Single().Value);
    }

    [Fact]
    public void Text_is_escaped()
    {
        const string hostile = "<script>alert('x')</script> & \"quotes\" \u0001";
        var report = new TrainingReport
        {
            Title = hostile,
            Summary = [(hostile, hostile)],
            HistoryAxis = hostile,
            History = [new HistoryPoint(1, 1, 0.5f)],
        };
        string html = report.ToHtml();
        var page = Parse(html);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        Assert.Empty(page.Descendants("script"));
        Assert.Equal("<script>alert('x')</script> & \"quotes\" ", page.Descendants("h1").Single().Value);
    }

    [Fact]
    public void Numbers_are_written_the_same_in_every_culture()
    {
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            string german = FullReport().ToHtml();
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
            Assert.Equal(FullReport().ToHtml(), german);
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void Inconsistent_data_is_rejected_with_the_offending_member_named()
    {
        Assert.Equal("Weights", Assert.Throws<ArgumentException>(() => new TrainingReport { FirstLayerKernel = new KernelWeights(new float[24], 5, 5, 1, 1) }.ToHtml()).ParamName);
        Assert.Equal("Predicted", Assert.Throws<ArgumentException>(() => new TrainingReport { Test = new TestResults([0], [0, 1], 2) }.ToHtml()).ParamName);
        Assert.Equal("Labels", Assert.Throws<ArgumentException>(() => new TrainingReport { Test = new TestResults([0], [2], 2) }.ToHtml()).ParamName);
        Assert.Equal("Images", Assert.Throws<ArgumentException>(() => new TrainingReport { Test = new TestResults([0], [1], 2) { Images = new float[3], ImageHeight = 2, ImageWidth = 2 } }.ToHtml()).ParamName);
        Assert.Equal("ClassNames", Assert.Throws<ArgumentException>(() => new TrainingReport { Test = new TestResults([0], [1], 2) { ClassNames = ["a"] } }.ToHtml()).ParamName);
    }

    [Fact]
    public void Save_writes_atomically_creates_the_folder_and_returns_the_full_path()
    {
        string path = Path.Combine(_dir, "nested", "report.html");
        string written = FullReport().Save(path);
        Assert.Equal(Path.GetFullPath(path), written);
        Parse(File.ReadAllText(written));
        File.WriteAllText(written, "old");
        new TrainingReport { Title = "second" }.Save(path);
        Assert.Equal("second", Parse(File.ReadAllText(path)).Descendants("h1").Single().Value);
        Assert.Equal(["report.html"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
        Assert.Throws<ArgumentException>(() => FullReport().Save(""));
    }

    [Fact]
    public void FromEpochs_keeps_every_figure()
    {
        var points = HistoryPoint.FromEpochs([new EpochResult(1, 0.5f, 0.8f, 0.4f, 0.85f, 100, 2), new EpochResult(2, 0.3f, 0.9f, float.NaN, float.NaN, 100, 2)]);
        Assert.Equal(new HistoryPoint(1, 0.5f, 0.8f, 0.4f, 0.85f), points[0]);
        Assert.Equal(2, points[1].Step);
        Assert.True(float.IsNaN(points[1].ValidationAccuracy));
    }
}
