using System.Collections.Generic;
using System.Linq;
using ConvGen.Generator.Helpers;
using ConvGen.Generator.Models;
using ConvGen.Internal;

namespace ConvGen.Generator;

public sealed partial class ConvGenerator
{
    /// <summary>
    /// The kernels of a depthwise convolution (<c>[DepthwiseConv2D]</c>, a <see cref="ConvSpec"/> with <c>Depthwise</c> set and the
    /// depth multiplier in <c>Filters</c>), for a <c>[DepthwiseConv2D]</c> class (any input size) or a network's layer (sizes fixed).
    /// Every channel is independent, so the kernels are vectorized over channels. With a depth multiplier of 1 (MobileNet's), pixels
    /// whose window lies wholly inside the input run unrolled tiles (4 pixels share each weight vector loaded, with every tap offset
    /// a constant in a network); the border pixels run loops over the taps that fall inside. A multiplier above 1 runs scalar loops.
    /// </summary>
    internal static class DepthwiseEmitter
    {
        /// <summary>Output pixels per forward register tile: each weight vector loaded feeds this many FMAs.</summary>
        private const int TilePixels = 4;

        private const string Optimized = "[MethodImpl(MethodImplOptions.AggressiveOptimization)]";

        private static string Str(long v) => KernelEmitter.Str(v);

        /// <summary>Whether the channels are vectorized and the interior pixels tiled (a depth multiplier of 1).</summary>
        private static bool Vectorized(ConvSpec m) => m.Filters == 1;

        /// <summary>The kernel class's constants and generic methods.</summary>
        public static void EmitMembers(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            w.L($"private const int KernelHeight = {m.KernelHeight}, KernelWidth = {m.KernelWidth}, InputChannels = {m.InputChannels}, DepthMultiplier = {m.Filters}, Channels = {Str(m.OutputChannels)};");
            w.L($"private const int StrideHeight = {m.StrideHeight}, StrideWidth = {m.StrideWidth}, DilationHeight = {m.DilationHeight}, DilationWidth = {m.DilationWidth};");
            if (p.Fixed)
            {
                var (first, end) = Interior(p);
                w.L($"private const int H = {p.FixedHeight}, W = {p.FixedWidth}, OH = {p.OutputHeight}, OW = {p.OutputWidth}, PadTop = {p.PaddingHeight.Before}, PadLeft = {p.PaddingWidth.Before};");
                w.L($"private const int InteriorFirst = {first}, InteriorEnd = {end}; // the output columns whose window is wholly inside the input");
                w.L($"private const int RowStep = {Str((long)m.DilationHeight * p.FixedWidth * m.InputChannels)}; // input elements between two kernel rows");
            }
            w.Line();
            EmitForward(w, p);
            w.Line();
            EmitForwardPixel(w, p);
            if (Vectorized(m))
            {
                foreach (int pixels in new[] { TilePixels, 1 })
                {
                    w.Line();
                    EmitForwardTile(w, p, pixels);
                }
            }
            w.Line();
            EmitBackwardWeights(w, p);
            w.Line();
            EmitBackwardInput(w, p);
            if (Vectorized(m))
            {
                w.Line();
                EmitBackwardInputTile(w, p);
            }
        }

        /// <summary>A network layer's interior columns, as the run-time geometry computes them for a class.</summary>
        private static (int First, int End) Interior(KernelPlan p)
            => Geometry.Outputs(-p.PaddingWidth.Before, p.Conv.StrideWidth, p.FixedWidth - p.Conv.ExtentWidth + 1, p.OutputWidth);

        private static string SizeParameters(KernelPlan p) => p.Fixed ? "" : "int height, int width, ";

