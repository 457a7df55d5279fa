using System;

namespace ConvGen.Testing;

/// <summary>
/// A depthwise convolution's configuration for <see cref="ReferenceDepthwise"/>: a <c>KH</c> x <c>KW</c> window, <c>C</c> input
/// channels with <c>M</c> filters each.
/// </summary>
public sealed record DepthwiseConfig(int KH, int KW, int C, int M, int SH, int SW, int DH, int DW, bool Same, bool UseBias)
{
    /// <summary>The output size and the leading padding: a window's geometry is a convolution's (<see cref="ConvConfig.Geometry"/>).</summary>
    public (int OutH, int OutW, int PadTop, int PadLeft) Geometry(int h, int w) => new ConvConfig(KH, KW, C, M, SH, SW, DH, DW, Same, UseBias).Geometry(h, w);

    public override string ToString() => $"[DepthwiseConv2D({KH}, {KW}, InputChannels = {C}, DepthMultiplier = {M}, Stride = {SH}x{SW}, Dilation = {DH}x{DW}, {(Same ? "Same" : "Valid")}{(UseBias ? "" : ", no bias")})]";
}

/// <summary>
/// The independent reference of Keras' DepthwiseConv2D: plain nested loops in double precision, output channel <c>c * M + m</c>
/// from input channel <c>c</c> and weights <c>[kh, kw, c, m]</c>. Shares no code with the generator or the runtime.
/// </summary>
public static class ReferenceDepthwise
{
    public static double[] Forward(DepthwiseConfig k, double[] x, int n, int h, int w, double[] weights, double[] bias)
    {
        var (oh, ow, pt, pl) = k.Geometry(h, w);
        int channels = k.C * k.M;
        var y = new double[n * oh * ow * channels];
        for (int b = 0; b < n; b++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        for (int c = 0; c < k.C; c++)
        for (int m = 0; m < k.M; m++)
        {
            double s = bias.Length > 0 ? bias[c * k.M + m] : 0; // a bias given to a layer without one is added too
            for (int p = 0; p < k.KH; p++)
            for (int q = 0; q < k.KW; q++)
            {
                int r = i * k.SH - pt + p * k.DH, t = j * k.SW - pl + q * k.DW;
                if (r < 0 || r >= h || t < 0 || t >= w) continue;
                s += x[((b * h + r) * w + t) * k.C + c] * weights[((p * k.KW + q) * k.C + c) * k.M + m];
            }
            y[((b * oh + i) * ow + j) * channels + c * k.M + m] = s;
        }
        return y;
    }

    /// <summary>Gradients of sum(y * g) with respect to x, weights and bias (the bias's whether or not the layer has one).</summary>
    public static (double[] dx, double[] dw, double[] db) Backward(DepthwiseConfig k, double[] x, int n, int h, int w, double[] weights, double[] g)
    {
        var (oh, ow, pt, pl) = k.Geometry(h, w);
        int channels = k.C * k.M;
        var dx = new double[x.Length];
        var dw = new double[weights.Length];
        var db = new double[channels];
        for (int b = 0; b < n; b++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        for (int c = 0; c < k.C; c++)
        for (int m = 0; m < k.M; m++)
        {
            double gv = g[((b * oh + i) * ow + j) * channels + c * k.M + m];
            db[c * k.M + m] += gv;
            for (int p = 0; p < k.KH; p++)
            for (int q = 0; q < k.KW; q++)
            {
                int r = i * k.SH - pt + p * k.DH, t = j * k.SW - pl + q * k.DW;
                if (r < 0 || r >= h || t < 0 || t >= w) continue;
                int xi = ((b * h + r) * w + t) * k.C + c, wi = ((p * k.KW + q) * k.C + c) * k.M + m;
                dx[xi] += gv * weights[wi];
                dw[wi] += gv * x[xi];
            }
        }
        return (dx, dw, db);
    }
}
