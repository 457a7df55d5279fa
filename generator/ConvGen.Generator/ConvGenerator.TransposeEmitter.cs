using System;
using System.Collections.Generic;
using ConvGen.Generator.Helpers;
using ConvGen.Generator.Models;
using ConvGen.Internal;

namespace ConvGen.Generator;

public sealed partial class ConvGenerator
{
    /// <summary>
    /// The kernels of a transposed convolution (<c>[Conv2DTranspose]</c>, a <see cref="ConvSpec"/> with <c>Transposed</c> set and
    /// weights <c>[KH, KW, F, C]</c>), for a <c>[Conv2DTranspose]</c> class (any input size) or a network's layer (sizes fixed).
    /// Input pixel <c>(ih, iw)</c> and tap <c>(kh, kw)</c> reach output pixel <c>(ih*sh - padTop + kh*dh, iw*sw - padLeft + kw*dw)</c>:
    /// the forward pass is the input gradient of the convolution with these weights, written as a gather (each output pixel sums
    /// the taps that reach it, <see cref="Geometry.TransposedTaps"/>), vectorized over the filters with the weights transposed to
    /// <c>[KH, KW, C, F]</c> in scratch; the input gradient is that convolution itself (a strided cross-correlation of the output
    /// gradient), and the weight gradient sums input times output gradient per tap; both vectorized over the input channels, which
    /// are contiguous in the weights.
    /// </summary>
    internal static class TransposeEmitter
    {
        private const string Optimized = "[MethodImpl(MethodImplOptions.AggressiveOptimization)]";

        /// <summary>Output pixels of one column phase per forward register tile: each weight vector loaded feeds this many FMAs.</summary>
        private const int TilePixels = 4;

        /// <summary>Filters per weight-gradient register tile: each input vector loaded feeds this many FMAs.</summary>
        private const int TileFilters = 4;

        private static string Str(long v) => KernelEmitter.Str(v);

        private static int Gcd(int a, int b)
        {
            while (b != 0) (a, b) = (b, a % b);
            return a;
        }

        /// <summary>The positions Same crops before the output along each axis (0 for Valid).</summary>
        private static (int Top, int Left) Crop(ConvSpec m)
            => (Geometry.TransposedPaddingBefore(m.KernelHeight, m.StrideHeight, m.DilationHeight, m.Same),
                Geometry.TransposedPaddingBefore(m.KernelWidth, m.StrideWidth, m.DilationWidth, m.Same));

        /// <summary>The kernel class's constants and generic methods.</summary>
        public static void EmitMembers(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            var (top, left) = Crop(m);
            int gh = Gcd(m.StrideHeight, m.DilationHeight), gw = Gcd(m.StrideWidth, m.DilationWidth);
            w.L($"private const int KernelHeight = {m.KernelHeight}, KernelWidth = {m.KernelWidth}, InputChannels = {m.InputChannels}, Filters = {m.Filters};");
            w.L($"private const int StrideHeight = {m.StrideHeight}, StrideWidth = {m.StrideWidth}, DilationHeight = {m.DilationHeight}, DilationWidth = {m.DilationWidth};");
            w.L($"private const int PadTop = {top}, PadLeft = {left}; // output rows and columns cropped before ({(m.Same ? "Same: max(extent - stride, 0) / 2" : "Valid: none")})");
            w.L($"private const int TapStepHeight = {m.StrideHeight / gh}, InputStepHeight = {m.DilationHeight / gh}, TapStepWidth = {m.StrideWidth / gw}, InputStepWidth = {m.DilationWidth / gw}; // between the taps that reach one output position");
            if (p.Fixed)
                w.L($"private const int H = {p.FixedHeight}, W = {p.FixedWidth}, OH = {p.OutputHeight}, OW = {p.OutputWidth};");
            w.Line();
            EmitForward(w, p);
            foreach (int pixels in new[] { TilePixels, 1 })
            {
                w.Line();
                EmitForwardPixels(w, p, pixels);
            }
            w.Line();
            EmitBackwardWeights(w, p);
            foreach (int filters in new[] { TileFilters, 1 })
            {
                w.Line();
                EmitWeightTap(w, filters);
            }
            w.Line();
            EmitBackwardInput(w, p);
            w.Line();
            EmitBackwardInputPixel(w, p);
        }

        private static string SizeParameters(KernelPlan p) => p.Fixed ? "" : "int height, int width, ";

