using System;
using System.Collections.Generic;
using System.Linq;
using ConvGen.Generator.Helpers;
using ConvGen.Generator.Models;

namespace ConvGen.Generator;

public sealed partial class ConvGenerator
{
    /// <summary>
    /// The kernels of a grouped convolution (<c>[Conv2D]</c> with <c>Groups</c> G above 1): the C input channels and the F filters are
    /// split into G groups, and filter f of group g = f / (F/G) reads input channels [g*C/G, (g+1)*C/G) only, with weights
    /// <c>[KH, KW, C/G, F]</c>. Per group the kernels are those of an ordinary convolution with C/G channels and F/G filters, vectorized
    /// over the group's filters with the input broadcast (as <see cref="KernelEmitter"/> does over all filters): each output row runs
    /// in register tiles of <see cref="TilePixels"/> pixels; the group's filters go in vectors of the kernel's width (two at a time for
    /// groups of 32 or more at 16 floats), then one of 8 and one of 4 floats where the width is larger (a group of 4 filters still runs
    /// 4 lanes wide at any width), then single filters.
    /// 'same' padding reads a zero-padded copy of each sample, so every window is whole. With one channel per group (G = C) the
    /// convolution is a depthwise one with F/C filters per channel, and its weights <c>[KH, KW, 1, F]</c> are the depthwise
    /// <c>[KH, KW, C, F/C]</c> in memory: <see cref="DepthwiseEmitter"/> writes its kernels (vectorized over channels).
    /// </summary>
    internal static class GroupedEmitter
    {
        /// <summary>Output pixels per forward register tile: each weight vector loaded feeds this many FMAs.</summary>
        private const int TilePixels = 8;

        /// <summary>Output pixels per register tile of the input gradient (then 4, then 1): 8 independent sums hide the FMA latency.</summary>
        private const int GradientPixels = 8;

        /// <summary>Input channels per register tile of the weight gradient (then 4, then the rest): each gradient vector loaded feeds this many FMAs.</summary>
        private const int TileChannels = 8;

        private const string Optimized = "[MethodImpl(MethodImplOptions.AggressiveOptimization)]";

        private const string Inlined = "[MethodImpl(MethodImplOptions.AggressiveInlining)]";

        private const string Vector256 = "global::System.Runtime.Intrinsics.Vector256<float>", Vector128 = "global::System.Runtime.Intrinsics.Vector128<float>";

        private static string Str(long v) => KernelEmitter.Str(v);

        /// <summary>Whether the convolution is a depthwise one (one channel per group), emitted by <see cref="DepthwiseEmitter"/>.</summary>
        public static bool IsDepthwise(ConvSpec m) => m.GroupChannels == 1;

        /// <summary>The depthwise convolution a grouped one with one channel per group is: C channels, F/C filters each.</summary>
        private static ConvSpec AsDepthwise(ConvSpec m) => m with { Depthwise = true, Filters = m.GroupFilters, Groups = 1 };

        /// <summary>How the header describes the kernels' loops.</summary>
        public static string Describe(ConvSpec m) => IsDepthwise(m)
            ? "one channel per group: the depthwise kernels ([DepthwiseConv2D] with DepthMultiplier = F/C)"
            : $"looped, {m.Groups} groups of {m.GroupChannels} channels x {m.GroupFilters} filters, vectorized over a group's filters";

        /// <summary>The kernel class's constants and generic methods.</summary>
        public static void EmitMembers(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            if (IsDepthwise(m))
            {
                w.L($"// Groups = InputChannels: each group is one channel with {m.GroupFilters} filter{(m.GroupFilters == 1 ? "" : "s")}, a depthwise convolution whose weights [KH, KW, 1, F]");
                w.Line("// are the depthwise [KH, KW, C, F/C] in memory, so the kernels below are the depthwise ones (channel c, filter m is output c * M + m).");
                w.L($"private const int Filters = {m.Filters}, Groups = {m.Groups};");
                DepthwiseEmitter.EmitMembers(w, p with { Conv = AsDepthwise(m) });
                return;
            }
            w.L($"private const int KernelHeight = {m.KernelHeight}, KernelWidth = {m.KernelWidth}, InputChannels = {m.InputChannels}, Filters = {m.Filters}, Groups = {m.Groups};");
            w.L($"private const int GroupChannels = {m.GroupChannels}, GroupFilters = {m.GroupFilters}; // each group's input channels and filters");
            w.L($"private const int StrideHeight = {m.StrideHeight}, StrideWidth = {m.StrideWidth}, DilationHeight = {m.DilationHeight}, DilationWidth = {m.DilationWidth};");
            if (m.KernelWidth > 1)
                w.L($"private const int ColumnStep = {Str((long)m.DilationWidth * m.InputChannels)}; // input elements between two kernel columns");
            if (p.Fixed && m.KernelHeight > 1)
                w.L($"private const int RowStep = {Str((long)m.DilationHeight * ImageWidth(p) * m.InputChannels)}; // input elements between two kernel rows{(Pads(p) ? " of the padded image" : "")}");
            w.Line();
            EmitForward(w, p);
            foreach (int pixels in ForwardTiles(p))
            {
                w.Line();
                EmitForwardTile(w, p, pixels);
                if (Pairs(m, pixels))
                {
                    w.Line();
                    EmitForwardBlock(w, p, pixels, vector: true, pair: true);
                }
                foreach (bool vector in Blocks(m.GroupFilters))
                {
                    w.Line();
                    EmitForwardBlock(w, p, pixels, vector);
                }
            }
            w.Line();
            EmitBackwardWeights(w, p);
            w.Line();
            EmitWeightGradientTap(w, p);
            foreach (bool vector in Blocks(m.GroupFilters))
            {
                w.Line();
                EmitWeightGradientBlock(w, p, vector);
            }
            w.Line();
            EmitBackwardInput(w, p);
            w.Line();
            EmitInputGradientTap(w, p);
            foreach (bool vector in Blocks(m.GroupChannels))
            {
                w.Line();
                if (vector) EmitInputGradientBlock(w, p);
                else EmitInputGradientChannel(w, p);
            }
        }