        /// <summary>The sizes as locals named like a network's constants, so the bodies are the same text in both.</summary>
        private static void EmitGeometry(CodeWriter w, KernelPlan p, bool interior)
        {
            if (p.Fixed) return;
            string same = p.Conv.Same ? "true" : "false";
            w.Line("int H = height, W = width;");
            w.L($"int OH = Geometry.OutputSize(H, KernelHeight, StrideHeight, DilationHeight, same: {same}), OW = Geometry.OutputSize(W, KernelWidth, StrideWidth, DilationWidth, same: {same});");
            w.L($"int PadTop = Geometry.Padding(H, KernelHeight, StrideHeight, DilationHeight, same: {same}).Before, PadLeft = Geometry.Padding(W, KernelWidth, StrideWidth, DilationWidth, same: {same}).Before;");
            if (!interior) return;
            w.Line("var (InteriorFirst, InteriorEnd) = Geometry.Outputs(-PadLeft, StrideWidth, W - (KernelWidth - 1) * DilationWidth, OW); // columns whose window is wholly inside");
            w.Line("int RowStep = DilationHeight * W * InputChannels; // input elements between two kernel rows");
        }

        private static string RowStepParameter(KernelPlan p) => p.Fixed ? "" : "int RowStep, ";

        private static string RowStepArgument(KernelPlan p) => p.Fixed ? "" : "RowStep, ";

        private static string WidthParameter(KernelPlan p) => p.Fixed ? "" : ", int W";

        private static string WidthArgument(KernelPlan p) => p.Fixed ? "" : ", W";

        private static string Bias(bool vector, string index)
            => vector ? $"Load<V>(ref b, {index})" : $"Unsafe.Add(ref b, {index})";

        /// <summary>
        /// The value a forward kernel stores: the layer's own ReLU where the kernel applies it, then the epilogue <c>E</c> (nothing,
        /// or a ReLU or ReLU6 folded in with a BatchNormalization in inference). No residual is ever added here, so the reference
        /// the epilogue is given (the output) is never read.
        /// </summary>
        private static string Act(KernelPlan p, string value, bool vector)
            => $"E.Apply({(!p.AppliesRelu ? value : vector ? $"Relu({value})" : $"MathF.Max({value}, 0f)")}, ref y, 0)";

        private const string ForwardConstraint = " where V : struct where E : struct, IEpilogue";

        /// <summary>
        /// The taps of a whole window, with the input offset of each relative to the window's top-left tap: unrolled (constant
        /// offsets in a network) up to <see cref="MaxUnrolledTaps"/> taps, else loops.
        /// </summary>
        private static void EmitWholeWindow(CodeWriter w, KernelPlan p, System.Action<string, string> body)
        {
            var m = p.Conv;
            if (!m.Unrollable)
            {
                w.Open("for (int kh = 0; kh < KernelHeight; kh++)");
                w.Open("for (int kw = 0; kw < KernelWidth; kw++)");
                w.Line("int at = kh * RowStep + kw * (DilationWidth * InputChannels), tap = (kh * KernelWidth + kw) * Channels;");
                body("at", "tap");
                w.Close();
                w.Close();
                return;
            }
            for (int kh = 0; kh < m.KernelHeight; kh++)
            {
                for (int kw = 0; kw < m.KernelWidth; kw++)
                {
                    long column = (long)kw * m.DilationWidth * m.InputChannels;
                    string at = p.Fixed ? Str(kh * (long)m.DilationHeight * p.FixedWidth * m.InputChannels + column)
                        : kh == 0 ? Str(column) : $"{kh} * RowStep + {Str(column)}";
                    body(at, Str(((long)kh * m.KernelWidth + kw) * m.OutputChannels));
                }
            }
        }