        private static string WidthParameter(KernelPlan p, string name) => p.Fixed ? "" : $", int {name}";

        private static string WidthArgument(KernelPlan p, string name) => p.Fixed ? "" : $", {name}";

        /// <summary>The sizes as locals named like a network's constants, so the bodies are the same text in both.</summary>
        private static void EmitGeometry(CodeWriter w, KernelPlan p)
        {
            if (p.Fixed) return;
            string same = p.Conv.Same ? "true" : "false";
            w.Line("int H = height, W = width; // the caller checked that the output sizes fit in an int");
            w.L($"int OH = (int)Geometry.TransposedOutputSize(H, KernelHeight, StrideHeight, DilationHeight, same: {same}), OW = (int)Geometry.TransposedOutputSize(W, KernelWidth, StrideWidth, DilationWidth, same: {same});");
        }

        private static string Act(KernelPlan p, string value, bool vector)
            => !p.AppliesRelu ? value : vector ? $"Relu({value})" : $"MathF.Max({value}, 0f)";

        /// <summary>
        /// Blocks over <paramref name="count"/> contiguous values from <paramref name="index"/>: <paramref name="widths"/> vectors at a
        /// time, widest first, then single values; <paramref name="body"/> gets the vectors per block (0 for the scalar one).
        /// </summary>
        private static void EmitBlocks(CodeWriter w, string index, string count, int[] widths, Action<int> body)
        {
            w.L($"int {index} = 0;");
            foreach (int u in widths)
            {
                w.Open(u == 1 ? $"for (; {index} <= {count} - vc; {index} += vc)" : $"for (; {index} <= {count} - {u} * vc; {index} += {u} * vc)");
                body(u);
                w.Close();
            }
            w.Open($"for (; {index} < {count}; {index}++)");
            body(0);
            w.Close();
        }

        private static string Each(int u, Func<int, string> statement)
        {
            var parts = new string[u];
            for (int j = 0; j < u; j++) parts[j] = statement(j);
            return string.Join(" ", parts);
        }

        private static string VOff(int j) => j == 0 ? "" : j == 1 ? " + vc" : $" + {j} * vc";

        /// <summary>The <paramref name="j"/>th vector's offset as an argument: <c>, 0</c>, <c>, vc</c>, <c>, 2 * vc</c>.</summary>
        private static string VArg(int j) => j == 0 ? ", 0" : j == 1 ? ", vc" : $", {j} * vc";