        /// <summary>
        /// Whether the widest forward tile also runs two filter vectors at a time (at 16 floats a vector, where 32 registers hold
        /// 8 pixels x 2 vectors of sums): each input value broadcast then feeds two FMAs. For groups of 32 filters or more.
        /// </summary>
        private static bool Pairs(ConvSpec m, int pixels) => pixels == TilePixels && m.GroupFilters >= 32;

        /// <summary>Which kinds of block a group's <paramref name="size"/> filters or channels run: vectors (4 or more), single values (not a multiple of 4).</summary>
        private static IEnumerable<bool> Blocks(int size) => new[] { true, false }.Where(vector => vector ? size >= 4 : size % 4 != 0);

        // ------------------------------------------------------------------------------------------------
        // Geometry.
        // ------------------------------------------------------------------------------------------------

        /// <summary>
        /// The forward tiles whose offsets fit in an int, widest first: a tile's last pixel is (pixels - 1) * StrideWidth * InputChannels
        /// past its first; beyond int (a stride near int.MaxValue) no input is wide enough for the tile ever to run.
        /// </summary>
        private static IEnumerable<int> Tiles(ConvSpec m)
            => new[] { TilePixels, TilePixels / 2 }.Where(pixels => Fits(m, pixels));

        /// <summary>The forward tiles a plan runs: for a network's fixed width only the one its rows use, else every tile and single pixels.</summary>
        private static int[] ForwardTiles(KernelPlan p)
            => p.Fixed ? [Tiles(p.Conv).FirstOrDefault(pixels => pixels <= p.OutputWidth) is int tile and > 0 ? tile : 1] : [.. Tiles(p.Conv), 1];

        private static bool Fits(ConvSpec m, int pixels) => (long)(pixels - 1) * m.StrideWidth * m.InputChannels <= int.MaxValue - m.InputChannels;

        /// <summary>Whether the forward pass reads a zero-padded copy of each sample ('same' padding that pads something).</summary>
        private static bool Pads(KernelPlan p)
        {
            var m = p.Conv;
            if (!m.Same) return false;
            if (!p.Fixed) return m.ExtentHeight > 1 || m.ExtentWidth > 1;
            var (top, bottom) = p.PaddingHeight;
            var (left, right) = p.PaddingWidth;
            return top + bottom + left + right > 0;
        }

        /// <summary>The width of the image a network's forward pass reads: the padded copy's when it pads, else the input's.</summary>
        private static int ImageWidth(KernelPlan p) => Pads(p) ? p.FixedWidth + p.PaddingWidth.Before + p.PaddingWidth.After : p.FixedWidth;

        private static string SizeParameters(KernelPlan p) => p.Fixed ? "" : "int height, int width, ";

        private static string RowStepParameter(KernelPlan p) => p.Fixed || p.Conv.KernelHeight == 1 ? "" : "int RowStep, ";

        private static string RowStepArgument(KernelPlan p) => p.Fixed || p.Conv.KernelHeight == 1 ? "" : "RowStep, ";

        /// <summary>The offset of tap (kh, kw) from the window's top-left in the input, without the axes a 1-tap kernel lacks.</summary>
        private static string TapOffset(ConvSpec m, string rowStep)
        {
            var terms = new List<string>();
            if (m.KernelHeight > 1) terms.Add($"kh * {rowStep}");
            if (m.KernelWidth > 1) terms.Add("kw * ColumnStep");
            return terms.Count == 0 ? "0" : string.Join(" + ", terms);
        }