        // ------------------------------------------------------------------------------------------------
        // Forward
        // ------------------------------------------------------------------------------------------------
        private static void EmitForward(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            bool vector = Vectorized(m);
            w.Line("/// <summary>");
            w.Line("/// y[n, oh, ow, c*M + m] = b[c*M + m] + sum over (kh, kw) of x[n, oh*sh - padTop + kh*dh, ow*sw - padLeft + kw*dw, c] * k[kh, kw, c, m]" + (p.AppliesRelu ? ", then the ReLU," : ",") + " for");
            w.Line("/// output rows [rowStart, rowEnd) of every sample." + (vector ? $" Rows whose window rows are all inside run their interior columns in tiles of {TilePixels} pixels, then single ones; every other pixel loops over its taps inside the input." : " Each pixel loops over its taps inside the input."));
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open($"public static void Forward<V, E>(ReadOnlySpan<float> input, int batch, {SizeParameters(p)}ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int rowStart, int rowEnd){ForwardConstraint}");
            EmitGeometry(w, p, interior: vector);
            w.Line("ref float x = ref MemoryMarshal.GetReference(input);");
            w.Line("ref float k = ref MemoryMarshal.GetReference(weights);");
            w.Line(KernelEmitter.BiasReference(m.UseBias, "Channels"));
            w.Line("ref float y = ref MemoryMarshal.GetReference(output);");
            w.Open("for (int n = 0; n < batch; n++)");
            w.Open("for (int oh = rowStart; oh < rowEnd; oh++)");
            w.Line("int ih0 = oh * StrideHeight - PadTop; // the window's top row (negative inside the padding)");
            w.Line("var (kh0, kh1) = Geometry.Taps(ih0, KernelHeight, DilationHeight, H);");
            w.Line("int row = (n * H + ih0) * W * InputChannels, pixel = (n * OH + oh) * OW;");
            w.Line("int ow = 0;");
            string Pixel() => $"ForwardPixel<V, E>(ref x, row, ow * StrideWidth - PadLeft, kh0, kh1{WidthArgument(p)}, ref k, ref b, ref Unsafe.Add(ref y, (pixel + ow) * Channels));";
            if (vector)
            {
                string Tile(int pixels) => $"ForwardTile{pixels}<V, E>(ref Unsafe.Add(ref x, row + (ow * StrideWidth - PadLeft) * InputChannels), {RowStepArgument(p)}ref k, ref b, ref Unsafe.Add(ref y, (pixel + ow) * Channels));";
                w.Open("if (kh0 == 0 && kh1 == KernelHeight)");
                w.Line("for (; ow < InteriorFirst; ow++) " + Pixel());
                w.L($"for (; ow + {TilePixels} <= InteriorEnd; ow += {TilePixels}) {Tile(TilePixels)}");
                w.Line("for (; ow < InteriorEnd; ow++) " + Tile(1));
                w.Close();
            }
            w.Line("for (; ow < OW; ow++) " + Pixel());
            w.Close();
            w.Close();
            w.Close();
        }