        // ------------------------------------------------------------------------------------------------
        // Forward
        // ------------------------------------------------------------------------------------------------
        private static void EmitForward(CodeWriter w, KernelPlan p)
        {
            w.Line("/// <summary>");
            w.Line("/// y[n, oh, ow, f] = b[f] + sum over the (ih, iw, kh, kw) with ih*sh - padTop + kh*dh = oh and iw*sw - padLeft + kw*dw = ow, and over c,");
            w.Line("/// of x[n, ih, iw, c] * k[kh, kw, f, c]" + (p.AppliesRelu ? ", then the ReLU," : ",") + " for output rows [rowStart, rowEnd) of every sample: each output pixel gathers");
            w.Line("/// the taps that reach it (every TapStep-th tap from the first, the input moving back InputStep per tap), vectorized over the");
            w.L($"/// filters with the weights transposed to [KH, KW, C, F] in this thread's scratch, {TilePixels} pixels of one column phase at a time.");
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open($"public static void Forward<V>(ReadOnlySpan<float> input, int batch, {SizeParameters(p)}ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int rowStart, int rowEnd) where V : struct");
            EmitGeometry(w, p);
            w.Line("// The weights as [KH, KW, C, F]: the filters of one tap and input channel side by side.");
            w.Line("const int Taps = KernelHeight * KernelWidth;");
            w.Line("float[] transposed = KernelScratch.Get(0, Taps * InputChannels * Filters);");
            w.Line("ref float k = ref MemoryMarshal.GetReference(weights);");
            w.Line("ref float kt = ref MemoryMarshal.GetArrayDataReference(transposed);");
            w.Line("for (int tap = 0; tap < Taps; tap++)");
            w.Line("for (int f = 0; f < Filters; f++)");
            w.Line("for (int c = 0; c < InputChannels; c++)");
            w.Line("    Unsafe.Add(ref kt, (tap * InputChannels + c) * Filters + f) = Unsafe.Add(ref k, (tap * Filters + f) * InputChannels + c);");
            w.Line("ref float b = ref MemoryMarshal.GetReference(bias);");
            w.Line("ref float y = ref MemoryMarshal.GetReference(output);");
            w.Open("for (int n = 0; n < batch; n++)");
            w.Line("ref float x = ref Unsafe.Add(ref MemoryMarshal.GetReference(input), n * H * W * InputChannels);");
            w.Open("for (int oh = rowStart; oh < rowEnd; oh++)");
            w.Line("// The kernel rows kh0, kh0 + TapStepHeight, ... (rows of them) that reach row oh, from input row ih0 upwards.");
            w.Line("var (kh0, rows, ih0) = Geometry.TransposedTaps(oh + PadTop, KernelHeight, StrideHeight, DilationHeight, H);");
            w.Line("int pixel = (n * OH + oh) * OW;");
            string Single(string o) => $"{{ var t = Geometry.TransposedTaps({o} + PadLeft, KernelWidth, StrideWidth, DilationWidth, W); "
                + $"ForwardPixels1<V>(ref x, kh0, rows, ih0, t.First, t.Count, t.Input{WidthArgument(p, "W")}, ref kt, ref b, ref Unsafe.Add(ref y, (pixel + {o}) * Filters)); }}";
            w.Line("// Columns ow, ow + StrideWidth, ... (one phase) read the same taps, each one input column further, except near the borders:");
            w.L($"// {TilePixels} of them whose first and last read the same taps run as one register tile.");
            w.Open("for (int phase = 0; phase < StrideWidth && phase < OW; phase++)");
            w.Line("int ow = phase;");
            w.L($"for (; ow + {TilePixels - 1} * StrideWidth < OW; ow += {TilePixels} * StrideWidth)");
            w.Open();
            w.Line("var (kw0, columns, iw0) = Geometry.TransposedTaps(ow + PadLeft, KernelWidth, StrideWidth, DilationWidth, W);");
            w.L($"var last = Geometry.TransposedTaps(ow + {TilePixels - 1} * StrideWidth + PadLeft, KernelWidth, StrideWidth, DilationWidth, W);");
            w.Line("if (last.First == kw0 && last.Count == columns)");
            w.L($"    ForwardPixels{TilePixels}<V>(ref x, kh0, rows, ih0, kw0, columns, iw0{WidthArgument(p, "W")}, ref kt, ref b, ref Unsafe.Add(ref y, (pixel + ow) * Filters));");
            w.Line("else");
            w.L($"    for (int o = ow; o < ow + {TilePixels} * StrideWidth; o += StrideWidth) {Single("o")}");
            w.Close();
            w.Line($"for (; ow < OW; ow += StrideWidth) {Single("ow")}");
            w.Close();
            w.Close();
            w.Close();
            w.Close();
        }