        /// <summary>The sizes: constants in a network's kernels, from ConvGen.Internal.Geometry at run time otherwise; and the padding.</summary>
        private static void EmitGeometry(CodeWriter w, KernelPlan p, bool forward)
        {
            var m = p.Conv;
            string same = m.Same ? "true" : "false";
            bool pads = forward && Pads(p);
            if (p.Fixed)
            {
                w.L($"// Sizes fixed by the network: a {p.FixedHeight}x{p.FixedWidth}x{m.InputChannels} input, a {p.OutputHeight}x{p.OutputWidth}x{m.Filters} output.");
                w.L($"const int height = {p.FixedHeight}, width = {p.FixedWidth}, outputHeight = {p.OutputHeight}, outputWidth = {p.OutputWidth};");
                if (!m.Same || (forward && !pads)) return;
                w.Line("// TF 'same' padding: the smaller half on top/left, the odd one extra at the bottom/right.");
                w.L($"const int padTop = {p.PaddingHeight.Before}, padLeft = {p.PaddingWidth.Before};");
                if (pads)
                    w.L($"const int paddedHeight = {p.FixedHeight + p.PaddingHeight.Before + p.PaddingHeight.After}, paddedWidth = {ImageWidth(p)};");
                return;
            }
            w.L($"int outputHeight = Geometry.OutputSize(height, KernelHeight, StrideHeight, DilationHeight, same: {same});");
            w.L($"int outputWidth = Geometry.OutputSize(width, KernelWidth, StrideWidth, DilationWidth, same: {same});");
            if (!m.Same || (forward && !pads))
            {
                if (forward && m.KernelHeight > 1) w.Line("int RowStep = DilationHeight * width * InputChannels; // input elements between two kernel rows");
                return;
            }
            w.Line("// TF 'same' padding for this input size: the smaller half on top/left, the odd one extra at the bottom/right.");
            if (pads)
            {
                w.Line("var (padTop, padBottom) = Geometry.Padding(height, KernelHeight, StrideHeight, DilationHeight, same: true);");
                w.Line("var (padLeft, padRight) = Geometry.Padding(width, KernelWidth, StrideWidth, DilationWidth, same: true);");
                w.Line("int paddedHeight = height + padTop + padBottom, paddedWidth = width + padLeft + padRight;");
                if (m.KernelHeight > 1) w.Line("int RowStep = DilationHeight * paddedWidth * InputChannels; // input elements between two kernel rows of the padded image");
                return;
            }
            w.Line("int padTop = Geometry.Padding(height, KernelHeight, StrideHeight, DilationHeight, same: true).Before;");
            w.Line("int padLeft = Geometry.Padding(width, KernelWidth, StrideWidth, DilationWidth, same: true).Before;");
        }

        /// <summary>A value about to be stored, through the ReLU when the kernel applies it.</summary>
        private static string Act(KernelPlan p, string value, bool vector)
            => !p.AppliesRelu ? value : vector ? $"Relu({value})" : $"MathF.Max({value}, 0f)";

        /// <summary>
        /// Blocks over a group's <paramref name="size"/> filters or channels (a constant) from <paramref name="counter"/>: vectors of the
        /// kernel's width V, then (where V is wider) one of 8 floats and one of 4, then single values; blocks that can never run for
        /// this size are left out. <paramref name="call"/> gets the vector type (null for single values) and writes the block's call.
        /// </summary>
        private static void EmitGroupBlocks(CodeWriter w, int size, string counter, string end, Func<string?, string> call)
        {
            if (size >= 4) w.L($"for (; {counter} <= {end} - vc; {counter} += vc) {call("V")}");
            if (size % 16 >= 8) w.L($"if (vc > 8 && {counter} <= {end} - 8) {{ {call(Vector256)} {counter} += 8; }}");
            if (size % 8 >= 4) w.L($"if (vc > 4 && {counter} <= {end} - 4) {{ {call(Vector128)} {counter} += 4; }}");
            if (size % 4 != 0) w.L($"for (; {counter} < {end}; {counter}++) {call(null)}");
        }

        // ------------------------------------------------------------------------------------------------
        // Forward.
        // ------------------------------------------------------------------------------------------------

