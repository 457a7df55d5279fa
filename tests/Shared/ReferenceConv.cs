using System;

namespace ConvGen.Testing;

/// <summary>
/// The independent reference: the textbook cross-correlation written as plain nested loops in double precision,
/// with TF 'same' padding computed from its definition. Shares no code with the generator or the runtime.
/// </summary>
public sealed record ConvConfig(int KH, int KW, int C, int F, int SH, int SW, int DH, int DW, bool Same, bool UseBias)
{
    public (int OutH, int OutW, int PadTop, int PadLeft) Geometry(int h, int w)
    {
        int eh = (KH - 1) * DH + 1, ew = (KW - 1) * DW + 1;
        if (!Same) return ((h - eh) / SH + 1, (w - ew) / SW + 1, 0, 0);
        int oh = (int)Math.Ceiling(h / (double)SH), ow = (int)Math.Ceiling(w / (double)SW);
        int padH = Math.Max((oh - 1) * SH + eh - h, 0), padW = Math.Max((ow - 1) * SW + ew - w, 0);
        return (oh, ow, padH / 2, padW / 2);
    }
}

public static class ReferenceConv
{
    /// <summary>The cross-correlation in double precision, rounded to float.</summary>
    public static float[] Forward(ConvConfig k, float[] x, int n, int h, int w, float[] weights, float[] bias)
        => ToFloat(Forward(k, ToDouble(x), n, h, w, ToDouble(weights), ToDouble(bias)));

    /// <summary>Gradients of sum(y * g) with respect to x, weights and bias, in double precision, rounded to float.</summary>
    public static (float[] dx, float[] dw, float[] db) Backward(ConvConfig k, float[] x, int n, int h, int w, float[] weights, float[] g)
    {
        var (dx, dw, db) = Backward(k, ToDouble(x), n, h, w, ToDouble(weights), ToDouble(g));
        return (ToFloat(dx), ToFloat(dw), k.UseBias ? ToFloat(db) : []);
    }

    /// <summary>
    /// The cross-correlation of an NHWC batch with HWIO weights, every value in double precision, plus the bias unless it is empty
    /// (a bias given to a layer without one is added too: a folded BatchNormalization's).
    /// </summary>
    public static double[] Forward(ConvConfig k, double[] x, int n, int h, int w, double[] weights, double[] bias)
    {
        var (oh, ow, pt, pl) = k.Geometry(h, w);
        var y = new double[n * oh * ow * k.F];
        for (int b = 0; b < n; b++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        for (int f = 0; f < k.F; f++)
        {
            double s = bias.Length > 0 ? bias[f] : 0;
            for (int p = 0; p < k.KH; p++)
            for (int q = 0; q < k.KW; q++)
            {
                int r = i * k.SH - pt + p * k.DH, t = j * k.SW - pl + q * k.DW;
                if (r < 0 || r >= h || t < 0 || t >= w) continue;
                for (int c = 0; c < k.C; c++)
                    s += x[((b * h + r) * w + t) * k.C + c] * weights[((p * k.KW + q) * k.C + c) * k.F + f];
            }
            y[((b * oh + i) * ow + j) * k.F + f] = s;
        }
        return y;
    }

    /// <summary>Gradients of sum(y * g) with respect to x, weights and bias (the bias's whether or not the layer has one).</summary>
    public static (double[] dx, double[] dw, double[] db) Backward(ConvConfig k, double[] x, int n, int h, int w, double[] weights, double[] g)
    {
        var (oh, ow, pt, pl) = k.Geometry(h, w);
        var dx = new double[x.Length];
        var dw = new double[weights.Length];
        var db = new double[k.F];
        for (int b = 0; b < n; b++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        for (int f = 0; f < k.F; f++)
        {
            double gv = g[((b * oh + i) * ow + j) * k.F + f];
            db[f] += gv;
            for (int p = 0; p < k.KH; p++)
            for (int q = 0; q < k.KW; q++)
            {
                int r = i * k.SH - pt + p * k.DH, t = j * k.SW - pl + q * k.DW;
                if (r < 0 || r >= h || t < 0 || t >= w) continue;
                for (int c = 0; c < k.C; c++)
                {
                    int xi = ((b * h + r) * w + t) * k.C + c, wi = ((p * k.KW + q) * k.C + c) * k.F + f;
                    dx[xi] += gv * weights[wi];
                    dw[wi] += gv * x[xi];
                }
            }
        }
        return (dx, dw, db);
    }

    private static double[] ToDouble(float[] values) => Array.ConvertAll(values, v => (double)v);

    private static float[] ToFloat(double[] values) => Array.ConvertAll(values, v => (float)v);
}