        /// <summary>One output pixel of any window: the taps inside the input (rows [kh0, kh1), the columns it works out).</summary>
        private static void EmitForwardPixel(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            w.Line("/// <summary>One output pixel: <paramref name=\"row\"/> is the input offset of (n, ih0, 0, 0), <paramref name=\"iw0\"/> the window's left column.</summary>");
            w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
            w.Open($"private static void ForwardPixel<V, E>(ref float x, int row, int iw0, int kh0, int kh1{WidthParameter(p)}, ref float k, ref float b, ref float y){ForwardConstraint}");
            w.Line("var (kw0, kw1) = Geometry.Taps(iw0, KernelWidth, DilationWidth, W);");
            if (Vectorized(m))
            {
                w.Line("int vc = Count<V>();");
                w.Line("int c = 0;");
                if (m.OutputChannels >= 16)
                {
                    // Four channel vectors at a time: four independent sums hide the FMA latency one sum would wait on at every tap.
                    w.Open("for (; c <= Channels - 4 * vc; c += 4 * vc)");
                    w.Line(string.Join(" ", Enumerable.Range(0, 4).Select(j => $"var s{j} = {Bias(true, j == 0 ? "c" : $"c + {j} * vc")};")));
                    w.Line("for (int kh = kh0; kh < kh1; kh++)");
                    w.Open("for (int kw = kw0; kw < kw1; kw++)");
                    w.Line("int at = row + (kh * DilationHeight * W + iw0 + kw * DilationWidth) * InputChannels + c, tap = (kh * KernelWidth + kw) * Channels + c;");
                    for (int j = 0; j < 4; j++)
                        w.Line(j == 0 ? "s0 = Fma(Load<V>(ref x, at), Load<V>(ref k, tap), s0);" : $"s{j} = Fma(Load<V>(ref x, at + {j} * vc), Load<V>(ref k, tap + {j} * vc), s{j});");
                    w.Close();
                    w.Line(string.Join(" ", Enumerable.Range(0, 4).Select(j => $"Store({Act(p, $"s{j}", true)}, ref y, {(j == 0 ? "c" : $"c + {j} * vc")});")));
                    w.Close();
                }
                w.Open("for (; c <= Channels - vc; c += vc)");
                w.Line($"var s = {Bias(true, "c")};");
                w.Line("for (int kh = kh0; kh < kh1; kh++)");
                w.Line("for (int kw = kw0; kw < kw1; kw++)");
                w.Line("    s = Fma(Load<V>(ref x, row + (kh * DilationHeight * W + iw0 + kw * DilationWidth) * InputChannels + c), Load<V>(ref k, (kh * KernelWidth + kw) * Channels + c), s);");
                w.Line($"Store({Act(p, "s", true)}, ref y, c);");
                w.Close();
                w.Open("for (; c < Channels; c++)");
                w.Line($"float s = {Bias(false, "c")};");
                w.Line("for (int kh = kh0; kh < kh1; kh++)");
                w.Line("for (int kw = kw0; kw < kw1; kw++)");
                w.Line("    s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, row + (kh * DilationHeight * W + iw0 + kw * DilationWidth) * InputChannels + c), Unsafe.Add(ref k, (kh * KernelWidth + kw) * Channels + c), s);");
                w.Line($"Unsafe.Add(ref y, c) = {Act(p, "s", false)};");
                w.Close();
            }
            else
            {
                w.Line("for (int c = 0; c < InputChannels; c++)");
                w.Open("for (int o = c * DepthMultiplier; o < (c + 1) * DepthMultiplier; o++)");
                w.Line($"float s = {Bias(false, "o")};");
                w.Line("for (int kh = kh0; kh < kh1; kh++)");
                w.Line("for (int kw = kw0; kw < kw1; kw++)");
                w.Line("    s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, row + (kh * DilationHeight * W + iw0 + kw * DilationWidth) * InputChannels + c), Unsafe.Add(ref k, (kh * KernelWidth + kw) * Channels + o), s);");
                w.Line($"Unsafe.Add(ref y, o) = {Act(p, "s", false)};");
                w.Close();
            }
            w.Close();
        }

        /// <summary><paramref name="pixels"/> neighbouring output pixels whose windows are wholly inside the input.</summary>
        private static void EmitForwardTile(CodeWriter w, KernelPlan p, int pixels)
        {
            var m = p.Conv;
            long pixelStep = (long)m.StrideWidth * m.InputChannels;
            w.L($"/// <summary>{(pixels == 1 ? "One output pixel" : $"{pixels} neighbouring output pixels")} whose window is wholly inside the input: <paramref name=\"x\"/> at the (first) window's top-left tap, channel 0.</summary>");
            w.Line(Optimized);
            w.Open($"private static void ForwardTile{pixels}<V, E>(ref float x, {RowStepParameter(p)}ref float k, ref float b, ref float y){ForwardConstraint}");
            w.Line("int vc = Count<V>();");
            w.Line("int c = 0;");
            foreach (bool vector in new[] { true, false })
            {
                w.Open(vector ? "for (; c <= Channels - vc; c += vc)" : "for (; c < Channels; c++)");
                for (int j = 0; j < pixels; j++) w.Line($"{(vector ? "var" : "float")} s{j} = {Bias(vector, "c")};");
                EmitWholeWindow(w, p, (at, tap) =>
                {
                    w.Line(vector ? $"{{ var kv = Load<V>(ref k, {tap} + c);" : $"{{ float kv = Unsafe.Add(ref k, {tap} + c);");
                    for (int j = 0; j < pixels; j++)
                    {
                        string offset = j == 0 ? $"{at} + c" : $"{at} + {Str(j * pixelStep)} + c";
                        w.Line(vector ? $"  s{j} = Fma(Load<V>(ref x, {offset}), kv, s{j});" : $"  s{j} = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, {offset}), kv, s{j});");
                    }
                    w.Line("}");
                });
                for (int j = 0; j < pixels; j++)
                {
                    string offset = j == 0 ? "c" : $"{Str((long)j * m.OutputChannels)} + c";
                    w.Line(vector ? $"Store({Act(p, $"s{j}", true)}, ref y, {offset});" : $"Unsafe.Add(ref y, {offset}) = {Act(p, $"s{j}", false)};");
                }
                w.Close();
            }
            w.Close();
        }