        private static void EmitForward(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            bool pads = Pads(p);
            var tiles = ForwardTiles(p).Where(pixels => pixels > 1).ToArray();
            string image = pads ? "paddedWidth" : "width";
            w.Line("/// <summary>");
            w.Line("/// y[n, oh, ow, f] = b[f] + sum over (kh, kw, c) of x[n, ih0 + kh * DilationHeight, iw0 + kw * DilationWidth, g * GroupChannels + c] * k[kh, kw, c, f],");
            w.Line("/// for the group g = f / GroupFilters of each filter" + (p.AppliesRelu ? ", then the ReLU." : "."));
            w.Line(pads
                ? "/// Each sample is first copied into a zeroed image with the padding around it, so every window is whole (the zeros add nothing)."
                : m.Same ? "/// 'same' padding that pads nothing: every window is inside the input." : "/// Every window is inside the input (Valid).");
            w.Line(tiles.Length > 0
                ? $"/// Each output row runs in tiles of {string.Join(" or ", tiles)} pixels, the last one overlapping the one before (those pixels are computed twice, to the same value); narrower rows pixel by pixel."
                : "/// Pixel by pixel (a tile's offsets would overflow).");
            w.Line("/// Only output rows [rowStart, rowEnd) are written, in every sample (0 <= rowStart <= rowEnd <= outputHeight): threads can share a sample.");
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open($"public static void Forward<V>(ReadOnlySpan<float> input, int batch, {SizeParameters(p)}ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int rowStart, int rowEnd) where V : struct");
            EmitGeometry(w, p, forward: true);
            if (pads)
            {
                w.Line("float[] padded = KernelScratch.Get(0, paddedHeight * paddedWidth * InputChannels);");
                w.Line("var image = padded.AsSpan(0, paddedHeight * paddedWidth * InputChannels);");
                w.Line("image.Clear();");
            }
            w.Line("ref float k = ref MemoryMarshal.GetReference(weights);");
            w.Line(KernelEmitter.BiasReference(m.UseBias, "Filters"));
            w.Line("ref float y = ref MemoryMarshal.GetReference(output);");
            w.Open("for (int n = 0; n < batch; n++)");
            if (pads)
            {
                w.Line("for (int h = 0; h < height; h++)");
                w.Line("    input.Slice((n * height + h) * width * InputChannels, width * InputChannels).CopyTo(image.Slice(((h + padTop) * paddedWidth + padLeft) * InputChannels));");
                w.Line("ref float x = ref MemoryMarshal.GetArrayDataReference(padded);");
            }
            else
                w.Line("ref float x = ref Unsafe.Add(ref MemoryMarshal.GetReference(input), n * height * width * InputChannels);");
            w.Open("for (int oh = rowStart; oh < rowEnd; oh++)");
            w.L($"int row = oh * StrideHeight * {image}; // the windows' top row in the image");
            w.Line("ref float yr = ref Unsafe.Add(ref y, (n * outputHeight + oh) * outputWidth * Filters);");
            string Tile(int pixels, string ow) => $"ForwardTile{pixels}<V>(ref Unsafe.Add(ref x, (row + {ow} * StrideWidth) * InputChannels), {RowStepArgument(p)}ref k, ref b, ref Unsafe.Add(ref yr, {ow} * Filters));";
            for (int t = 0; t < tiles.Length; t++)
            {
                int pixels = tiles[t];
                w.Open($"{(t == 0 ? "" : "else ")}if (outputWidth >= {pixels})");
                w.L($"int ow = 0;");
                w.L($"for (; ow + {pixels} <= outputWidth; ow += {pixels}) {Tile(pixels, "ow")}");
                w.L($"if (ow < outputWidth) {Tile(pixels, $"(outputWidth - {pixels})")} // the last tile overlaps the one before");
                w.Close();
            }
            if (ForwardTiles(p).Contains(1)) w.Line($"{(tiles.Length > 0 ? "else " : "")}for (int ow = 0; ow < outputWidth; ow++) {Tile(1, "ow")}");
            w.Close();
            w.Close();
            w.Close();
        }

        /// <summary><paramref name="pixels"/> neighbouring output pixels, every group: the group's filters block by block.</summary>
        private static void EmitForwardTile(CodeWriter w, KernelPlan p, int pixels)
        {
            var m = p.Conv;
            string what = pixels == 1 ? "One output pixel" : $"{pixels} neighbouring output pixels of a row";
            w.L($"/// <summary>{what}: x is the{(pixels == 1 ? "" : " first")} window's top-left (channel 0), y the{(pixels == 1 ? "" : " first")} pixel. Group by group, block by block of its filters.</summary>");
            w.Line(Optimized);
            w.Open($"private static void ForwardTile{pixels}<V>(ref float x, {RowStepParameter(p)}ref float k, ref float b, ref float y) where V : struct");
            w.Line("int vc = Count<V>(); // floats per vector");
            w.Open("for (int g = 0; g < Groups; g++)");
            w.Line("ref float xg = ref Unsafe.Add(ref x, g * GroupChannels); // the group's first input channel");
            w.Line("int f = g * GroupFilters, end = f + GroupFilters; // the group's filters [f, end)");
            if (Pairs(m, pixels))
                w.L($"for (; vc >= 16 && f <= end - 2 * vc; f += 2 * vc) ForwardBlock{pixels}x2<V>(ref xg, {RowStepArgument(p)}ref k, ref b, ref y, f);");
            EmitGroupBlocks(w, m.GroupFilters, "f", "end", type => type is null
                ? $"ForwardBlock{pixels}(ref xg, {RowStepArgument(p)}ref k, ref b, ref y, f);"
                : $"ForwardBlock{pixels}<{type}>(ref xg, {RowStepArgument(p)}ref k, ref b, ref y, f);");
            w.Close();
            w.Close();
        }