        /// <summary>
        /// <paramref name="pixels"/> output pixels of one column phase (columns ow, ow + StrideWidth, ...) that read the same taps, pixel
        /// j at input column iw0 + j for each: every weight vector loaded feeds <paramref name="pixels"/> FMAs.
        /// </summary>
        private static void EmitForwardPixels(CodeWriter w, KernelPlan p, int pixels)
        {
            var m = p.Conv;
            var ps = new int[pixels];
            for (int i = 0; i < pixels; i++) ps[i] = i;
            string Each2(int u, Func<int, int, string> statement) => string.Join(" ", Array.ConvertAll(ps, i => Each(u, j => statement(i, j))));
            string XOff(int i) => i == 0 ? "c" : i == 1 ? "InputChannels + c" : $"{i} * InputChannels + c";
            string YOff(int i, string f) => i == 0 ? f : i == 1 ? $"StrideWidth * Filters + {f}" : $"{i} * StrideWidth * Filters + {f}";
            w.Line(pixels == 1
                ? "/// <summary>One output pixel: <paramref name=\"x\"/> is its sample, <paramref name=\"kt\"/> the transposed weights, <paramref name=\"y\"/> the pixel.</summary>"
                : $"/// <summary>{pixels} output pixels StrideWidth apart that read the same taps, pixel j one input column after pixel j - 1: <paramref name=\"y\"/> is the first.</summary>");
            w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
            w.Open($"private static void ForwardPixels{pixels}<V>(ref float x, int kh0, int rows, int ih0, int kw0, int columns, int iw0{WidthParameter(p, "W")}, ref float kt, ref float b, ref float y) where V : struct");
            w.Line("int vc = Count<V>();");
            // One pixel keeps 4 vectors of filters in flight; a tile 2 (8 accumulators with 16 vector registers).
            EmitBlocks(w, "f", "Filters", pixels == 1 ? [4, 1] : [2, 1], u =>
            {
                bool vector = u > 0;
                if (vector)
                {
                    for (int j = 0; j < u; j++) w.L($"var bias{j} = {(m.UseBias ? $"Load<V>(ref b, f{VOff(j)})" : "Zero<V>()")};");
                    w.Line(Each2(u, (i, j) => $"var a{i}{j} = bias{j};"));
                }
                else
                    w.Line(string.Join(" ", Array.ConvertAll(ps, i => m.UseBias ? $"float s{i} = Unsafe.Add(ref b, f);" : $"float s{i} = 0f;")));
                w.Open("for (int jh = 0; jh < rows; jh++)");
                w.Line("int row = (ih0 - jh * InputStepHeight) * W, tapRow = (kh0 + jh * TapStepHeight) * KernelWidth;");
                w.Open("for (int jw = 0; jw < columns; jw++)");
                w.Line("ref float xp = ref Unsafe.Add(ref x, (row + iw0 - jw * InputStepWidth) * InputChannels);");
                w.Line("ref float kp = ref Unsafe.Add(ref kt, (tapRow + kw0 + jw * TapStepWidth) * InputChannels * Filters + f);");
                w.Open("for (int c = 0; c < InputChannels; c++)");
                if (vector)
                {
                    w.Line("ref float kc = ref Unsafe.Add(ref kp, c * Filters);");
                    w.Line(Each(u, j => $"var k{j} = Load<V>(ref kc{VArg(j)});"));
                    foreach (int i in ps)
                    {
                        w.L($"var x{i} = Broadcast<V>(Unsafe.Add(ref xp, {XOff(i)}));");
                        w.Line(Each(u, j => $"a{i}{j} = Fma(x{i}, k{j}, a{i}{j});"));
                    }
                }
                else
                {
                    w.Line("float kc = Unsafe.Add(ref kp, c * Filters);");
                    w.Line(string.Join(" ", Array.ConvertAll(ps, i => $"s{i} = MathF.FusedMultiplyAdd(Unsafe.Add(ref xp, {XOff(i)}), kc, s{i});")));
                }
                w.Close();
                w.Close();
                w.Close();
                if (vector)
                    w.Line(Each2(u, (i, j) => $"Store({Act(p, $"a{i}{j}", true)}, ref y, {YOff(i, $"f{VOff(j)}")});"));
                else
                    w.Line(string.Join(" ", Array.ConvertAll(ps, i => $"Unsafe.Add(ref y, {YOff(i, "f")}) = {Act(p, $"s{i}", false)};")));
            });
            w.Close();
        }

        // ------------------------------------------------------------------------------------------------
        // Weight and bias gradients
        // ------------------------------------------------------------------------------------------------
        private static void EmitBackwardWeights(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            w.Line("/// <summary>");
            w.Line("/// dk[kh, kw, f, c] += sum over (n, ih, iw) of x[n, ih, iw, c] * dy[n, ih*sh - padTop + kh*dh, iw*sw - padLeft + kw*dw, f] (taps outside the");
            w.Line("/// output add nothing), and db[f] += dy summed over every pixel. Per sample row, kernel tap and filter, the input columns whose");
            w.Line("/// tap lands inside the output accumulate in registers, vectorized over the input channels, then add to dk once.");
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open($"public static void BackwardWeights<V>(ReadOnlySpan<float> input, int batch, {SizeParameters(p)}ReadOnlySpan<float> outputGradient, Span<float> weightsGradient, Span<float> biasGradient) where V : struct");
            EmitGeometry(w, p);
            w.Line("int vc = Count<V>();");
            w.Line("ref float x = ref MemoryMarshal.GetReference(input);");
            w.Line("ref float g = ref MemoryMarshal.GetReference(outputGradient);");
            w.Line("ref float dk = ref MemoryMarshal.GetReference(weightsGradient);");
            if (m.UseBias)
            {
                KernelEmitter.EmitBiasGradient(w, m.Filters, "g", "batch * OH * OW");
            }
            w.Open("for (int n = 0; n < batch; n++)");
            w.Open("for (int ih = 0; ih < H; ih++)");
            w.Line("int oh0 = ih * StrideHeight - PadTop; // the output row of tap kh = 0 (kh moves it down by DilationHeight)");
            w.Line("var (kh0, kh1) = Geometry.Taps(oh0, KernelHeight, DilationHeight, OH);");
            w.Line("int xRow = (n * H + ih) * W * InputChannels;");
            w.Open("for (int kh = kh0; kh < kh1; kh++)");
            w.Line("int gRow = (n * OH + oh0 + kh * DilationHeight) * OW;");
            w.Open("for (int kw = 0; kw < KernelWidth; kw++)");
            w.Line("int offset = kw * DilationWidth - PadLeft; // input column iw reaches output column iw * StrideWidth + offset");
            w.Line("var (iw0, iw1) = Geometry.Outputs(offset, StrideWidth, OW, W);");
            w.Line("if (iw0 >= iw1) continue;");
            w.Line("int tap = (kh * KernelWidth + kw) * Filters;");
            w.Line("int f = 0;");
            w.L($"for (; f + {TileFilters} <= Filters; f += {TileFilters}) WeightTap{TileFilters}<V>(ref x, xRow, ref g, gRow + offset, f, iw0, iw1, ref Unsafe.Add(ref dk, (tap + f) * InputChannels));");
            w.Line("for (; f < Filters; f++) WeightTap1<V>(ref x, xRow, ref g, gRow + offset, f, iw0, iw1, ref Unsafe.Add(ref dk, (tap + f) * InputChannels));");
            w.Close();
            w.Close();
            w.Close();
            w.Close();
            w.Close();
        }