        // ------------------------------------------------------------------------------------------------
        // Weight and bias gradients
        // ------------------------------------------------------------------------------------------------
        private static void EmitBackwardWeights(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            w.Line("/// <summary>");
            w.Line("/// dk[kh, kw, c, m] += sum over (n, oh, ow) of x[n, ih, iw, c] * dy[n, oh, ow, c*M + m], and db += dy summed over pixels. Per sample row and");
            w.Line("/// tap, the columns where the tap is inside the input accumulate in registers (two chains), then add to dk once.");
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open($"public static void BackwardWeights<V>(ReadOnlySpan<float> input, int batch, {SizeParameters(p)}ReadOnlySpan<float> outputGradient, Span<float> weightsGradient, Span<float> biasGradient) where V : struct");
            EmitGeometry(w, p, interior: false);
            w.Line("int vc = Count<V>();");
            w.Line("ref float x = ref MemoryMarshal.GetReference(input);");
            w.Line("ref float g = ref MemoryMarshal.GetReference(outputGradient);");
            w.Line("ref float dk = ref MemoryMarshal.GetReference(weightsGradient);");
            if (m.UseBias) w.Line("ref float db = ref MemoryMarshal.GetReference(biasGradient);");
            w.Open("for (int n = 0; n < batch; n++)");
            w.Open("for (int oh = 0; oh < OH; oh++)");
            w.Line("int ih0 = oh * StrideHeight - PadTop;");
            w.Line("var (kh0, kh1) = Geometry.Taps(ih0, KernelHeight, DilationHeight, H);");
            w.Line("int row = (n * H + ih0) * W * InputChannels, pixel = (n * OH + oh) * OW;");
            if (m.UseBias)
            {
                w.Open("for (int ow = 0; ow < OW; ow++)");
                w.Line("int at = (pixel + ow) * Channels, c = 0;");
                w.Line("for (; c <= Channels - vc; c += vc) Store(Add(Load<V>(ref db, c), Load<V>(ref g, at + c)), ref db, c);");
                w.Line("for (; c < Channels; c++) Unsafe.Add(ref db, c) += Unsafe.Add(ref g, at + c);");
                w.Close();
            }
            w.Open("for (int kh = kh0; kh < kh1; kh++)");
            w.Open("for (int kw = 0; kw < KernelWidth; kw++)");
            w.Line("var (ow0, ow1) = Geometry.Outputs(kw * DilationWidth - PadLeft, StrideWidth, W, OW);");
            w.Line("int xr = row + (kh * DilationHeight * W + kw * DilationWidth - PadLeft) * InputChannels; // + ow * StrideWidth * InputChannels: the tap's input at column ow");
            w.Line("int tap = (kh * KernelWidth + kw) * Channels;");
            if (Vectorized(m))
            {
                w.Line("int c = 0;");
                w.Open("for (; c <= Channels - vc; c += vc)");
                w.Line("var s0 = Zero<V>();");
                w.Line("var s1 = Zero<V>();");
                w.Line("int ow = ow0;");
                w.Open("for (; ow + 2 <= ow1; ow += 2)");
                w.Line("s0 = Fma(Load<V>(ref x, xr + ow * StrideWidth * InputChannels + c), Load<V>(ref g, (pixel + ow) * Channels + c), s0);");
                w.Line("s1 = Fma(Load<V>(ref x, xr + (ow + 1) * StrideWidth * InputChannels + c), Load<V>(ref g, (pixel + ow + 1) * Channels + c), s1);");
                w.Close();
                w.Line("if (ow < ow1) s0 = Fma(Load<V>(ref x, xr + ow * StrideWidth * InputChannels + c), Load<V>(ref g, (pixel + ow) * Channels + c), s0);");
                w.Line("Store(Add(Load<V>(ref dk, tap + c), Add(s0, s1)), ref dk, tap + c);");
                w.Close();
                w.Open("for (; c < Channels; c++)");
                w.Line("float s = 0f;");
                w.Line("for (int ow = ow0; ow < ow1; ow++) s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, xr + ow * StrideWidth * InputChannels + c), Unsafe.Add(ref g, (pixel + ow) * Channels + c), s);");
                w.Line("Unsafe.Add(ref dk, tap + c) += s;");
                w.Close();
            }
            else
            {
                w.Line("for (int c = 0; c < InputChannels; c++)");
                w.Open("for (int o = c * DepthMultiplier; o < (c + 1) * DepthMultiplier; o++)");
                w.Line("float s = 0f;");
                w.Line("for (int ow = ow0; ow < ow1; ow++) s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, xr + ow * StrideWidth * InputChannels + c), Unsafe.Add(ref g, (pixel + ow) * Channels + o), s);");
                w.Line("Unsafe.Add(ref dk, tap + o) += s;");
                w.Close();
            }
            w.Close();
            w.Close();
            w.Close();
            w.Close();
            w.Close();
        }

