using System;
using System.Globalization;
using System.IO;

namespace ConvGen;

/// <summary>
/// Training progress: on a terminal, one line per epoch redrawn in place with a bar, loss, accuracy, images/s and ETA;
/// when output is redirected (a log, CI), a plain line every tenth of the epoch and one at its end.
/// </summary>
internal sealed class ProgressReporter(TextWriter? output, int steps, string unit = "Epoch")
{
    private readonly bool _live = output is not null && ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
    private int _total, _lastPlainStep;
    private long _lastDraw;

    public void StartEpoch(int epoch, int epochs)
    {
        (_total, _lastPlainStep) = (epochs, 0);
        output?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{unit} {epoch}/{epochs}"));
    }

    /// <summary>Reports step <paramref name="step"/> of the epoch, with running loss and accuracy and the time spent so far.</summary>
    public void Step(int step, float loss, float accuracy, long images, double seconds)
    {
        if (output is null) return;
        double imagesPerSecond = seconds > 0 ? images / seconds : 0;
        if (_live)
        {
            long now = Environment.TickCount64;
            if (step != steps && now - _lastDraw < 100) return; // redraw at most 10 times a second
            _lastDraw = now;
            const int width = 30;
            int done = (int)((long)width * step / steps);
            string bar = step == steps ? new string('=', width) : new string('=', done) + ">" + new string('.', width - done - 1);
            double eta = seconds / step * (steps - step);
            output.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r{step,6}/{steps} [{bar}] loss {loss:F4} - accuracy {accuracy:F4} - {imagesPerSecond,6:F0} images/s - ETA {FormatTime(eta)}  "));
            if (step == steps) output.WriteLine();
        }
        else if (step == steps || step - _lastPlainStep >= Math.Max(steps / 10, 1))
        {
            _lastPlainStep = step;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  step {step}/{steps}: loss {loss:F4}, accuracy {accuracy:F4}, {imagesPerSecond:F0} images/s"));
        }
    }

    public void EndEpoch(EpochResult r)
    {
        if (output is null) return;
        string validation = float.IsNaN(r.ValidationLoss) ? "" : string.Create(CultureInfo.InvariantCulture, $", val_loss {r.ValidationLoss:F4}, val_accuracy {r.ValidationAccuracy:F4}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{unit} {r.Epoch}/{_total}: loss {r.Loss:F4}, accuracy {r.Accuracy:F4}{validation}, {r.ImagesPerSecond:F0} images/s, {r.Seconds:F1} s"));
    }

    private static string FormatTime(double seconds)
    {
        var t = TimeSpan.FromSeconds(double.IsFinite(seconds) ? Math.Max(0, seconds) : 0);
        return t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
    }
}