        private static void EmitWeightTap(CodeWriter w, int filters)
        {
            var fs = new int[filters];
            for (int i = 0; i < filters; i++) fs[i] = i;
            string Each2(int u, Func<int, int, string> statement) => string.Join(" ", Array.ConvertAll(fs, i => Each(u, j => statement(i, j))));
            string DkOff(int i, string c) => i == 0 ? c : i == 1 ? $"InputChannels + {c}" : $"{i} * InputChannels + {c}";
            w.Line("/// <summary>");
            w.L($"/// dk[f{(filters > 1 ? " + i" : "")}, c] += sum over iw in [iw0, iw1) of x[xRow + iw * C + c] * dy at output column iw * StrideWidth (+ the offset in gRow),");
            w.L($"/// filter f{(filters > 1 ? $" + i for i < {filters}" : "")}: one tap of one sample row, vectorized over c, in registers until the end{(filters > 1 ? "; each input vector loaded feeds " + filters + " FMAs" : "")}.");
            w.Line("/// </summary>");
            w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
            w.Open($"private static void WeightTap{filters}<V>(ref float x, int xRow, ref float g, int gRow, int f, int iw0, int iw1, ref float dk) where V : struct");
            w.Line("int vc = Count<V>();");
            EmitBlocks(w, "c", "InputChannels", filters == 1 ? [4, 1] : [2, 1], u =>
            {
                bool vector = u > 0;
                w.Line(vector ? Each2(u, (i, j) => $"var a{i}{j} = Zero<V>();") : string.Join(" ", Array.ConvertAll(fs, i => $"float s{i} = 0f;")));
                w.Open("for (int iw = iw0; iw < iw1; iw++)");
                w.Line("int at = xRow + iw * InputChannels + c;");
                w.Line("ref float gp = ref Unsafe.Add(ref g, (gRow + iw * StrideWidth) * Filters + f);");
                if (vector)
                {
                    w.Line(Each(u, j => $"var x{j} = Load<V>(ref x, at{VOff(j)});"));
                    foreach (int i in fs)
                    {
                        w.L($"var g{i} = Broadcast<V>({(i == 0 ? "gp" : $"Unsafe.Add(ref gp, {i})")});");
                        w.Line(Each(u, j => $"a{i}{j} = Fma(g{i}, x{j}, a{i}{j});"));
                    }
                }
                else
                {
                    w.Line("float xc = Unsafe.Add(ref x, at);");
                    w.Line(string.Join(" ", Array.ConvertAll(fs, i => $"s{i} = MathF.FusedMultiplyAdd({(i == 0 ? "gp" : $"Unsafe.Add(ref gp, {i})")}, xc, s{i});")));
                }
                w.Close();
                w.Line(vector ? Each2(u, (i, j) => $"Store(Add(Load<V>(ref dk, {DkOff(i, $"c{VOff(j)}")}), a{i}{j}), ref dk, {DkOff(i, $"c{VOff(j)}")});")
                    : string.Join(" ", Array.ConvertAll(fs, i => $"Unsafe.Add(ref dk, {DkOff(i, "c")}) += s{i};")));
            });
            w.Close();
        }