        // ------------------------------------------------------------------------------------------------
        // Input gradient
        // ------------------------------------------------------------------------------------------------
        private static void EmitBackwardInput(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            bool vector = Vectorized(m);
            w.Line("/// <summary>");
            w.Line("/// dx[n, ih, iw, c] += sum over the (oh, ow, kh, kw) that read it and m of dy[n, oh, ow, c*M + m] * k[kh, kw, c, m]: each output pixel's");
            w.Line("/// gradient is scattered to its window" + (vector ? " (unrolled for the interior columns of rows whose window rows are all inside)." : "."));
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open($"public static void BackwardInput<V>(int batch, {SizeParameters(p)}ReadOnlySpan<float> weights, ReadOnlySpan<float> outputGradient, Span<float> inputGradient) where V : struct");
            EmitGeometry(w, p, interior: vector);
            w.Line("int vc = Count<V>();");
            w.Line("ref float k = ref MemoryMarshal.GetReference(weights);");
            w.Line("ref float g = ref MemoryMarshal.GetReference(outputGradient);");
            w.Line("ref float dx = ref MemoryMarshal.GetReference(inputGradient);");
            w.Open("for (int n = 0; n < batch; n++)");
            w.Open("for (int oh = 0; oh < OH; oh++)");
            w.Line("int ih0 = oh * StrideHeight - PadTop;");
            w.Line("var (kh0, kh1) = Geometry.Taps(ih0, KernelHeight, DilationHeight, H);");
            w.Line("int row = (n * H + ih0) * W * InputChannels, pixel = (n * OH + oh) * OW;");
            w.Line("bool whole = kh0 == 0 && kh1 == KernelHeight;");
            w.Open("for (int ow = 0; ow < OW; ow++)");
            w.Line("int iw0 = ow * StrideWidth - PadLeft;");
            w.Line("ref float gp = ref Unsafe.Add(ref g, (pixel + ow) * Channels);");
            if (vector)
            {
                w.Open("if (whole && ow >= InteriorFirst && ow < InteriorEnd)");
                w.L($"BackwardInputTile<V>(ref Unsafe.Add(ref dx, row + iw0 * InputChannels), {RowStepArgument(p)}ref k, ref gp);");
                w.Line("continue;");
                w.Close();
            }
            w.Line("var (kw0, kw1) = Geometry.Taps(iw0, KernelWidth, DilationWidth, W);");
            if (vector)
            {
                w.Line("int c = 0;");
                w.Open("for (; c <= Channels - vc; c += vc)");
                w.Line("var gv = Load<V>(ref gp, c);");
                w.Line("for (int kh = kh0; kh < kh1; kh++)");
                w.Open("for (int kw = kw0; kw < kw1; kw++)");
                w.Line("int at = row + (kh * DilationHeight * W + iw0 + kw * DilationWidth) * InputChannels + c;");
                w.Line("Store(Fma(gv, Load<V>(ref k, (kh * KernelWidth + kw) * Channels + c), Load<V>(ref dx, at)), ref dx, at);");
                w.Close();
                w.Close();
                w.Open("for (; c < Channels; c++)");
                w.Line("float gs = Unsafe.Add(ref gp, c);");
                w.Line("for (int kh = kh0; kh < kh1; kh++)");
                w.Open("for (int kw = kw0; kw < kw1; kw++)");
                w.Line("ref float d = ref Unsafe.Add(ref dx, row + (kh * DilationHeight * W + iw0 + kw * DilationWidth) * InputChannels + c);");
                w.Line("d = MathF.FusedMultiplyAdd(gs, Unsafe.Add(ref k, (kh * KernelWidth + kw) * Channels + c), d);");
                w.Close();
                w.Close();
            }
            else
            {
                w.Line("for (int c = 0; c < InputChannels; c++)");
                w.Line("for (int kh = kh0; kh < kh1; kh++)");
                w.Open("for (int kw = kw0; kw < kw1; kw++)");
                w.Line("int tap = (kh * KernelWidth + kw) * Channels;");
                w.Line("float s = 0f;");
                w.Line("for (int o = c * DepthMultiplier; o < (c + 1) * DepthMultiplier; o++) s = MathF.FusedMultiplyAdd(Unsafe.Add(ref gp, o), Unsafe.Add(ref k, tap + o), s);");
                w.Line("Unsafe.Add(ref dx, row + (kh * DilationHeight * W + iw0 + kw * DilationWidth) * InputChannels + c) += s;");
                w.Close();
            }
            w.Close();
            w.Close();
            w.Close();
            w.Close();
        }

