using System;
using System.Collections.Generic;
using System.Linq;
using ConvGen.Testing;

namespace ConvGen.Tests.Models;

/// <summary>
/// <see cref="ResidualNet"/> written out as plain loops in double precision (its convolutions by <see cref="ReferenceConv"/>),
/// sharing no code with the generator or the runtime:
/// <c>a = relu(conv(x)); u = relu(conv(a)); r = relu(conv(u) + a); y = dense(flatten(maxpool2(r)))</c>, 3x3 'same'
/// convolutions of 16 filters on 28x28. <see cref="Gradients"/> is its backward pass, written out too.
/// </summary>
internal sealed class ResidualReference(double[][] parameters)
{
    public const int H = 28, W = 28, F = 16, P = 14, Classes = 10;

    // Parameters in the network's order: stem kernel, bias; conv kernel, bias; conv_1 kernel, bias; dense kernel, bias.
    private double[] Ks => parameters[0];
    private double[] Bs => parameters[1];
    private double[] K1 => parameters[2];
    private double[] B1 => parameters[3];
    private double[] K2 => parameters[4];
    private double[] B2 => parameters[5];
    private double[] Wd => parameters[6];
    private double[] Bd => parameters[7];

    public double[][] Parameters => parameters;

    /// <summary>Every intermediate of one forward pass over one sample.</summary>
    public sealed record Trace(double[] X, double[] S, double[] A, double[] T, double[] U, double[] V, double[] Z, double[] R, double[] Pooled, int[] Argmax, double[] Y);

    public Trace Forward(double[] x)
    {
        var s = Conv(x, 1, Ks, Bs);
        var a = s.Select(Relu).ToArray();
        var t = Conv(a, F, K1, B1);
        var u = t.Select(Relu).ToArray();
        var v = Conv(u, F, K2, B2);
        var z = v.Zip(a, (p, q) => p + q).ToArray();
        var r = z.Select(Relu).ToArray();
        var pooled = new double[P * P * F];
        var argmax = new int[P * P * F];
        for (int i = 0; i < P; i++)
        for (int j = 0; j < P; j++)
        for (int f = 0; f < F; f++)
        {
            int best = -1;
            for (int di = 0; di < 2; di++)
            for (int dj = 0; dj < 2; dj++)
            {
                int at = ((2 * i + di) * W + 2 * j + dj) * F + f;
                if (best < 0 || r[at] > r[best]) best = at; // the first maximum in row-major order
            }
            pooled[(i * P + j) * F + f] = r[best];
            argmax[(i * P + j) * F + f] = best;
        }
        var y = new double[Classes];
        for (int k = 0; k < Classes; k++)
        {
            double sum = Bd[k];
            for (int i = 0; i < pooled.Length; i++) sum += pooled[i] * Wd[i * Classes + k];
            y[k] = sum;
        }
        return new Trace(x, s, a, t, u, v, z, r, pooled, argmax, y);
    }

    /// <summary>The gradients of <c>Σ g·y</c> with respect to the input and every parameter (in the network's order).</summary>
    public (double[] Input, double[][] Parameters) Gradients(Trace t, double[] g)
    {
        var d = parameters.Select(p => new double[p.Length]).ToArray();
        var dPooled = new double[t.Pooled.Length];
        for (int k = 0; k < Classes; k++)
        {
            d[7][k] += g[k];
            for (int i = 0; i < t.Pooled.Length; i++)
            {
                d[6][i * Classes + k] += t.Pooled[i] * g[k];
                dPooled[i] += Wd[i * Classes + k] * g[k];
            }
        }
        var dz = new double[t.Z.Length];
        for (int i = 0; i < dPooled.Length; i++)
            if (t.Z[t.Argmax[i]] > 0) dz[t.Argmax[i]] += dPooled[i];
        // z = v + a: both get dz.
        var du = ConvBackward(t.U, F, K2, dz, d[4], d[5]);
        var dt = du.Zip(t.T, (grad, pre) => pre > 0 ? grad : 0).ToArray();
        var da = ConvBackward(t.A, F, K1, dt, d[2], d[3]);
        for (int i = 0; i < da.Length; i++) da[i] += dz[i];
        var ds = da.Zip(t.S, (grad, pre) => pre > 0 ? grad : 0).ToArray();
        var dx = ConvBackward(t.X, 1, Ks, ds, d[0], d[1]);
        return (dx, d);
    }

    /// <summary>The smallest distance of any ReLU input from 0 and of any pool window's top two values: where float and double may disagree.</summary>
    public static double KinkMargin(Trace t)
    {
        double margin = double.MaxValue;
        foreach (var pre in new[] { t.S, t.T, t.Z })
            foreach (double v in pre) margin = Math.Min(margin, Math.Abs(v));
        for (int i = 0; i < P; i++)
        for (int j = 0; j < P; j++)
        for (int f = 0; f < F; f++)
        {
            var window = new List<double>();
            for (int di = 0; di < 2; di++)
            for (int dj = 0; dj < 2; dj++) window.Add(t.R[((2 * i + di) * W + 2 * j + dj) * F + f]);
            window.Sort();
            if (window[3] > 0) margin = Math.Min(margin, window[3] - window[2]);
        }
        return margin;
    }

    private static double Relu(double v) => v > 0 ? v : 0;

    /// <summary>A 3x3 'same' cross-correlation of a 28x28xC image into 16 filters, by the shared loop reference.</summary>
    private static double[] Conv(double[] x, int c, double[] k, double[] b) => ReferenceConv.Forward(Config(c), x, 1, H, W, k, b);

    /// <summary>Writes the kernel and bias gradients of <see cref="Conv"/> into <paramref name="dk"/> and <paramref name="db"/>; returns the input gradient.</summary>
    private static double[] ConvBackward(double[] x, int c, double[] k, double[] dy, double[] dk, double[] db)
    {
        var (dx, dw, dBias) = ReferenceConv.Backward(Config(c), x, 1, H, W, k, dy);
        dw.CopyTo(dk, 0);
        dBias.CopyTo(db, 0);
        return dx;
    }

    private static ConvConfig Config(int channels) => new(3, 3, channels, F, 1, 1, 1, 1, Same: true, UseBias: true);
}