        // ------------------------------------------------------------------------------------------------
        // Input gradient
        // ------------------------------------------------------------------------------------------------
        private static void EmitBackwardInput(CodeWriter w, KernelPlan p)
        {
            w.Line("/// <summary>");
            w.Line("/// dx[n, ih, iw, c] += sum over the (kh, kw) whose output pixel (ih*sh - padTop + kh*dh, iw*sw - padLeft + kw*dw) exists, and over f, of");
            w.Line("/// dy[n, that pixel, f] * k[kh, kw, f, c]: the strided cross-correlation of dy with the weights, vectorized over the input channels.");
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open($"public static void BackwardInput<V>(int batch, {SizeParameters(p)}ReadOnlySpan<float> weights, ReadOnlySpan<float> outputGradient, Span<float> inputGradient) where V : struct");
            EmitGeometry(w, p);
            w.Line("ref float k = ref MemoryMarshal.GetReference(weights);");
            w.Line("ref float dx = ref MemoryMarshal.GetReference(inputGradient);");
            w.Open("for (int n = 0; n < batch; n++)");
            w.Line("ref float g = ref Unsafe.Add(ref MemoryMarshal.GetReference(outputGradient), n * OH * OW * Filters);");
            w.Open("for (int ih = 0; ih < H; ih++)");
            w.Line("int oh0 = ih * StrideHeight - PadTop; // the output row of tap kh = 0");
            w.Line("var (kh0, kh1) = Geometry.Taps(oh0, KernelHeight, DilationHeight, OH);");
            w.Open("for (int iw = 0; iw < W; iw++)");
            w.Line("int ow0 = iw * StrideWidth - PadLeft;");
            w.Line("var (kw0, kw1) = Geometry.Taps(ow0, KernelWidth, DilationWidth, OW);");
            w.L($"BackwardInputPixel<V>(ref g, oh0, kh0, kh1, ow0, kw0, kw1{WidthArgument(p, "OW")}, ref k, ref Unsafe.Add(ref dx, ((n * H + ih) * W + iw) * InputChannels));");
            w.Close();
            w.Close();
            w.Close();
            w.Close();
        }

        private static void EmitBackwardInputPixel(CodeWriter w, KernelPlan p)
        {
            w.Line("/// <summary>One input pixel's gradient <paramref name=\"dx\"/>: the taps [kh0, kh1) x [kw0, kw1) whose output pixel exists, <paramref name=\"g\"/> the sample's dy.</summary>");
            w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
            w.Open($"private static void BackwardInputPixel<V>(ref float g, int oh0, int kh0, int kh1, int ow0, int kw0, int kw1{WidthParameter(p, "OW")}, ref float k, ref float dx) where V : struct");
            w.Line("int vc = Count<V>();");
            EmitBlocks(w, "c", "InputChannels", [4, 2, 1], u =>
            {
                bool vector = u > 0;
                w.Line(vector ? Each(u, j => $"var a{j} = Load<V>(ref dx, c{VOff(j)});") : "float s = Unsafe.Add(ref dx, c);");
                w.Line("for (int kh = kh0; kh < kh1; kh++)");
                w.Open("for (int kw = kw0; kw < kw1; kw++)");
                w.Line("ref float gp = ref Unsafe.Add(ref g, ((oh0 + kh * DilationHeight) * OW + ow0 + kw * DilationWidth) * Filters);");
                w.Line("ref float kp = ref Unsafe.Add(ref k, (kh * KernelWidth + kw) * Filters * InputChannels + c);");
                w.Open("for (int f = 0; f < Filters; f++)");
                if (vector)
                {
                    w.Line("var gv = Broadcast<V>(Unsafe.Add(ref gp, f));");
                    w.Line("ref float kf = ref Unsafe.Add(ref kp, f * InputChannels);");
                    w.Line(Each(u, j => $"a{j} = Fma(gv, Load<V>(ref kf{VArg(j)}), a{j});"));
                }
                else
                    w.Line("s = MathF.FusedMultiplyAdd(Unsafe.Add(ref gp, f), Unsafe.Add(ref kp, f * InputChannels), s);");
                w.Close();
                w.Close();
                w.Line(vector ? Each(u, j => $"Store(a{j}, ref dx, c{VOff(j)});") : "Unsafe.Add(ref dx, c) = s;");
            });
            w.Close();
        }