        /// <summary>One output pixel's gradient scattered to a window wholly inside the input, every tap unrolled.</summary>
        private static void EmitBackwardInputTile(CodeWriter w, KernelPlan p)
        {
            w.Line("/// <summary>One output pixel's gradient <paramref name=\"g\"/> added to its window, wholly inside the input: <paramref name=\"dx\"/> at its top-left tap, channel 0.</summary>");
            w.Line(Optimized);
            w.Open($"private static void BackwardInputTile<V>(ref float dx, {RowStepParameter(p)}ref float k, ref float g) where V : struct");
            w.Line("int vc = Count<V>();");
            w.Line("int c = 0;");
            foreach (bool vector in new[] { true, false })
            {
                w.Open(vector ? "for (; c <= Channels - vc; c += vc)" : "for (; c < Channels; c++)");
                w.Line(vector ? "var gv = Load<V>(ref g, c);" : "float gs = Unsafe.Add(ref g, c);");
                EmitWholeWindow(w, p, (at, tap) =>
                {
                    w.Line(vector
                        ? $"Store(Fma(gv, Load<V>(ref k, {tap} + c), Load<V>(ref dx, {at} + c)), ref dx, {at} + c);"
                        : $"{{ ref float d = ref Unsafe.Add(ref dx, {at} + c); d = MathF.FusedMultiplyAdd(gs, Unsafe.Add(ref k, {tap} + c), d); }}");
                });
                w.Close();
            }
            w.Close();
        }

        // ------------------------------------------------------------------------------------------------
        // A network layer's kernel class
        // ------------------------------------------------------------------------------------------------