        /// <summary>
        /// The sums of one block of filters [f, f + Count&lt;W&gt;) (or the single filter f) for <paramref name="pixels"/> pixels: accumulators
        /// start at the bias and add, tap by tap and channel by channel, the broadcast input times the weight vector, each a fused
        /// multiply-add; every tile adds in this order, so overlapping tiles write the same values.
        /// </summary>
        private static void EmitForwardBlock(CodeWriter w, KernelPlan p, int pixels, bool vector, bool pair = false)
        {
            var m = p.Conv;
            var ps = Enumerable.Range(0, pixels).ToArray();
            long pixelStep = (long)m.StrideWidth * m.InputChannels;
            string filters = pair ? "[f, f + 2 * Count{W}) (sums a: the first vector, h: the second)" : vector ? "[f, f + Count{W})" : "f";
            w.L($"/// <summary>Filters {filters} of {(pixels == 1 ? "one pixel" : $"{pixels} pixels")}: x is the group's first channel in the{(pixels == 1 ? "" : " first")} window's top-left.</summary>");
            w.Line(Inlined);
            w.Open(vector
                ? $"private static void ForwardBlock{pixels}{(pair ? "x2" : "")}<W>(ref float x, {RowStepParameter(p)}ref float k, ref float b, ref float y, int f) where W : struct"
                : $"private static void ForwardBlock{pixels}(ref float x, {RowStepParameter(p)}ref float k, ref float b, ref float y, int f)");
            if (pair) w.Line("int vc = Count<W>(); // floats per vector");
            string bias = vector ? "Load<W>(ref b, f)" : "Unsafe.Add(ref b, f)";
            w.Line($"{(vector ? "var" : "float")} a0 = {bias};" + string.Concat(ps.Skip(1).Select(i => $" {(vector ? "var" : "float")} a{i} = a0;")));
            if (pair) w.Line("var h0 = Load<W>(ref b, f + vc);" + string.Concat(ps.Skip(1).Select(i => $" var h{i} = h0;")));
            w.Line("for (int kh = 0; kh < KernelHeight; kh++)");
            w.Open("for (int kw = 0; kw < KernelWidth; kw++)");
            w.L($"ref float xt = ref Unsafe.Add(ref x, {TapOffset(m, "RowStep")}); // the tap in the first window");
            w.Line("ref float kt = ref Unsafe.Add(ref k, (kh * KernelWidth + kw) * (GroupChannels * Filters) + f); // k[kh, kw, 0, f]");
            void Channel(int? c) // a constant channel when unrolled, else the loop's c
            {
                string kc = c is null ? "c * Filters" : Str((long)c.Value * m.Filters);
                w.Line(vector ? $"var wv = Load<W>(ref kt, {kc});" : $"float wv = Unsafe.Add(ref kt, {kc});");
                if (pair) w.Line($"var wh = Load<W>(ref kt, {kc} + vc);");
                foreach (int i in ps)
                {
                    string at = c is null ? (i == 0 ? "c" : $"c + {Str(i * pixelStep)}") : Str(c.Value + i * pixelStep);
                    if (pair)
                        w.Line($"{{ var xv = Broadcast<W>(Unsafe.Add(ref xt, {at})); a{i} = Fma(xv, wv, a{i}); h{i} = Fma(xv, wh, h{i}); }}");
                    else
                        w.Line(vector ? $"a{i} = Fma(Broadcast<W>(Unsafe.Add(ref xt, {at})), wv, a{i});" : $"a{i} = MathF.FusedMultiplyAdd(Unsafe.Add(ref xt, {at}), wv, a{i});");
                }
            }
            if (m.GroupChannels <= 4)
            {
                for (int c = 0; c < m.GroupChannels; c++)
                {
                    w.Open();
                    Channel(c);
                    w.Close();
                }
            }
            else
            {
                w.Open("for (int c = 0; c < GroupChannels; c++)");
                Channel(null);
                w.Close();
            }
            w.Close();
            foreach (int i in ps)
            {
                string at = i == 0 ? "f" : $"f + {Str((long)i * m.Filters)}";
                w.Line(vector ? $"Store({Act(p, $"a{i}", true)}, ref y, {at});" : $"Unsafe.Add(ref y, {at}) = {Act(p, $"a{i}", false)};");
                if (pair) w.Line($"Store({Act(p, $"h{i}", true)}, ref y, {at} + vc);");
            }
            w.Close();
        }

