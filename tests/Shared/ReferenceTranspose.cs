using System;

namespace ConvGen.Testing;

/// <summary>
/// A transposed convolution's configuration for <see cref="ReferenceTranspose"/>: a <c>KH</c> x <c>KW</c> window, <c>C</c> input
/// channels, <c>F</c> filters, weights <c>[KH, KW, F, C]</c> (Keras' Conv2DTranspose kernel).
/// </summary>
public sealed record TransposeConfig(int KH, int KW, int C, int F, int SH, int SW, int DH, int DW, bool Same, bool UseBias)
{
    /// <summary>
    /// Keras' output size (keras/src/backend/common/backend_utils.py, <c>_get_output_shape_given_tf_padding</c> without
    /// output_padding): <c>in * s</c> for Same, <c>(in - 1) * s + max(extent, s)</c> for Valid; and the rows/columns cropped before,
    /// TF's 'same' padding of the convolution on the output size: <c>max((in - 1) * s + extent - out, 0) / 2</c>.
    /// </summary>
    public (int OutH, int OutW, int PadTop, int PadLeft) Geometry(int h, int w)
    {
        int eh = (KH - 1) * DH + 1, ew = (KW - 1) * DW + 1;
        int oh = Same ? h * SH : (h - 1) * SH + Math.Max(eh, SH);
        int ow = Same ? w * SW : (w - 1) * SW + Math.Max(ew, SW);
        if (!Same) return (oh, ow, 0, 0);
        return (oh, ow, Math.Max((h - 1) * SH + eh - oh, 0) / 2, Math.Max((w - 1) * SW + ew - ow, 0) / 2);
    }

    /// <summary>The convolution whose input gradient this is: <c>F</c> channels in, <c>C</c> filters, HWIO <c>[KH, KW, F, C]</c>, run on the output size.</summary>
    public ConvConfig Convolution => new(KH, KW, F, C, SH, SW, DH, DW, Same, UseBias: false);

    public override string ToString() => $"[Conv2DTranspose({KH}, {KW}, Filters = {F}, InputChannels = {C}, Stride = {SH}x{SW}, Dilation = {DH}x{DW}, {(Same ? "Same" : "Valid")}{(UseBias ? "" : ", no bias")})]";
}

/// <summary>
/// The independent reference of Keras' Conv2DTranspose: plain scatter loops in double precision straight from the definition,
/// every input pixel (ih, iw) times tap (kh, kw) added to output pixel (ih*sh - padTop + kh*dh, iw*sw - padLeft + kw*dw) when that
/// pixel exists. Shares no code with the generator or the runtime.
/// </summary>
public static class ReferenceTranspose
{
    public static double[] Forward(TransposeConfig k, double[] x, int n, int h, int w, double[] weights, double[] bias)
    {
        var (oh, ow, pt, pl) = k.Geometry(h, w);
        var y = new double[n * oh * ow * k.F];
        for (int b = 0; b < n; b++)
        for (int r = 0; r < oh; r++)
        for (int t = 0; t < ow; t++)
        for (int f = 0; f < k.F; f++)
            y[((b * oh + r) * ow + t) * k.F + f] = k.UseBias ? bias[f] : 0;
        for (int b = 0; b < n; b++)
        for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++)
        for (int p = 0; p < k.KH; p++)
        for (int q = 0; q < k.KW; q++)
        {
            int r = i * k.SH - pt + p * k.DH, t = j * k.SW - pl + q * k.DW;
            if (r < 0 || r >= oh || t < 0 || t >= ow) continue;
            for (int f = 0; f < k.F; f++)
            for (int c = 0; c < k.C; c++)
                y[((b * oh + r) * ow + t) * k.F + f] += x[((b * h + i) * w + j) * k.C + c] * weights[((p * k.KW + q) * k.F + f) * k.C + c];
        }
        return y;
    }

    /// <summary>Gradients of sum(y * g) with respect to x, weights and bias (the bias's whether or not the layer has one).</summary>
    public static (double[] dx, double[] dw, double[] db) Backward(TransposeConfig k, double[] x, int n, int h, int w, double[] weights, double[] g)
    {
        var (oh, ow, pt, pl) = k.Geometry(h, w);
        var dx = new double[x.Length];
        var dw = new double[weights.Length];
        var db = new double[k.F];
        for (int b = 0; b < n; b++)
        for (int r = 0; r < oh; r++)
        for (int t = 0; t < ow; t++)
        for (int f = 0; f < k.F; f++)
            db[f] += g[((b * oh + r) * ow + t) * k.F + f];
        for (int b = 0; b < n; b++)
        for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++)
        for (int p = 0; p < k.KH; p++)
        for (int q = 0; q < k.KW; q++)
        {
            int r = i * k.SH - pt + p * k.DH, t = j * k.SW - pl + q * k.DW;
            if (r < 0 || r >= oh || t < 0 || t >= ow) continue;
            for (int f = 0; f < k.F; f++)
            for (int c = 0; c < k.C; c++)
            {
                int xi = ((b * h + i) * w + j) * k.C + c, wi = ((p * k.KW + q) * k.F + f) * k.C + c;
                double gv = g[((b * oh + r) * ow + t) * k.F + f];
                dx[xi] += gv * weights[wi];
                dw[wi] += gv * x[xi];
            }
        }
        return (dx, dw, db);
    }
}