        /// <summary>The kernels of a network's depthwise layer, with the network's sizes as constants, behind <c>IDepthwiseConv2DKernel</c>.</summary>
        public static void EmitNetworkKernel(CodeWriter w, NetworkModel model, NetworkLayer l, string className)
        {
            var c = l.Conv!;
            var plan = new KernelPlan(c, className, l.InH, l.InW, FusePool: false);
            w.L($"/// <summary>The kernels of <see cref=\"global::{model.Target.FullName}\"/>'s {l.Name}: depthwise {c.KernelHeight}x{c.KernelWidth}, {l.InH}x{l.InW}x{l.InC} to {l.OutH}x{l.OutW}x{l.OutC}, every size a constant.</summary>");
            w.L($"[global::System.CodeDom.Compiler.GeneratedCode(\"ConvGen.Generator\", \"{KernelEmitter.Version}\")]");
            w.Open($"file sealed class {className} : global::ConvGen.IDepthwiseConv2DKernel");
            w.L($"public static global::ConvGen.DepthwiseConv2DSpec Spec => new(KernelHeight, KernelWidth, InputChannels, DepthMultiplier, StrideHeight, StrideWidth, DilationHeight, DilationWidth, global::ConvGen.Padding.{c.Padding}, {(c.UseBias ? "true" : "false")}, global::ConvGen.Activation.{c.Activation});");
            w.L($"public static int FixedHeight => {l.InH};");
            w.L($"public static int FixedWidth => {l.InW};");
            // The kernels fuse a ReLU; any other activation the layer applies to the output slice they just wrote.
            w.L($"public static bool AppliesActivation => {(c.Activation is Activation.None or Activation.ReLU ? "true" : "false")};");
            w.L($"public static int OutputHeight(int inputHeight) => {l.OutH};");
            w.L($"public static int OutputWidth(int inputWidth) => {l.OutW};");
            w.Line();
            w.Line("// Entry points: the layer (ConvGen.DepthwiseConv2DLayer) sliced every span to these sizes; each call runs at the width Simd.Lanes picks.");
            w.Open("public static void ForwardRows(ReadOnlySpan<float> input, int batch, int height, int width, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int rowStart, int rowEnd)");
            KernelEmitter.EmitDispatch(w, "Forward<{V}, global::ConvGen.Internal.NoEpilogue>(input, batch, weights, bias, output, rowStart, rowEnd)");
            w.Close();
            w.Line();
            w.Open("public static bool ForwardRowsActivated(ReadOnlySpan<float> input, int batch, int height, int width, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int rowStart, int rowEnd, global::ConvGen.Activation activation)");
            KernelEmitter.EmitActivatedDispatch(w, "Forward<{V}, {E}>(input, batch, weights, bias, output, rowStart, rowEnd)", 16);
            w.Close();
            w.Line();
            w.Open("public static void BackwardWeights(ReadOnlySpan<float> input, int batch, int height, int width, ReadOnlySpan<float> outputGradient, Span<float> weightsGradient, Span<float> biasGradient)");
            KernelEmitter.EmitDispatch(w, "BackwardWeights<{V}>(input, batch, outputGradient, weightsGradient, biasGradient)");
            w.Close();
            w.Line();
            w.Open("public static void BackwardInput(int batch, int height, int width, ReadOnlySpan<float> weights, ReadOnlySpan<float> outputGradient, Span<float> inputGradient)");
            KernelEmitter.EmitDispatch(w, "BackwardInput<{V}>(batch, weights, outputGradient, inputGradient)");
            w.Close();
            w.Line();
            EmitMembers(w, plan);
            w.Close();
        }

        /// <summary>Members a <c>[DepthwiseConv2D]</c> class's generated part and its base class give it (a user member with one is CONVGEN009).</summary>
        public static readonly HashSet<string> ReservedMemberNames = new(System.StringComparer.Ordinal)
        {
            "KernelHeight", "KernelWidth", "InputChannels", "DepthMultiplier", "OutputChannels", "StrideHeight", "StrideWidth", "DilationHeight", "DilationWidth",
            "Padding", "UseBias", "Activation", "Spec", "OutputHeight", "OutputWidth", "Forward", "ForwardRows", "Backward", "BackwardWeights", "BackwardInput",
            "Name", "Input", "InputNames", "HasExplicitName", "TypeName", "BaseName", "Parameters", "State", "Kernel", "Bias", "Configuration",
            "Build", "RunForward", "RunBackward", "ForwardPhases", "BackwardPhases", "OutputActivation", "FoldsInputRelu", "CanFuseForward",
            "FixedHeight", "FixedWidth", "AppliesActivation", "ForwardRowsActivated",
        };
    }
}
