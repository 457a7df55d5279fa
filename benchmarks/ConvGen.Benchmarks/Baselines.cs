using System;
using ConvGen;

namespace ConvGen.Benchmarks;

/// <summary>The tutorial's corr2d generalized to channels, filters, stride and 'same' padding: plain scalar loops.</summary>
public static class ScalarConv
{
    public static void Forward(ConvShape s, float[] x, int n0, int n1, float[] k, float[] b, float[] y)
    {
        for (int n = n0; n < n1; n++)
        for (int oh = 0; oh < s.OH; oh++)
        for (int ow = 0; ow < s.OW; ow++)
        for (int f = 0; f < s.F; f++)
        {
            float sum = b[f];
            for (int kh = 0; kh < s.K; kh++)
            for (int kw = 0; kw < s.K; kw++)
            {
                int ih = oh * s.Stride - s.PadTop + kh, iw = ow * s.Stride - s.PadLeft + kw;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                for (int c = 0; c < s.C; c++)
                    sum += x[((n * s.H + ih) * s.W + iw) * s.C + c] * k[((kh * s.K + kw) * s.C + c) * s.F + f];
            }
            y[((n * s.OH + oh) * s.OW + ow) * s.F + f] = sum;
        }
    }

    public static void Weights(ConvShape s, float[] x, int n0, int n1, float[] g, float[] dk)
    {
        for (int n = n0; n < n1; n++)
        for (int oh = 0; oh < s.OH; oh++)
        for (int ow = 0; ow < s.OW; ow++)
        for (int kh = 0; kh < s.K; kh++)
        for (int kw = 0; kw < s.K; kw++)
        {
            int ih = oh * s.Stride - s.PadTop + kh, iw = ow * s.Stride - s.PadLeft + kw;
            if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
            for (int c = 0; c < s.C; c++)
            {
                float xv = x[((n * s.H + ih) * s.W + iw) * s.C + c];
                for (int f = 0; f < s.F; f++)
                    dk[((kh * s.K + kw) * s.C + c) * s.F + f] += xv * g[((n * s.OH + oh) * s.OW + ow) * s.F + f];
            }
        }
    }

    public static void Input(ConvShape s, int n0, int n1, float[] k, float[] g, float[] dx)
    {
        for (int n = n0; n < n1; n++)
        for (int oh = 0; oh < s.OH; oh++)
        for (int ow = 0; ow < s.OW; ow++)
        for (int kh = 0; kh < s.K; kh++)
        for (int kw = 0; kw < s.K; kw++)
        {
            int ih = oh * s.Stride - s.PadTop + kh, iw = ow * s.Stride - s.PadLeft + kw;
            if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
            for (int c = 0; c < s.C; c++)
            {
                float sum = 0;
                for (int f = 0; f < s.F; f++)
                    sum += g[((n * s.OH + oh) * s.OW + ow) * s.F + f] * k[((kh * s.K + kw) * s.C + c) * s.F + f];
                dx[((n * s.H + ih) * s.W + iw) * s.C + c] += sum;
            }
        }
    }
}

/// <summary>
/// The classic alternative: unfold every window into a row of a matrix (im2col), then one vectorized matrix product
/// (the runtime's blocked GEMM); col2im folds the input gradient back.
/// </summary>
public sealed class Im2colConv(ConvShape s)
{
    private readonly int _kdim = s.K * s.K * s.C;

    /// <summary>Scratch: [batch * OH * OW, KH * KW * C].</summary>
    public float[] Columns { get; } = new float[s.Batch * s.OH * s.OW * s.K * s.K * s.C];

    public void Unfold(float[] x, int n0, int n1)
    {
        for (int n = n0; n < n1; n++)
        for (int oh = 0; oh < s.OH; oh++)
        for (int ow = 0; ow < s.OW; ow++)
        {
            var row = Columns.AsSpan(((n * s.OH + oh) * s.OW + ow) * _kdim, _kdim);
            for (int kh = 0; kh < s.K; kh++)
            for (int kw = 0; kw < s.K; kw++)
            {
                int ih = oh * s.Stride - s.PadTop + kh, iw = ow * s.Stride - s.PadLeft + kw;
                var dst = row.Slice((kh * s.K + kw) * s.C, s.C);
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) dst.Clear();
                else x.AsSpan(((n * s.H + ih) * s.W + iw) * s.C, s.C).CopyTo(dst);
            }
        }
    }

    public void Forward(float[] x, int n0, int n1, float[] k, float[] b, float[] y)
    {
        Unfold(x, n0, n1);
        int rows = (n1 - n0) * s.OH * s.OW, first = n0 * s.OH * s.OW;
        var yy = y.AsSpan(first * s.F, rows * s.F);
        for (int r = 0; r < rows; r++) b.AsSpan().CopyTo(yy.Slice(r * s.F, s.F));
        Gemm.AddAB(rows, s.F, _kdim, Columns.AsSpan(first * _kdim, rows * _kdim), _kdim, k, s.F, yy, s.F);
    }

    public void Weights(float[] x, int n0, int n1, float[] g, float[] dk)
    {
        Unfold(x, n0, n1);
        int rows = (n1 - n0) * s.OH * s.OW, first = n0 * s.OH * s.OW;
        Gemm.AddAtB(_kdim, s.F, rows, Columns.AsSpan(first * _kdim, rows * _kdim), _kdim, g.AsSpan(first * s.F, rows * s.F), s.F, dk, s.F);
    }

    public void Input(int n0, int n1, float[] k, float[] g, float[] dx)
    {
        int rows = (n1 - n0) * s.OH * s.OW, first = n0 * s.OH * s.OW;
        var cols = Columns.AsSpan(first * _kdim, rows * _kdim);
        cols.Clear();
        Gemm.AddABt(rows, _kdim, s.F, g.AsSpan(first * s.F, rows * s.F), s.F, k, s.F, cols, _kdim);
        // col2im: add every window row back into the input positions it came from.
        for (int n = n0; n < n1; n++)
        for (int oh = 0; oh < s.OH; oh++)
        for (int ow = 0; ow < s.OW; ow++)
        {
            var row = Columns.AsSpan(((n * s.OH + oh) * s.OW + ow) * _kdim, _kdim);
            for (int kh = 0; kh < s.K; kh++)
            for (int kw = 0; kw < s.K; kw++)
            {
                int ih = oh * s.Stride - s.PadTop + kh, iw = ow * s.Stride - s.PadLeft + kw;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                var src = row.Slice((kh * s.K + kw) * s.C, s.C);
                var dst = dx.AsSpan(((n * s.H + ih) * s.W + iw) * s.C, s.C);
                for (int c = 0; c < s.C; c++) dst[c] += src[c];
            }
        }
    }
}
