using System;
using System.Numerics;
using System.Numerics.Tensors;

namespace ConvGen;

/// <summary>Element-wise activation kernels shared by layers.</summary>
internal static class Activations
{
    /// <summary>Keras 3's default <c>negative_slope</c> of <c>activations.leaky_relu</c>, which <see cref="Activation.LeakyReLU"/> uses.</summary>
    public const float LeakyReluSlope = 0.2f;

    /// <summary>Keras' default <c>alpha</c> of <c>activations.elu</c>, which <see cref="Activation.ELU"/> uses.</summary>
    public const float EluAlpha = 1f;

    /// <summary>Whether <paramref name="activation"/>'s backward needs the pre-activation <c>x</c>, which a layer then keeps (<see cref="NodeContext.Kept"/>).</summary>
    public static bool NeedsPreActivation(Activation activation) => activation is Activation.SiLU or Activation.GELU;

    /// <summary>
    /// <c>y = f(x)</c> for an <see cref="Activation"/>; <paramref name="y"/> may be <paramref name="x"/> itself (in place). Softmax
    /// works on rows of <paramref name="lastAxis"/> values, so the span must hold whole rows.
    /// </summary>
    public static void Forward(Activation activation, ReadOnlySpan<float> x, Span<float> y, int lastAxis)
    {
        switch (activation)
        {
            case Activation.None: x.CopyTo(y); break;
            case Activation.ReLU: TensorPrimitives.Max(x, 0f, y); break;
            case Activation.ReLU6: TensorPrimitives.Clamp(x, 0f, 6f, y); break;
            case Activation.LeakyReLU: LeakyReluForward(x, y, LeakyReluSlope); break;
            case Activation.ELU: EluForward(x, y, EluAlpha); break;
            case Activation.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case Activation.Tanh: TensorPrimitives.Tanh(x, y); break;
            case Activation.Softmax:
                for (int r = 0; r < x.Length; r += lastAxis) SoftmaxRow(x.Slice(r, lastAxis), y.Slice(r, lastAxis));
                break;
            case Activation.SiLU: SiluForward(x, y); break;
            case Activation.GELU: GeluForward(x, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    /// <summary>
    /// <c>dy *= f'</c> in place for an <see cref="Activation"/>, from the output <paramref name="y"/> or, for SiLU and GELU
    /// (<see cref="NeedsPreActivation"/>), the pre-activation <paramref name="preActivation"/> (unused otherwise). Softmax works
    /// on rows of <paramref name="lastAxis"/> values.
    /// </summary>
    public static void Backward(Activation activation, ReadOnlySpan<float> preActivation, ReadOnlySpan<float> y, Span<float> dy, int lastAxis)
    {
        switch (activation)
        {
            case Activation.None: break;
            case Activation.ReLU: ReluMask(y, dy); break;
            case Activation.ReLU6: Relu6Mask(y, dy); break;
            case Activation.LeakyReLU: LeakyReluBackward(y, dy, LeakyReluSlope); break;
            case Activation.ELU: EluBackward(y, dy, EluAlpha); break;
            case Activation.Sigmoid: SigmoidBackward(y, dy, dy); break;
            case Activation.Tanh: TanhBackward(y, dy, dy); break;
            case Activation.Softmax:
                for (int r = 0; r < y.Length; r += lastAxis) SoftmaxBackwardRow(y.Slice(r, lastAxis), dy.Slice(r, lastAxis), dy.Slice(r, lastAxis));
                break;
            case Activation.SiLU: SiluBackward(preActivation, y, dy); break;
            case Activation.GELU: GeluBackward(preActivation, dy); break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    /// <summary>
    /// A producing layer's fused activation on elements <c>[offset, offset + length)</c> of its output, in place, right after
    /// its kernel wrote them; for SiLU and GELU, when a backward may follow, the pre-activation is first copied to the same
    /// elements of <see cref="NodeContext.Kept"/>. The range must hold whole rows of the last axis (for Softmax).
    /// </summary>
    public static void ApplyFused(in NodeContext c, Activation activation, int offset, int length)
    {
        if (activation == Activation.None || length <= 0) return;
        var y = c.Output.Slice(offset, length);
        int lastAxis = c.OutputShape[c.OutputShape.Rank - 1];
        if (NeedsPreActivation(activation) && c.KeepActivations)
        {
            var kept = c.Kept.Slice(offset, length);
            y.CopyTo(kept);
            Forward(activation, kept, y, lastAxis);
        }
        else
        {
            Forward(activation, y, y, lastAxis);
        }
    }

    /// <summary>
    /// A producing layer's fused activation's backward on elements <c>[offset, offset + length)</c> of its output gradient, in
    /// place, before its kernels read it; nothing when the consumer already applied it (<see cref="NodeContext.OutputGradientMasked"/>).
    /// </summary>
    public static void BackwardFused(in NodeContext c, Activation activation, int offset, int length)
    {
        if (activation == Activation.None || c.OutputGradientMasked || length <= 0) return;
        var pre = NeedsPreActivation(activation) ? c.Kept.Slice(offset, length) : default;
        Backward(activation, pre, c.Output.Slice(offset, length), c.OutputGradient.Slice(offset, length), c.OutputShape[c.OutputShape.Rank - 1]);
    }

    public static void ReluInPlace(Span<float> values) => TensorPrimitives.Max(values, 0f, values);

    /// <summary>ReLU6's backward in place: the gradient passes where <c>0 &lt; y &lt; 6</c>.</summary>
    public static void Relu6Mask(ReadOnlySpan<float> output, Span<float> gradient)
    {
        for (int i = 0; i < gradient.Length; i++) if (!(output[i] > 0f && output[i] < 6f)) gradient[i] = 0f;
    }

    /// <summary>Leaky ReLU: <c>y = x</c> where <c>x &gt; 0</c>, else <c>slope · x</c> (in place allowed).</summary>
    public static void LeakyReluForward(ReadOnlySpan<float> x, Span<float> y, float slope)
    {
        for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0f ? x[i] : slope * x[i];
    }

    /// <summary>
    /// Leaky ReLU's backward in place, from the output: for a slope above 0 the output has the input's sign, and at slope 0 it is
    /// ReLU's rule: <c>dy *= slope</c> where <c>y ≤ 0</c>.
    /// </summary>
    public static void LeakyReluBackward(ReadOnlySpan<float> output, Span<float> gradient, float slope)
    {
        for (int i = 0; i < gradient.Length; i++) if (!(output[i] > 0f)) gradient[i] *= slope;
    }

    /// <summary>ELU: <c>y = x</c> where <c>x &gt; 0</c>, else <c>alpha · (exp(x) − 1)</c> (in place allowed).</summary>
    public static void EluForward(ReadOnlySpan<float> x, Span<float> y, float alpha)
    {
        for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0f ? x[i] : alpha * (MathF.Exp(x[i]) - 1f);
    }

    /// <summary>ELU's backward in place, from the output: <c>dy *= y + alpha</c> where <c>y ≤ 0</c>.</summary>
    public static void EluBackward(ReadOnlySpan<float> output, Span<float> gradient, float alpha)
    {
        for (int i = 0; i < gradient.Length; i++) if (!(output[i] > 0f)) gradient[i] *= output[i] + alpha;
    }

    /// <summary>The ReLU's backward in place: <c>gradient[i] = output[i] &gt; 0 ? gradient[i] : 0</c>.</summary>
    public static void ReluMask(ReadOnlySpan<float> output, Span<float> gradient)
    {
        int vc = Vector<float>.Count, i = 0;
        for (; i + vc <= gradient.Length; i += vc)
        {
            var keep = Vector.GreaterThan(new Vector<float>(output.Slice(i, vc)), Vector<float>.Zero);
            Vector.ConditionalSelect(keep, new Vector<float>(gradient.Slice(i, vc)), Vector<float>.Zero).CopyTo(gradient.Slice(i, vc));
        }
        for (; i < gradient.Length; i++)
            if (!(output[i] > 0f)) gradient[i] = 0f;
    }

    /// <summary>An input gradient: <paramref name="gradient"/> written into <paramref name="destination"/>, or added to it when <paramref name="accumulate"/>.</summary>
    public static void Route(ReadOnlySpan<float> gradient, Span<float> destination, bool accumulate)
    {
        if (accumulate) TensorPrimitives.Add(destination, gradient, destination);
        else gradient.CopyTo(destination);
    }

    /// <summary><c>dx = dy * y * (1 - y)</c> for <c>y = sigmoid(x)</c>.</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        int vc = Vector<float>.Count, i = 0;
        for (; i + vc <= output.Length; i += vc)
        {
            var y = new Vector<float>(output.Slice(i, vc));
            (new Vector<float>(dOutput.Slice(i, vc)) * y * (Vector<float>.One - y)).CopyTo(dInput.Slice(i, vc));
        }
        for (; i < output.Length; i++) dInput[i] = dOutput[i] * output[i] * (1f - output[i]);
    }

    /// <summary><c>dx = dy * (1 - y²)</c> for <c>y = tanh(x)</c>.</summary>
    public static void TanhBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        int vc = Vector<float>.Count, i = 0;
        for (; i + vc <= output.Length; i += vc)
        {
            var y = new Vector<float>(output.Slice(i, vc));
            (new Vector<float>(dOutput.Slice(i, vc)) * (Vector<float>.One - y * y)).CopyTo(dInput.Slice(i, vc));
        }
        for (; i < output.Length; i++) dInput[i] = dOutput[i] * (1f - output[i] * output[i]);
    }

    /// <summary>Numerically stable softmax of one row: <c>y = exp(x - max x) / Σ exp(x - max x)</c>.</summary>
    public static void SoftmaxRow(ReadOnlySpan<float> input, Span<float> output)
    {
        float max = TensorPrimitives.Max(input);
        TensorPrimitives.Subtract(input, max, output);
        TensorPrimitives.Exp(output, output);
        float sum = TensorPrimitives.Sum(output);
        TensorPrimitives.Divide(output, sum, output);
    }

    /// <summary>Softmax backward for one row: <c>dx = y * (dy - Σ dy·y)</c>.</summary>
    public static void SoftmaxBackwardRow(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        float dot = TensorPrimitives.Dot(output, dOutput);
        TensorPrimitives.Subtract(dOutput, dot, dInput);
        TensorPrimitives.Multiply(dInput, output, dInput);
    }

    // ------------------------------------------------------------------ sigmoid gates: SiLU and GELU's tanh form

    /// <summary>Floats of stack scratch the gate backward passes recompute <c>sigmoid</c> into, a chunk at a time.</summary>
    private const int GateChunk = 256;

    /// <summary>GELU's tanh form as a sigmoid gate: <c>0.5·(1 + tanh(z)) = sigmoid(2z)</c>, <c>2z = x·(GeluLinear + GeluCubic·x²)</c>.</summary>
    private const float GeluLinear = 1.5957691216057308f; // 2·sqrt(2/π)

    private const float GeluCubic = (float)(1.5957691216057308 * 0.044715);

    /// <summary>SiLU (swish): <c>y = x · sigmoid(x)</c>, the sigmoid a chunk at a time in stack scratch (so in place is allowed).</summary>
    public static void SiluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        Span<float> s = stackalloc float[GateChunk];
        for (int start = 0; start < x.Length; start += GateChunk)
        {
            int n = Math.Min(GateChunk, x.Length - start);
            var xc = x.Slice(start, n);
            TensorPrimitives.Sigmoid(xc, s[..n]);
            TensorPrimitives.Multiply(xc, s[..n], y.Slice(start, n));
        }
    }

    /// <summary>SiLU's backward in place: <c>dy *= s + y·(1 − s)</c>, the derivative <c>s + x·s·(1 − s)</c> with <c>s = sigmoid(x)</c> and <c>y = x·s</c>.</summary>
    public static void SiluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dy)
    {
        Span<float> s = stackalloc float[GateChunk];
        int vc = Vector<float>.Count;
        for (int start = 0; start < x.Length; start += GateChunk)
        {
            int n = Math.Min(GateChunk, x.Length - start), i = 0;
            TensorPrimitives.Sigmoid(x.Slice(start, n), s);
            var yc = y.Slice(start, n);
            var dc = dy.Slice(start, n);
            for (; i + vc <= n; i += vc)
            {
                var g = new Vector<float>(s.Slice(i, vc));
                var slope = g + new Vector<float>(yc.Slice(i, vc)) * (Vector<float>.One - g);
                (new Vector<float>(dc.Slice(i, vc)) * slope).CopyTo(dc.Slice(i, vc));
            }
            for (; i < n; i++) dc[i] *= s[i] + yc[i] * (1f - s[i]);
        }
    }

    /// <summary>
    /// GELU's tanh approximation, <c>y = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))</c>, computed as the same function
    /// <c>x · sigmoid(x·(2·sqrt(2/π) + 2·sqrt(2/π)·0.044715·x²))</c>, which does not cancel in <c>1 + tanh</c> for negative <c>x</c>.
    /// </summary>
    public static void GeluTanhForward(ReadOnlySpan<float> x, Span<float> y)
    {
        int vc = Vector<float>.Count, i = 0;
        for (; i + vc <= x.Length; i += vc)
        {
            var v = new Vector<float>(x.Slice(i, vc));
            (v * (new Vector<float>(GeluLinear) + new Vector<float>(GeluCubic) * v * v)).CopyTo(y.Slice(i, vc));
        }
        for (; i < x.Length; i++) y[i] = x[i] * (GeluLinear + GeluCubic * x[i] * x[i]);
        TensorPrimitives.Sigmoid(y, y);
        TensorPrimitives.Multiply(x, y, y);
    }

    /// <summary>
    /// The tanh-form GELU's backward in place: <c>dy *= s + x·s·(1 − s)·t'(x)</c> for <c>s = sigmoid(t(x))</c>,
    /// <c>t(x) = x·(a + b·x²)</c>, <c>t'(x) = a + 3b·x²</c>; where <c>s·(1 − s)</c> is 0 the second term is 0 (also when
    /// <c>x·t'(x)</c> overflows).
    /// </summary>
    public static void GeluTanhBackward(ReadOnlySpan<float> x, Span<float> dy)
    {
        Span<float> s = stackalloc float[GateChunk];
        int vc = Vector<float>.Count;
        var a = new Vector<float>(GeluLinear);
        var b = new Vector<float>(GeluCubic);
        var b3 = new Vector<float>(3f * GeluCubic);
        for (int start = 0; start < x.Length; start += GateChunk)
        {
            int n = Math.Min(GateChunk, x.Length - start), i = 0;
            var xc = x.Slice(start, n);
            var dc = dy.Slice(start, n);
            for (; i + vc <= n; i += vc)
            {
                var v = new Vector<float>(xc.Slice(i, vc));
                (v * (a + b * v * v)).CopyTo(s.Slice(i, vc));
            }
            for (; i < n; i++) s[i] = xc[i] * (GeluLinear + GeluCubic * xc[i] * xc[i]);
            TensorPrimitives.Sigmoid(s[..n], s);
            for (i = 0; i + vc <= n; i += vc)
            {
                var v = new Vector<float>(xc.Slice(i, vc));
                var g = new Vector<float>(s.Slice(i, vc));
                var spread = g * (Vector<float>.One - g);
                var second = Vector.ConditionalSelect(Vector.Equals(spread, Vector<float>.Zero), Vector<float>.Zero, spread * (v * (a + b3 * v * v)));
                (new Vector<float>(dc.Slice(i, vc)) * (g + second)).CopyTo(dc.Slice(i, vc));
            }
            for (; i < n; i++)
            {
                float spread = s[i] * (1f - s[i]);
                dc[i] *= s[i] + (spread == 0f ? 0f : spread * (xc[i] * (GeluLinear + 3f * GeluCubic * xc[i] * xc[i])));
            }
        }
    }

    // ------------------------------------------------------------------ erf and the exact GELU

    // W. J. Cody's rational Chebyshev approximations of erf and erfc: W. J. Cody, "Rational Chebyshev approximations for the
    // error function", Math. Comp. 23 (1969) 631-637, as in his Fortran CALERF (netlib.org/specfun/erf; also SciPy's and
    // SLATEC's). Three intervals of |u|:
    //   |u| <= 0.46875:      erf(u)  = u · A(u²) / B(u²)                          (degree 4 over 4)
    //   0.46875 < |u| <= 4:  erfc(u) = exp(−u²) · C(u) / D(u)                     (degree 8 over 8)
    //   |u| > 4:             erfc(u) = exp(−u²) / u · (1/√π − z · P(z) / Q(z)),  z = 1/u²  (degree 5 over 5)
    // They are accurate to about 1e-18 relative. They are evaluated here in double, each float input widened exactly (its square
    // too: 24 significant bits squared fit in 53), so the one rounding that matters is the final one to float: measured, erf over
    // [−6, 6] is within 3.0e-8 (half a float ulp below 1) of the exact value, and Φ(x) = erfc(−x/√2)/2 has a relative error
    // below 6e-8 wherever it is a normal float, its lower tail included, which 1 + erf(x/√2) would lose to cancellation.

    private const double ErfSmallLimit = 0.46875, ErfcMiddleLimit = 4.0;

    private const double InvSqrtPi = 0.56418958354775628695; // 1/√π

    private const double InvSqrt2 = 0.70710678118654752440, InvSqrt2Pi = 0.39894228040143267794; // 1/√2, 1/√(2π)

    /// <summary><c>erf(u)</c> for <c>|u| ≤ 0.46875</c>: <c>u · A(u²) / B(u²)</c>.</summary>
    private static Vector<double> ErfSmall(Vector<double> u)
    {
        var t = u * u;
        var num = Vector.FusedMultiplyAdd(t, new Vector<double>(1.85777706184603153e-1), new Vector<double>(3.16112374387056560e0));
        num = Vector.FusedMultiplyAdd(num, t, new Vector<double>(1.13864154151050156e2));
        num = Vector.FusedMultiplyAdd(num, t, new Vector<double>(3.77485237685302021e2));
        num = Vector.FusedMultiplyAdd(num, t, new Vector<double>(3.20937758913846947e3));
        var den = t + new Vector<double>(2.36012909523441209e1);
        den = Vector.FusedMultiplyAdd(den, t, new Vector<double>(2.44024637934444173e2));
        den = Vector.FusedMultiplyAdd(den, t, new Vector<double>(1.28261652607737228e3));
        den = Vector.FusedMultiplyAdd(den, t, new Vector<double>(2.84423683343917062e3));
        return u * num / den;
    }

    /// <summary><c>erfc(a) · exp(a²)</c> for <c>a &gt; 0.46875</c>: <c>C(a) / D(a)</c> up to 4, the asymptotic form beyond (computed only when some lane needs it).</summary>
    private static Vector<double> ErfcScaled(Vector<double> a)
    {
        var num = Vector.FusedMultiplyAdd(a, new Vector<double>(2.15311535474403846e-8), new Vector<double>(5.64188496988670089e-1));
        num = Vector.FusedMultiplyAdd(num, a, new Vector<double>(8.88314979438837594e0));
        num = Vector.FusedMultiplyAdd(num, a, new Vector<double>(6.61191906371416295e1));
        num = Vector.FusedMultiplyAdd(num, a, new Vector<double>(2.98635138197400131e2));
        num = Vector.FusedMultiplyAdd(num, a, new Vector<double>(8.81952221241769090e2));
        num = Vector.FusedMultiplyAdd(num, a, new Vector<double>(1.71204761263407058e3));
        num = Vector.FusedMultiplyAdd(num, a, new Vector<double>(2.05107837782607147e3));
        num = Vector.FusedMultiplyAdd(num, a, new Vector<double>(1.23033935479799725e3));
        var den = a + new Vector<double>(1.57449261107098347e1);
        den = Vector.FusedMultiplyAdd(den, a, new Vector<double>(1.17693950891312499e2));
        den = Vector.FusedMultiplyAdd(den, a, new Vector<double>(5.37181101862009858e2));
        den = Vector.FusedMultiplyAdd(den, a, new Vector<double>(1.62138957456669019e3));
        den = Vector.FusedMultiplyAdd(den, a, new Vector<double>(3.29079923573345963e3));
        den = Vector.FusedMultiplyAdd(den, a, new Vector<double>(4.36261909014324716e3));
        den = Vector.FusedMultiplyAdd(den, a, new Vector<double>(3.43936767414372164e3));
        den = Vector.FusedMultiplyAdd(den, a, new Vector<double>(1.23033935480374942e3));
        var middle = num / den;
        var far = Vector.GreaterThan(a, new Vector<double>(ErfcMiddleLimit));
        if (far == Vector<long>.Zero) return middle;

        var z = Vector<double>.One / (a * a);
        var pn = Vector.FusedMultiplyAdd(z, new Vector<double>(1.63153871373020978e-2), new Vector<double>(3.05326634961232344e-1));
        pn = Vector.FusedMultiplyAdd(pn, z, new Vector<double>(3.60344899949804439e-1));
        pn = Vector.FusedMultiplyAdd(pn, z, new Vector<double>(1.25781726111229246e-1));
        pn = Vector.FusedMultiplyAdd(pn, z, new Vector<double>(1.60837851487422766e-2));
        pn = Vector.FusedMultiplyAdd(pn, z, new Vector<double>(6.58749161529837803e-4));
        var pd = z + new Vector<double>(2.56852019228982242e0);
        pd = Vector.FusedMultiplyAdd(pd, z, new Vector<double>(1.87295284992346047e0));
        pd = Vector.FusedMultiplyAdd(pd, z, new Vector<double>(5.27905102951428412e-1));
        pd = Vector.FusedMultiplyAdd(pd, z, new Vector<double>(6.05183413124413191e-2));
        pd = Vector.FusedMultiplyAdd(pd, z, new Vector<double>(2.33520497626869185e-3));
        return Vector.ConditionalSelect(far, (new Vector<double>(InvSqrtPi) - z * pn / pd) / a, middle);
    }

    /// <summary><c>erf(u)</c> in double (Cody's three intervals).</summary>
    private static Vector<double> Erf(Vector<double> u)
    {
        var a = Vector.Abs(u);
        var small = Vector.LessThanOrEqual(a, new Vector<double>(ErfSmallLimit));
        if (Vector.EqualsAll(small, Vector<long>.AllBitsSet)) return ErfSmall(u);
        var tail = Vector<double>.One - Vector.Exp(-(a * a)) * ErfcScaled(a);
        tail = Vector.ConditionalSelect(Vector.LessThan(u, Vector<double>.Zero), -tail, tail);
        return small == Vector<long>.Zero ? tail : Vector.ConditionalSelect(small, ErfSmall(u), tail);
    }

    /// <summary>
    /// The standard normal CDF <c>Φ(x) = (1 + erf(x/√2)) / 2</c>, from <c>erfc(|x|/√2) / 2</c> below <c>−0.66</c> (no cancellation),
    /// and the Gaussian <c>exp(−x²/2)</c>, which the caller turns into the density.
    /// </summary>
    private static Vector<double> NormalCdf(Vector<double> x, out Vector<double> gaussian)
    {
        var u = x * new Vector<double>(InvSqrt2);
        var a = Vector.Abs(u);
        gaussian = Vector.Exp(x * x * new Vector<double>(-0.5));
        var small = Vector.LessThanOrEqual(a, new Vector<double>(ErfSmallLimit));
        if (Vector.EqualsAll(small, Vector<long>.AllBitsSet)) return Central(u);
        var half = new Vector<double>(0.5) * gaussian * ErfcScaled(a); // erfc(|u|) / 2, exp(−u²) being exp(−x²/2)
        var tail = Vector.ConditionalSelect(Vector.LessThan(x, Vector<double>.Zero), half, Vector<double>.One - half);
        return small == Vector<long>.Zero ? tail : Vector.ConditionalSelect(small, Central(u), tail);

        static Vector<double> Central(Vector<double> u) => new Vector<double>(0.5) + new Vector<double>(0.5) * ErfSmall(u);
    }

    /// <summary>
    /// The error function of a float, within 3.0e-8 of the exact value over its whole range (Cody's approximations in double,
    /// rounded once); odd, ±1 beyond about ±3.9 in float, NaN for NaN.
    /// </summary>
    public static Vector<float> Erf(Vector<float> x)
    {
        Vector.Widen(x, out var low, out var high);
        return Vector.Narrow(Erf(low), Erf(high));
    }

    /// <summary>The error function of one float: <see cref="Erf(Vector{float})"/> on one lane.</summary>
    public static float Erf(float x) => Erf(new Vector<float>(x))[0];

    /// <summary>The exact GELU, Keras' <c>gelu(x, approximate=False)</c>: <c>y = x · Φ(x) = 0.5·x·(1 + erf(x/√2))</c>, computed in double, rounded once.</summary>
    public static void GeluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        int vc = Vector<float>.Count, i = 0;
        for (; i + vc <= x.Length; i += vc) GeluForward(new Vector<float>(x.Slice(i, vc))).CopyTo(y.Slice(i, vc));
        if (i == x.Length) return;
        Span<float> tail = stackalloc float[Vector<float>.Count];
        tail.Clear();
        x[i..].CopyTo(tail);
        GeluForward(new Vector<float>(tail)).CopyTo(tail);
        tail[..(x.Length - i)].CopyTo(y[i..]);
    }