        // ------------------------------------------------------------------------------------------------
        // A [Conv2DTranspose] class: its header and output sizes
        // ------------------------------------------------------------------------------------------------

        /// <summary>The configuration and every derived number of a <c>[Conv2DTranspose]</c> class, so the file explains itself.</summary>
        public static void EmitHeader(CodeWriter w, LayerClassModel model)
        {
            var m = model.Conv;
            var (top, left) = Crop(m);
            w.L($"// ConvGen: 2-D transposed convolution specialized for {model.Target.FullName}.");
            w.Line("//");
            w.L($"//   [Conv2DTranspose({m.KernelHeight}, {m.KernelWidth}, Filters = {m.Filters}, InputChannels = {m.InputChannels}, StrideHeight = {m.StrideHeight}, StrideWidth = {m.StrideWidth},");
            w.L($"//           DilationHeight = {m.DilationHeight}, DilationWidth = {m.DilationWidth}, Padding = Padding.{m.Padding}, UseBias = {(m.UseBias ? "true" : "false")}, Activation = Activation.{m.Activation})]");
            w.Line("//");
            w.L($"//   input    NHWC [batch, height, width, {m.InputChannels}]");
            w.L($"//   weights  [{m.KernelHeight}, {m.KernelWidth}, {m.Filters}, {m.InputChannels}] ({m.WeightCount} values; KH, KW, F, C: Keras' transposed kernel, filters before input channels)");
            w.Line(m.UseBias ? $"//   bias     [{m.Filters}]" : "//   bias     none (UseBias = false)");
            w.L($"//   output   NHWC [batch, outputHeight, outputWidth, {m.Filters}]");
            w.L($"//   window   {m.ExtentHeight} x {m.ExtentWidth} output positions (kernel {m.KernelHeight} x {m.KernelWidth}, dilation {m.DilationHeight} x {m.DilationWidth}), {m.Taps} taps");
            if (m.Same)
            {
                w.L($"//   Same     outputHeight = height * {m.StrideHeight}, outputWidth = width * {m.StrideWidth}; cropped before: top {top}, left {left}");
                w.Line("//            (max(extent - stride, 0) / 2: TF's 'same' padding of the convolution whose input gradient this is, on the output size)");
            }
            else
            {
                w.L($"//   Valid    outputHeight = (height - 1) * {m.StrideHeight} + {Math.Max(m.ExtentHeight, m.StrideHeight)}, outputWidth = (width - 1) * {m.StrideWidth} + {Math.Max(m.ExtentWidth, m.StrideWidth)}");
                w.Line("//            ((input - 1) * stride + max(extent, stride), as Keras); nothing cropped" + (m.StrideHeight > m.ExtentHeight || m.StrideWidth > m.ExtentWidth
                    ? $"; a stride above the extent leaves the last stride - extent positions of each stride with no input ({(m.UseBias ? "the bias" : "zero")})" : ""));
            }
            w.Line("//");
            w.Line("//   Input pixel (ih, iw) and tap (kh, kw) reach output pixel (ih * StrideHeight - PadTop + kh * DilationHeight, iw * StrideWidth - PadLeft");
            w.Line("//   + kw * DilationWidth): the forward pass is the input gradient of the convolution with these weights (HWIO [KH, KW, F, C], F in, C out),");
            w.Line("//   its input gradient is that convolution of the output gradient. The kernels are generic over the vector type V and run at the width");
            w.Line("//   ConvGen.Internal.Simd.Lanes picks: 16 floats where AVX-512 is accelerated, else 8 (AVX2), else 4. The static kernels stay linear;");
            w.Line("//   the layer applies the activation.");
            w.Line("//");
            w.Line("// Legend: n sample, ih/iw input row/column, oh/ow output row/column, kh/kw kernel tap, jh/jw the taps that reach one output position,");
            w.Line("// c input channel, f filter, vc floats per vector.");
        }