        // ------------------------------------------------------------------------------------------------
        // Weight and bias gradients.
        // ------------------------------------------------------------------------------------------------

        private static void EmitBackwardWeights(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            w.Line("/// <summary>Adds dk[kh, kw, c, f] += sum over output pixels of x[pixel's tap, g * GroupChannels + c] * dy[pixel, f] (g the group of f), and db[f] += sum of dy[pixel, f].</summary>");
            w.Line(Optimized);
            w.Open($"public static void BackwardWeights<V>(ReadOnlySpan<float> input, int batch, {SizeParameters(p)}ReadOnlySpan<float> outputGradient, Span<float> weightsGradient, Span<float> biasGradient) where V : struct");
            EmitGeometry(w, p, forward: false);
            w.Line("ref float x = ref MemoryMarshal.GetReference(input);");
            w.Line("ref float dy = ref MemoryMarshal.GetReference(outputGradient);");
            w.Line("ref float dk = ref MemoryMarshal.GetReference(weightsGradient);");
            if (m.UseBias)
            {
                w.Line("int vc = Count<V>(); // floats per vector");
                KernelEmitter.EmitBiasGradient(w, m.Filters, "dy", "batch * outputHeight * outputWidth");
            }
            w.Line("// Weight gradient, tap by tap and group by group: dk[kh, kw, :, group's filters] += x[tap pixels, group's channels]^T dy[pixels, group's filters]");
            w.Line("// over the tap's rectangle of output pixels, in blocks of rows.");
            KernelEmitter.EmitTapRectangles(w, p, "for (int g = 0; g < Groups; g++) WeightGradientTap<V>(ref Unsafe.Add(ref x, xo + g * GroupChannels), ref Unsafe.Add(ref dy, go + g * GroupFilters), ref Unsafe.Add(ref dk, ko + g * GroupFilters), rows, cols, StrideHeight * width * InputChannels, outputWidth * Filters);", "GroupChannels", rowBlocks: true);
            w.Close();
        }

        /// <summary>One tap and group of the weight gradient, block by block of the group's filters.</summary>
        private static void EmitWeightGradientTap(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            w.Line("/// <summary>");
            w.Line("/// dk[c, f] += sum over rows x cols output pixels of x[pixel's tap, c] * dy[pixel, f], for one tap and one group: x, dy and dk point at the");
            w.Line("/// first pixel's tap (the group's first channel), its gradient (the group's first filter) and the tap's weights (the group's first filter).");
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open("private static void WeightGradientTap<V>(ref float x, ref float dy, ref float dk, int rows, int cols, int xRow, int dyRow) where V : struct");
            w.Line("int vc = Count<V>(); // floats per vector");
            w.Line("int f = 0;");
            EmitGroupBlocks(w, m.GroupFilters, "f", "GroupFilters", type => type is null
                ? "WeightGradientBlock(ref x, ref dy, ref dk, rows, cols, xRow, dyRow, f);"
                : $"WeightGradientBlock<{type}>(ref x, ref dy, ref dk, rows, cols, xRow, dyRow, f);");
            w.Close();
        }

        /// <summary>
        /// The weight gradient of one block of a group's filters: registers hold <see cref="TileChannels"/> channels x the block over
        /// all the tap's pixels, then add to dk once.
        /// </summary>
        private static void EmitWeightGradientBlock(CodeWriter w, KernelPlan p, bool vector)
        {
            var m = p.Conv;
            long pixelStep = (long)m.StrideWidth * m.InputChannels;
            string step = pixelStep <= int.MaxValue ? Str(pixelStep) : "0 /* no row holds two output pixels */";
            w.L($"/// <summary>Filters {(vector ? "[f, f + Count{W})" : "f")} of the group: {TileChannels} channels at a time in registers over every pixel of the tap.</summary>");
            w.Line(Optimized);
            w.Open(vector
                ? "private static void WeightGradientBlock<W>(ref float x, ref float dy, ref float dk, int rows, int cols, int xRow, int dyRow, int f) where W : struct"
                : "private static void WeightGradientBlock(ref float x, ref float dy, ref float dk, int rows, int cols, int xRow, int dyRow, int f)");
            void Channels(int r, string c)
            {
                var rs = Enumerable.Range(0, r).ToArray();
                w.Line(string.Join(" ", rs.Select(q => vector ? $"var a{q} = Zero<W>();" : $"float a{q} = 0f;")));
                w.Open("for (int i = 0; i < rows; i++)");
                w.L($"ref float xp = ref Unsafe.Add(ref x, i * xRow + {c});");
                w.Line("ref float gp = ref Unsafe.Add(ref dy, i * dyRow + f);");
                w.Open("for (int j = 0; j < cols; j++)");
                w.Line(vector ? "var gv = Load<W>(ref gp, 0);" : "float gv = gp;");
                foreach (int q in rs)
                    w.Line(vector ? $"a{q} = Fma(Broadcast<W>(Unsafe.Add(ref xp, {q})), gv, a{q});" : $"a{q} = MathF.FusedMultiplyAdd(Unsafe.Add(ref xp, {q}), gv, a{q});");
                w.L($"xp = ref Unsafe.Add(ref xp, {step});");
                w.Line("gp = ref Unsafe.Add(ref gp, Filters);");
                w.Close();
                w.Close();
                foreach (int q in rs)
                {
                    string at = c == "0" ? $"{Str((long)q * m.Filters)} + f" : q == 0 ? $"{c} * Filters + f" : $"({c} + {q}) * Filters + f";
                    w.Line(vector ? $"Store(Add(Load<W>(ref dk, {at}), a{q}), ref dk, {at});" : $"Unsafe.Add(ref dk, {at}) += a{q};");
                }
            }
            int cg = m.GroupChannels;
            if (cg < 4)
            {
                Channels(cg, "0");
                w.Close();
                return;
            }
            w.Line("int c = 0;");
            if (cg >= TileChannels)
            {
                w.Open($"for (; c <= GroupChannels - {TileChannels}; c += {TileChannels})");
                Channels(TileChannels, "c");
                w.Close();
            }
            // What is left after the 8-channel tiles: one tile of 4, then 1 to 3 channels.
            foreach (int r in new[] { cg % TileChannels >= 4 ? 4 : 0, cg % 4 }.Where(r => r > 0))
            {
                w.Open();
                Channels(r, "c");
                if (r == 4 && cg % 4 != 0) w.Line("c += 4;");
                w.Close();
            }
            w.Close();
        }

