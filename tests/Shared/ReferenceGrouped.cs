using System;

namespace ConvGen.Testing;

/// <summary>
/// A grouped convolution's configuration for <see cref="ReferenceGrouped"/>: a <c>KH</c> x <c>KW</c> window, <c>C</c> input channels
/// and <c>F</c> filters split into <c>G</c> groups (Keras' Conv2D <c>groups</c>), weights <c>[KH, KW, C/G, F]</c>.
/// </summary>
public sealed record GroupedConfig(int KH, int KW, int C, int F, int G, int SH, int SW, int DH, int DW, bool Same, bool UseBias)
{
    /// <summary>Input channels per group.</summary>
    public int GroupChannels => C / G;

    /// <summary>Filters per group.</summary>
    public int GroupFilters => F / G;

    /// <summary>Weights: <c>KH * KW * (C/G) * F</c>.</summary>
    public int WeightCount => KH * KW * GroupChannels * F;

    /// <summary>The output size and the leading padding: a window's geometry is a convolution's (<see cref="ConvConfig.Geometry"/>).</summary>
    public (int OutH, int OutW, int PadTop, int PadLeft) Geometry(int h, int w) => new ConvConfig(KH, KW, C, F, SH, SW, DH, DW, Same, UseBias).Geometry(h, w);

    public override string ToString() => $"[Conv2D({KH}, {KW}, InputChannels = {C}, Filters = {F}, Groups = {G}, Stride = {SH}x{SW}, Dilation = {DH}x{DW}, {(Same ? "Same" : "Valid")}{(UseBias ? "" : ", no bias")})]";
}

/// <summary>
/// The independent reference of a grouped convolution, written from its definition as plain nested loops in double precision:
/// output channel f, in group g = f / (F/G), is bias[f] plus the sum over the taps and the group's channels ci &lt; C/G of
/// x[.., g * (C/G) + ci] * w[kh, kw, ci, f]. Shares no code with the generator or the runtime.
/// </summary>
public static class ReferenceGrouped
{
    public static double[] Forward(GroupedConfig k, double[] x, int n, int h, int w, double[] weights, double[] bias)
    {
        var (oh, ow, pt, pl) = k.Geometry(h, w);
        int cg = k.GroupChannels, fg = k.GroupFilters;
        var y = new double[n * oh * ow * k.F];
        for (int b = 0; b < n; b++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        for (int f = 0; f < k.F; f++)
        {
            int g = f / fg;
            double s = bias.Length > 0 ? bias[f] : 0; // a bias given to a layer without one is added too
            for (int p = 0; p < k.KH; p++)
            for (int q = 0; q < k.KW; q++)
            {
                int r = i * k.SH - pt + p * k.DH, t = j * k.SW - pl + q * k.DW;
                if (r < 0 || r >= h || t < 0 || t >= w) continue;
                for (int ci = 0; ci < cg; ci++)
                    s += x[((b * h + r) * w + t) * k.C + g * cg + ci] * weights[((p * k.KW + q) * cg + ci) * k.F + f];
            }
            y[((b * oh + i) * ow + j) * k.F + f] = s;
        }
        return y;
    }

    /// <summary>Gradients of sum(y * g) with respect to x, weights and bias (the bias's whether or not the layer has one).</summary>
    public static (double[] dx, double[] dw, double[] db) Backward(GroupedConfig k, double[] x, int n, int h, int w, double[] weights, double[] dy)
    {
        var (oh, ow, pt, pl) = k.Geometry(h, w);
        int cg = k.GroupChannels, fg = k.GroupFilters;
        var dx = new double[x.Length];
        var dw = new double[weights.Length];
        var db = new double[k.F];
        for (int b = 0; b < n; b++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        for (int f = 0; f < k.F; f++)
        {
            int g = f / fg;
            double gv = dy[((b * oh + i) * ow + j) * k.F + f];
            db[f] += gv;
            for (int p = 0; p < k.KH; p++)
            for (int q = 0; q < k.KW; q++)
            {
                int r = i * k.SH - pt + p * k.DH, t = j * k.SW - pl + q * k.DW;
                if (r < 0 || r >= h || t < 0 || t >= w) continue;
                for (int ci = 0; ci < cg; ci++)
                {
                    int xi = ((b * h + r) * w + t) * k.C + g * cg + ci, wi = ((p * k.KW + q) * cg + ci) * k.F + f;
                    dx[xi] += gv * weights[wi];
                    dw[wi] += gv * x[xi];
                }
            }
        }
        return (dx, dw, db);
    }

    /// <summary>
    /// The dense HWIO kernel <c>[KH, KW, C, F]</c> equivalent to a grouped one: block-diagonal over the groups, zero where a filter
    /// does not read a channel. A dense convolution with it is the grouped convolution (a cross-check of this reference).
    /// </summary>
    public static double[] BlockDiagonal(GroupedConfig k, double[] weights)
    {
        int cg = k.GroupChannels, fg = k.GroupFilters;
        var dense = new double[k.KH * k.KW * k.C * k.F];
        for (int tap = 0; tap < k.KH * k.KW; tap++)
        for (int ci = 0; ci < cg; ci++)
        for (int f = 0; f < k.F; f++)
            dense[(tap * k.C + f / fg * cg + ci) * k.F + f] = weights[(tap * cg + ci) * k.F + f];
        return dense;
    }
}