        /// <summary>A <c>[Conv2DTranspose]</c> class's <c>OutputHeight</c> or <c>OutputWidth</c>: Keras' size, checked to fit in an int.</summary>
        public static void EmitOutputSize(CodeWriter w, ConvSpec m, string axis, string arg, string unit, string kernel, string stride, string dilation)
        {
            string rule = m.Same ? $"<c>{arg} * {stride}</c>" : $"<c>({arg} - 1) * {stride} + max(({kernel} - 1) * {dilation} + 1, {stride})</c>";
            w.Line($"/// <summary>Output {unit}s for <paramref name=\"{arg}\"/> input {unit}s: {rule}.</summary>");
            w.Line($"/// <exception cref=\"global::System.ArgumentException\">The {axis.ToLowerInvariant()} is not positive, or the output would have more than int.MaxValue {unit}s.</exception>");
            w.Open($"public static int Output{axis}(int {arg})");
            w.Line($"global::ConvGen.Internal.KernelGuard.Positive({arg}, nameof({arg}));");
            w.Line($"long size = global::ConvGen.Internal.Geometry.TransposedOutputSize({arg}, {kernel}, {stride}, {dilation}, same: {(m.Same ? "true" : "false")});");
            w.Line($"if (size > int.MaxValue) throw new global::System.ArgumentException($\"{arg} is {{{arg}}}; the output would have {{size}} {unit}s, more than int.MaxValue.\", nameof({arg}));");
            w.Line("return (int)size;");
            w.Close();
            w.Line();
        }

        // ------------------------------------------------------------------------------------------------
        // A network layer's kernel class
        // ------------------------------------------------------------------------------------------------

        /// <summary>The kernels of a network's transposed convolution, with the network's sizes as constants, behind <c>IConv2DTransposeKernel</c>.</summary>
        public static void EmitNetworkKernel(CodeWriter w, NetworkModel model, NetworkLayer l, string className)
        {
            var c = l.Conv!;
            var plan = new KernelPlan(c, className, l.InH, l.InW, FusePool: false);
            w.L($"/// <summary>The kernels of <see cref=\"global::{model.Target.FullName}\"/>'s {l.Name}: transposed {c.KernelHeight}x{c.KernelWidth}, {l.InH}x{l.InW}x{l.InC} to {l.OutH}x{l.OutW}x{l.OutC}, every size a constant.</summary>");
            w.L($"[global::System.CodeDom.Compiler.GeneratedCode(\"ConvGen.Generator\", \"{KernelEmitter.Version}\")]");
            w.Open($"file sealed class {className} : global::ConvGen.IConv2DTransposeKernel");
            w.L($"public static global::ConvGen.Conv2DTransposeSpec Spec => new(KernelHeight, KernelWidth, InputChannels, Filters, StrideHeight, StrideWidth, DilationHeight, DilationWidth, global::ConvGen.Padding.{c.Padding}, {(c.UseBias ? "true" : "false")}, global::ConvGen.Activation.{c.Activation});");
            w.L($"public static int FixedHeight => {l.InH};");
            w.L($"public static int FixedWidth => {l.InW};");
            // The kernels fuse a ReLU; any other activation the layer applies to the output slice they just wrote.
            w.L($"public static bool AppliesActivation => {(c.Activation is Activation.None or Activation.ReLU ? "true" : "false")};");
            w.L($"public static int OutputHeight(int inputHeight) => {l.OutH};");
            w.L($"public static int OutputWidth(int inputWidth) => {l.OutW};");
            w.Line();
            w.Line("// Entry points: the layer (ConvGen.Conv2DTransposeLayer) sliced every span to these sizes; each call runs at the width Simd.Lanes picks.");
            w.Open("public static void ForwardRows(ReadOnlySpan<float> input, int batch, int height, int width, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int rowStart, int rowEnd)");
            KernelEmitter.EmitDispatch(w, "Forward<{V}>(input, batch, weights, bias, output, rowStart, rowEnd)");
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

        /// <summary>Members a <c>[Conv2DTranspose]</c> class's generated part and its base class give it (a user member with one is CONVGEN009).</summary>
        public static readonly HashSet<string> ReservedMemberNames = new(StringComparer.Ordinal)
        {
            "KernelHeight", "KernelWidth", "InputChannels", "Filters", "StrideHeight", "StrideWidth", "DilationHeight", "DilationWidth",
            "Padding", "UseBias", "Activation", "Spec", "OutputHeight", "OutputWidth", "Forward", "ForwardRows", "Backward", "BackwardWeights", "BackwardInput",
            "Name", "Input", "InputNames", "HasExplicitName", "TypeName", "BaseName", "Parameters", "State", "Kernel", "Bias", "Configuration",
            "Build", "RunForward", "RunBackward", "ForwardPhases", "BackwardPhases", "OutputActivation", "FoldsInputRelu", "CanFuseForward",
            "FixedHeight", "FixedWidth", "AppliesActivation",
        };
    }
}