        // ------------------------------------------------------------------------------------------------
        // Input gradient.
        // ------------------------------------------------------------------------------------------------

        private static void EmitBackwardInput(CodeWriter w, KernelPlan p)
        {
            w.Line("/// <summary>Adds dx[n, ih, iw, g * GroupChannels + c] += sum over the output pixels whose window covers (ih, iw) and the filters f of group g of dy[pixel, f] * k[tap, c, f].</summary>");
            w.Line(Optimized);
            w.Open($"public static void BackwardInput<V>(int batch, {SizeParameters(p)}ReadOnlySpan<float> weights, ReadOnlySpan<float> outputGradient, Span<float> inputGradient) where V : struct");
            EmitGeometry(w, p, forward: false);
            w.Line("ref float k = ref MemoryMarshal.GetReference(weights);");
            w.Line("ref float dy = ref MemoryMarshal.GetReference(outputGradient);");
            w.Line("ref float dx = ref MemoryMarshal.GetReference(inputGradient);");
            w.Line("// The input gradient runs along a group's channels c, so it reads the weights transposed to kt[kh, kw, f, c].");
            w.Line("float[] transposed = KernelScratch.Get(0, KernelHeight * KernelWidth * GroupChannels * Filters);");
            w.Line("for (int tap = 0; tap < KernelHeight * KernelWidth; tap++)");
            w.Line("for (int c = 0; c < GroupChannels; c++)");
            w.Line("for (int f = 0; f < Filters; f++)");
            w.Line("    transposed[(tap * Filters + f) * GroupChannels + c] = Unsafe.Add(ref k, (tap * GroupChannels + c) * Filters + f);");
            w.Line("ref float kt = ref MemoryMarshal.GetArrayDataReference(transposed);");
            w.Line("// Tap by tap and group by group: dx[tap pixels, group's channels] += dy[pixels, group's filters] k[kh, kw, :, group's filters]^T over the tap's rectangle.");
            KernelEmitter.EmitTapRectangles(w, p, "for (int g = 0; g < Groups; g++) InputGradientTap<V>(ref Unsafe.Add(ref dx, xo + g * GroupChannels), ref Unsafe.Add(ref dy, go + g * GroupFilters), ref Unsafe.Add(ref kt, ko + g * GroupFilters * GroupChannels), ref Unsafe.Add(ref k, ko + g * GroupFilters), rows, cols, StrideHeight * width * InputChannels, outputWidth * Filters);", "GroupChannels");
            w.Close();
        }

        /// <summary>One tap and group of the input gradient, block by block of the group's channels.</summary>
        private static void EmitInputGradientTap(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            w.Line("/// <summary>");
            w.Line("/// dx[pixel's tap, c] += sum over the group's filters f of dy[pixel, f] * k[c, f], for one tap and one group over rows x cols output pixels: dx");
            w.Line("/// and dy point at the first pixel's tap (the group's first channel) and gradient (its first filter); kt is the group's weights of the tap");
            w.Line("/// transposed to [f, c], k the same untransposed (for single channels).");
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open("private static void InputGradientTap<V>(ref float dx, ref float dy, ref float kt, ref float k, int rows, int cols, int xRow, int dyRow) where V : struct");
            w.Line("int vc = Count<V>(); // floats per vector");
            w.Line("int c = 0;");
            EmitGroupBlocks(w, m.GroupChannels, "c", "GroupChannels", type => type is null
                ? "InputGradientChannel<V>(ref dx, ref dy, ref k, rows, cols, xRow, dyRow, c);"
                : $"InputGradientBlock<{type}>(ref dx, ref dy, ref kt, rows, cols, xRow, dyRow, c);");
            w.Close();
        }