    /// <summary>The exact GELU's backward in place: <c>dy *= Φ(x) + x·φ(x)</c>, <c>φ(x) = exp(−x²/2) / √(2π)</c>.</summary>
    public static void GeluBackward(ReadOnlySpan<float> x, Span<float> dy)
    {
        int vc = Vector<float>.Count, i = 0;
        for (; i + vc <= x.Length; i += vc)
            (new Vector<float>(dy.Slice(i, vc)) * GeluSlope(new Vector<float>(x.Slice(i, vc)))).CopyTo(dy.Slice(i, vc));
        if (i == x.Length) return;
        Span<float> tail = stackalloc float[Vector<float>.Count];
        tail.Clear();
        x[i..].CopyTo(tail);
        var slope = GeluSlope(new Vector<float>(tail));
        for (int k = 0; i + k < x.Length; k++) dy[i + k] *= slope[k];
    }

    private static Vector<float> GeluForward(Vector<float> x)
    {
        Vector.Widen(x, out var low, out var high);
        return Vector.Narrow(low * NormalCdf(low, out _), high * NormalCdf(high, out _));
    }

    private static Vector<float> GeluSlope(Vector<float> x)
    {
        Vector.Widen(x, out var low, out var high);
        return Vector.Narrow(Slope(low), Slope(high));

        static Vector<double> Slope(Vector<double> x)
        {
            var cdf = NormalCdf(x, out var gaussian);
            return Vector.FusedMultiplyAdd(x * gaussian, new Vector<double>(InvSqrt2Pi), cdf);
        }
    }
}