        /// <summary>
        /// The input gradient of one block of a group's channels: <see cref="GradientPixels"/> pixels' dx vectors in registers while the
        /// group's filters add to them; and, for channels left over, one channel at a time as a dot product over the filters.
        /// </summary>
        private static void EmitInputGradientBlock(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            long pixelStep = (long)m.StrideWidth * m.InputChannels;
            string step = pixelStep <= int.MaxValue ? Str(pixelStep) : "0 /* no row holds two output pixels */";
            w.Line("/// <summary>Channels [c, c + Count{W}) of the group: a tile of pixels' gradients in registers while every filter of the group adds to them.</summary>");
            w.Line(Optimized);
            w.Open("private static void InputGradientBlock<W>(ref float dx, ref float dy, ref float kt, int rows, int cols, int xRow, int dyRow, int c) where W : struct");
            w.Open("for (int i = 0; i < rows; i++)");
            w.Line("ref float dxr = ref Unsafe.Add(ref dx, i * xRow + c);");
            w.Line("ref float gr = ref Unsafe.Add(ref dy, i * dyRow);");
            w.Line("int j = 0;");
            foreach (int pixels in new[] { GradientPixels, 4, 1 })
            {
                if (!Fits(m, pixels)) continue;
                var ps = Enumerable.Range(0, pixels).ToArray();
                w.Open(pixels == 1 ? "for (; j < cols; j++)" : $"for (; j <= cols - {pixels}; j += {pixels})");
                w.L($"ref float xp = ref Unsafe.Add(ref dxr, j * {step});");
                w.Line("ref float gp = ref Unsafe.Add(ref gr, j * Filters);");
                w.Line(string.Join(" ", ps.Select(i => $"var a{i} = Load<W>(ref xp, {(i == 0 ? "0" : Str(i * pixelStep))});")));
                w.Open("for (int f = 0; f < GroupFilters; f++)");
                w.Line("var wv = Load<W>(ref kt, f * GroupChannels + c);");
                foreach (int i in ps)
                    w.Line($"a{i} = Fma(Broadcast<W>(Unsafe.Add(ref gp, {(i == 0 ? "f" : $"f + {Str((long)i * m.Filters)}")})), wv, a{i});");
                w.Close();
                w.Line(string.Join(" ", ps.Select(i => $"Store(a{i}, ref xp, {(i == 0 ? "0" : Str(i * pixelStep))});")));
                w.Close();
            }
            w.Close();
            w.Close();
        }

        /// <summary>One channel of a group's input gradient (the channels after the vector blocks), and the dot product it takes.</summary>
        private static void EmitInputGradientChannel(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            long pixelStep = (long)m.StrideWidth * m.InputChannels;
            string step = pixelStep <= int.MaxValue ? Str(pixelStep) : "0 /* no row holds two output pixels */";
            w.Line("/// <summary>Channel c of the group: per pixel, the dot product of its gradient and the channel's weights over the group's filters.</summary>");
            w.Line(Inlined);
            w.Open("private static void InputGradientChannel<V>(ref float dx, ref float dy, ref float k, int rows, int cols, int xRow, int dyRow, int c) where V : struct");
            w.Line("ref float kc = ref Unsafe.Add(ref k, c * Filters);");
            w.Line("for (int i = 0; i < rows; i++)");
            w.Line("for (int j = 0; j < cols; j++)");
            w.L($"    Unsafe.Add(ref dx, i * xRow + j * {step} + c) += DotGroupFilters<V>(ref Unsafe.Add(ref dy, i * dyRow + j * Filters), ref kc);");
            w.Close();
            w.Line();
            w.Line("/// <summary>sum over the group's filters f of a[f] * b[f].</summary>");
            w.Line(Inlined);
            w.Open("private static float DotGroupFilters<V>(ref float a, ref float b) where V : struct");
            w.Line("int vc = Count<V>(); // floats per vector");
            w.Line("var sum = Zero<V>();");
            w.Line("int f = 0;");
            w.Line("for (; f <= GroupFilters - vc; f += vc) sum = Fma(Load<V>(ref a, f), Load<V>(ref b, f), sum);");
            w.Line("float s = Sum(sum);");
            w.Line("for (; f < GroupFilters; f++) s = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, f), Unsafe.Add(ref b, f), s);");
            w.Line("return s;");
            w.Close();
        }
    }
}
