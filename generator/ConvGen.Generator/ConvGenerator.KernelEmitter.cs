using System;
using System.Globalization;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using ConvGen.Generator.Helpers;
using ConvGen.Internal;
using ConvGen.Generator.Models;

namespace ConvGen.Generator;

public sealed partial class ConvGenerator
{
    /// <summary>
    /// A convolution's kernels (<see cref="KernelPlan"/>) as C#: every method is written once, generic over the vector type
    /// <c>V</c> (<c>Vector128/256/512&lt;float&gt;</c>), with the vector operations of <c>ConvGen.Internal.Simd</c>; the callers pick the
    /// width with <see cref="EmitDispatch"/>. Every size the attribute (and, in a network, the input) fixes is a constant, offsets
    /// are folded (<see cref="Offset"/>), and a window's taps are unrolled only where the loop body is short (few input channels).
    /// </summary>
    internal static class KernelEmitter
    {
        /// <summary>Output pixels per register tile: each weight vector loaded feeds this many FMAs.</summary>
        private const int TilePixels = 4;

        /// <summary>
        /// Output pixels per forward register tile when the filters fill at most 2 vectors (16 accumulators with 32 vector registers,
        /// AVX-512) or 1 (8 accumulators, with 16 registers): a 4-pixel tile would hold only 4 or 8, too few to hide the FMA latency.
        /// </summary>
        private const int WideTilePixels = 8;

        /// <summary>
        /// Whether the forward pass has the wide tile: at most 2 vectors of filters at the widest width; or, in a network's layer
        /// with more (in blocks of 2 vectors, with 32 vector registers), where the wide tile covers its rows with fewer pixels
        /// than the 4-pixel tile (7-wide rows: 7 against 8; 14-wide: 14 against 16).
        /// </summary>
        private static bool HasWideTile(KernelPlan p) => TileFits(p.Conv, WideTilePixels) && (p.Conv.Filters <= 32 || ManyFiltersWide(p));

        /// <summary>Whether a layer with more than 2 vectors of filters runs the wide tile (see <see cref="HasWideTile"/>).</summary>
        private static bool ManyFiltersWide(KernelPlan p)
        {
            if (p.Conv.Filters <= 32 || !RowsKnown(p) || p.OutputWidth < 6) return false;
            return Computed(p.OutputWidth, WidePixels(p)) < Computed(p.OutputWidth, TilePixels);
        }

        /// <summary>
        /// Whether the forward tiles run along rows of a width known at build time (a network's layer), so they can be fitted to
        /// it; not a 1x1 stride-1 layer, whose tiles run along the whole batch (<see cref="Pointwise"/>).
        /// </summary>
        private static bool RowsKnown(KernelPlan p) => p.Fixed && !Pointwise(p.Conv);

        /// <summary>The pixels tiles of <paramref name="pixels"/> compute over a row of <paramref name="width"/>, the last tile overlapping the one before.</summary>
        private static long Computed(int width, int pixels) => (width + pixels - 1) / pixels * (long)pixels;

        /// <summary>
        /// Output pixels of the wide tile (<see cref="WideTilePixels"/> at most): a network's layer takes the count in 6..8 that
        /// computes the fewest pixels over its rows, the last tile overlapping (7 for rows of 7, 14 or 28 pixels, which 8 would
        /// cover with 8, 16 or 32); rows of any width and runs of pixels (a 1x1 kernel) take 8.
        /// </summary>
        private static int WidePixels(KernelPlan p)
        {
            if (!RowsKnown(p)) return WideTilePixels;
            return FittedTile(p.OutputWidth, 6, WideTilePixels);
        }

        /// <summary>The tile in [<paramref name="min"/>, <paramref name="max"/>] pixels that computes the fewest over a row of <paramref name="width"/> (the last tile overlapping the one before), the widest of those; <paramref name="max"/> for rows narrower than <paramref name="min"/>.</summary>
        private static int FittedTile(int width, int min, int max)
        {
            if (width < min) return max;
            int best = max;
            for (int pixels = max - 1; pixels >= min; pixels--)
                if (Computed(width, pixels) < Computed(width, best)) best = pixels;
            return best;
        }

        /// <summary>
        /// Output pixels of the tall forward tile (0: none), for filters that fill one vector with 32 vector registers: one
        /// accumulator per pixel, so 8 pixels (8 FMA chains) only just cover the FMA latency (4 cycles, 2 FMAs a cycle) and any
        /// stall idles the FMA units; 9 to 16 leave slack. A network's layer takes the count in 9..16 that computes the fewest
        /// pixels over its rows (the last tile overlapping): 14 for 28-wide rows, 16 for 32; rows of any width or runs of pixels
        /// (a 1x1 kernel) take 16. None for rows narrower than 9, more than 16 filters, or offsets that would overflow.
        /// </summary>
        private static int TallTilePixels(KernelPlan p)
        {
            var m = p.Conv;
            if (m.Filters > 16) return 0;
            int tall = 16;
            if (RowsKnown(p))
            {
                if (p.OutputWidth < 9) return 0;
                tall = FittedTile(p.OutputWidth, 9, tall);
            }
            return TileFits(m, tall) ? tall : 0;
        }

        /// <summary>
        /// Output pixels of the narrow tile, which runs where there are 16 vector registers (AVX2) and the filters (forward) or
        /// the input channels (input gradient) fill 4 vectors or more: 3 pixels x 4 vectors are 12 accumulators, and with the 3
        /// pixels' broadcasts and one weight vector at a time they fill the 16 registers (see <see cref="BroadcastsFirst"/>;
        /// oneDNN's AVX2 tile). The 4-pixel tile holds 2 vectors there: 8 accumulators, barely the FMA chains the latency
        /// needs, and 6 loads for 8 FMAs, where this tile has 7 for 12. What its tiles leave of a row (1 or 2 pixels) runs in
        /// 4-pixel tiles, the last 4 or 8 pixels of the row, so no pixel is computed twice.
        /// </summary>
        private const int NarrowTilePixels = 3;

        /// <summary>
        /// Whether the forward pass has the narrow tile (<see cref="NarrowTilePixels"/>): filters that fill 4 vectors at the
        /// narrowest width (4 floats) or more; at run time, 4 vectors at the width the kernel runs at, with 16 vector registers.
        /// </summary>
        private static bool HasNarrowTile(KernelPlan p) => NarrowTileFits(p.Conv, p.Conv.Filters);

        /// <summary>Whether <paramref name="size"/> (the forward pass's filters, the input gradient's channels) fills 4 vectors at 4 floats, and the tiles' offsets fit.</summary>
        private static bool NarrowTileFits(ConvSpec m, int size) => size >= 16 && TileFits(m, TilePixels);

        /// <summary>
        /// Whether a block of <paramref name="vectors"/> filter (or channel) vectors of a <paramref name="pixels"/>-pixel tile
        /// broadcasts its pixels' inputs (or output gradients) first and then loads each weight vector just before its FMAs
        /// (<see cref="EmitTileSums"/>, <see cref="EmitInputGradientTap"/>): where only that order fits 16 vector registers (the
        /// accumulators, the broadcasts and one weight vector), as in the narrow tile's 3 pixels x 4 vectors; elsewhere the
        /// weight vectors are loaded first and each broadcast feeds its pixel's FMAs. The order of the instructions only: each
        /// sum adds the same products in the same order.
        /// </summary>
        private static bool BroadcastsFirst(int pixels, int vectors)
            => pixels * vectors + vectors + 1 > 16 && pixels * vectors + pixels + 1 <= 16;

        /// <summary>
        /// Whether a row's width is known only at run time (a standalone kernel's, not a 1x1 stride-1 run) and the forward pass
        /// then covers what its 4-pixel tiles would leave of a row (1 to 3 pixels) with one tile of <see cref="RemainderTilePixels"/>
        /// instead of a 4-pixel tile overlapping the one before, which computes those pixels twice: 14-wide rows (MNIST's second
        /// layer) in 4-pixel tiles compute 16 pixels, a 6-pixel and two 4-pixel tiles compute 14. With 32 vector registers only
        /// (24 accumulators for 6 pixels x 4 filter vectors); a network's layers fit their tiles to their known rows instead.
        /// </summary>
        private static bool CoversRowsExactly(KernelPlan p) => !p.Fixed && !Pointwise(p.Conv) && TileFits(p.Conv, 6);

        /// <summary>The tiles that cover the rest of a row exactly (see <see cref="CoversRowsExactly"/>): 3 pixels for 3 (or 7), 5 for 1, 6 for 2.</summary>
        private static readonly int[] RemainderTilePixels = [3, 5, 6];

        /// <summary>
        /// Output pixels per input-gradient tile for up to 2 channel vectors (at 16 floats: 32 input channels or fewer) with 32
        /// vector registers: 16 accumulators, where 4 pixels would hold 8 (or 4, for one vector), too few to hide the FMA latency.
        /// </summary>
        private const int InputGradientWidePixels = 8;

        /// <summary>
        /// What the <see cref="InputGradientWidePixels"/>-pixel tiles leave of a row runs in one tile of 5 to 7 pixels (10 to 14
        /// accumulators); 9 to 11 pixels run as two tiles of 4 to 6 rather than 8 and then 1 to 3. 14-wide rows ran 8 + 4 + 2 pixels,
        /// and the 2- and 1-pixel tiles' 4 and 2 accumulators wait on the FMA latency (diagnosis: conv2's input gradient 12% faster).
        /// </summary>
        private static readonly int[] InputGradientRestPixels = [5, 6, 7];

        /// <summary>Input channels per register tile of the weight gradient: each gradient vector loaded feeds this many FMAs.</summary>
        private const int TileChannels = 4;

        /// <summary>The generic methods take the vector type this way.</summary>
        private const string Generic = "<V>";

        private const string Constraint = " where V : struct";

        /// <summary>
        /// The forward kernels also take what they do to each sum as they store it (<c>ConvGen.Internal.IEpilogue</c>: nothing, or
        /// the ReLU or ReLU6 of an activation layer folded into the layer in inference), a struct the JIT compiles each kernel for.
        /// </summary>
        private const string ForwardGeneric = "<V, E>";

        private const string ForwardConstraint = " where V : struct where E : struct, IEpilogue";

        /// <summary>The activations <c>ForwardRowsActivated</c> applies as it stores, with their epilogue types.</summary>
        private static readonly (string Activation, string Epilogue)[] Epilogues = [("ReLU", "ReluEpilogue"), ("ReLU6", "Relu6Epilogue")];

        /// <summary>
        /// The body of <c>ForwardRowsActivated</c>: the forward kernel of <paramref name="call"/> (with <c>{V}</c> and <c>{E}</c> for
        /// the vector and epilogue types) with the activation applied as each output is stored, true; false for any other
        /// activation, with nothing written. With <paramref name="residual"/>, the body of <c>ForwardRowsResidual</c>: the residual
        /// added to each output, then the activation (none too), as it is stored.
        /// </summary>
        internal static void EmitActivatedDispatch(CodeWriter w, string call, int widest, bool residual = false)
        {
            var epilogues = residual ? [("None", "NoEpilogue"), .. Epilogues] : Epilogues;
            foreach (var (activation, epilogue) in epilogues)
            {
                w.Open($"if (activation == global::ConvGen.Activation.{activation})");
                string type = residual ? $"global::ConvGen.Internal.ResidualEpilogue<global::ConvGen.Internal.{epilogue}>" : $"global::ConvGen.Internal.{epilogue}";
                EmitDispatch(w, call.Replace("{E}", type), widest);
                w.Line("return true;");
                w.Close();
            }
            w.Line("return false;");
        }

        private const string Optimized = "[MethodImpl(MethodImplOptions.AggressiveOptimization)]";

        internal static readonly string Version = typeof(KernelEmitter).Assembly.GetName().Version?.ToString() ?? "0.0.0.0";

        internal static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);

        /// <summary>
        /// Whether neighbouring output pixels are close enough in the input for a tile of <paramref name="pixels"/> of them to have int
        /// offsets. When they are not (a stride near int.MaxValue), no input is wide enough for the tile ever to run, so it is not emitted.
        /// </summary>
        private static bool TileFits(ConvSpec m, int pixels) => (long)(pixels - 1) * m.StrideWidth * m.InputChannels <= int.MaxValue - m.InputChannels;

        /// <summary>
        /// The step from one output pixel to the next in the input. Beyond int (a stride near int.MaxValue) no input row holds two
        /// output pixels, so the step only ever moves past the last pixel, to nothing that is read: it is written as 0.
        /// </summary>
        private static string Step(long pixelStep) => pixelStep <= int.MaxValue ? Str(pixelStep) : "0 /* no row holds two output pixels */";

        /// <summary>
        /// A call of a generic kernel at the width <c>Simd.Lanes</c> picks: 16 floats where AVX-512 is accelerated, else 8, else 4,
        /// but never above <paramref name="widest"/> (see <see cref="ForwardLanes"/>).
        /// <paramref name="call"/> is the call with <c>{V}</c> where the vector type goes.
        /// </summary>
        public static void EmitDispatch(CodeWriter w, string call, int widest = 16)
        {
            string At(int floats) => call.Replace("{V}", $"global::System.Runtime.Intrinsics.Vector{floats * 32}<float>");
            if (widest < 8)
            {
                w.L($"{At(4)}; // the data fills no wider vector");
                return;
            }
            if (widest < 16)
            {
                w.L($"if (global::ConvGen.Internal.Simd.Lanes >= 8) {At(8)}; // the data fills no wider vector");
                w.L($"else {At(4)};");
                return;
            }
            w.Open("switch (global::ConvGen.Internal.Simd.Lanes)");
            w.Line($"case 16: {At(16)}; break;");
            w.Line($"case 8: {At(8)}; break;");
            w.Line($"default: {At(4)}; break;");
            w.Close();
        }

        /// <summary>
        /// The widest vector (16, 8 or 4 floats) that <paramref name="filters"/> output channels fill at least once: the forward
        /// pass runs at most at that width, its last vector overlapping the one before when the filters are no multiple of it. A
        /// wider one would leave the filters to the scalar loop (6 filters at 16 floats: every FMA scalar); at this width all but
        /// fewer than 4 filters run in vectors.
        /// </summary>
        public static int ForwardLanes(int filters) => filters >= 16 ? 16 : filters >= 8 ? 8 : 4;

        /// <summary>
        /// Whether a convolution's forward kernels take an epilogue type argument (<c>NoEpilogue</c>, or in <c>ForwardRowsActivated</c>
        /// a folded ReLU or ReLU6): the dense and the depthwise ones (a grouped convolution with one channel per group is
        /// depthwise), not the other grouped ones or the transposed ones.
        /// </summary>
        internal static bool TakesEpilogue(ConvSpec m) => !m.Transposed && (!m.Grouped || GroupedEmitter.IsDepthwise(m));

        /// <summary>
        /// Whether a convolution's kernels are the dense ones of this emitter: they also add a folded residual
        /// (<c>ForwardRowsResidual</c>) and fit their widest vector to the filters (<see cref="ForwardLanes"/>).
        /// </summary>
        internal static bool IsDense(ConvSpec m) => !m.Transposed && !m.Grouped && !m.Depthwise;

        /// <summary>The <c>using</c>s the kernel methods need (in the <c>ConvGen.Generated</c> namespace, where nothing of the user's can collide).</summary>
        public static void EmitUsings(CodeWriter w)
        {
            w.Line("using System;");
            w.Line("using System.Runtime.CompilerServices;");
            w.Line("using System.Runtime.InteropServices;");
            w.Line("using ConvGen.Internal;");
            w.Line("using static ConvGen.Internal.Simd;");
        }

        /// <summary>The kernel class's constants and generic methods.</summary>
        public static void EmitMembers(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            w.L($"private const int KernelHeight = {m.KernelHeight}, KernelWidth = {m.KernelWidth}, InputChannels = {m.InputChannels}, Filters = {m.Filters};");
            w.L($"private const int StrideHeight = {m.StrideHeight}, StrideWidth = {m.StrideWidth}, DilationHeight = {m.DilationHeight}, DilationWidth = {m.DilationWidth};");
            if (p.Fixed)
            {
                w.L($"private const int RowStep = {Str((long)m.DilationHeight * ForwardImageWidth(p) * m.InputChannels)}; // input elements between two kernel rows{(PadsForward(p) ? " of the padded image" : "")}");
            }
            w.Line();
            if (p.FusePool)
            {
                EmitForwardPooled(w, p);
                w.Line();
                EmitForwardPoolTile(w, p);
            }
            else
            {
                EmitForward(w, p);
                w.Line();
                if (TileFits(p.Conv, TilePixels))
                {
                    EmitForwardTile(w, p, TilePixels, widths: null);
                    w.Line();
                }
                // The remainder tiles (32 registers), and the narrow tile (16 registers), which is the 3-pixel remainder tile
                // with blocks of 4 filter vectors at any width.
                foreach (int pixels in RemainderTilePixels)
                {
                    if (CoversRowsExactly(p) || (pixels == NarrowTilePixels && HasNarrowTile(p)))
                    {
                        EmitForwardTile(w, p, pixels, widths: null);
                        w.Line();
                    }
                }
                if (HasWideTile(p))
                {
                    // Two filter vectors run only with 32 registers; one may run with 16 (AVX2, filters in one vector).
                    EmitForwardTile(w, p, WidePixels(p), widths: [2, 1], byColumn: u => SumsByColumn(p.Conv, WidePixels(p), u, u == 2 ? 32 : 16));
                    w.Line();
                }
                if (TallTilePixels(p) > 0)
                {
                    EmitForwardTile(w, p, TallTilePixels(p), widths: [1], byColumn: u => SumsByColumn(p.Conv, TallTilePixels(p), u, 32));
                    w.Line();
                }
                EmitForwardPixel(w, p);
            }
            w.Line();
            EmitBackwardWeights(w, p);
            w.Line();
            EmitWeightGradientTap(w, p);
            w.Line();
            EmitBackwardInput(w, p);
            if (m.InputChannels >= 4)
            {
                w.Line();
                EmitInputGradientTap(w, p);
                w.Line();
                EmitDotFilters(w, p);
                w.Line();
                EmitTranspose(w);
            }
        }

        // ------------------------------------------------------------------------------------------------
        // Geometry: constants in a network's kernels, from ConvGen.Internal.Geometry at run time otherwise.
        // ------------------------------------------------------------------------------------------------

        /// <summary>The size parameters of a kernel that takes any input size; a network's kernels have none.</summary>
        private static string SizeParameters(KernelPlan p) => p.Fixed ? "" : "int height, int width, ";

        /// <summary>The row step's name: a class constant in a network's kernels, a parameter otherwise.</summary>
        private static string RowStep(KernelPlan p) => p.Fixed ? "RowStep" : "rowStep";

        private static void EmitGeometry(CodeWriter w, KernelPlan p, bool forward, bool rowStep = true)
        {
            var m = p.Conv;
            string same = m.Same ? "true" : "false";
            if (p.Fixed)
            {
                w.L($"// Sizes fixed by the network: a {p.FixedHeight}x{p.FixedWidth}x{m.InputChannels} input, a {p.OutputHeight}x{p.OutputWidth}x{m.Filters} output.");
                w.L($"const int height = {p.FixedHeight}, width = {p.FixedWidth}, outputHeight = {p.OutputHeight}, outputWidth = {p.OutputWidth};");
                if (!m.Same || (forward && !PadsForward(p))) return;
                w.Line("// TF 'same' padding: the smaller half on top/left, the odd one extra at the bottom/right.");
                w.L($"const int padTop = {p.PaddingHeight.Before}, padLeft = {p.PaddingWidth.Before};");
                return;
            }
            w.L($"int outputHeight = Geometry.OutputSize(height, KernelHeight, StrideHeight, DilationHeight, same: {same});");
            w.L($"int outputWidth = Geometry.OutputSize(width, KernelWidth, StrideWidth, DilationWidth, same: {same});");
            if (forward && rowStep && !PadsForward(p)) w.Line("int rowStep = DilationHeight * width * InputChannels; // input elements between two kernel rows");
            if (!m.Same || (forward && !PadsForward(p))) return;
            w.Line("// TF 'same' padding for this input size: the smaller half on top/left, the odd one extra at the bottom/right.");
            if (forward)
            {
                w.Line("var (padTop, padBottom) = Geometry.Padding(height, KernelHeight, StrideHeight, DilationHeight, same: true);");
                w.Line("var (padLeft, padRight) = Geometry.Padding(width, KernelWidth, StrideWidth, DilationWidth, same: true);");
                return;
            }
            w.Line("int padTop = Geometry.Padding(height, KernelHeight, StrideHeight, DilationHeight, same: true).Before;");
            w.Line("int padLeft = Geometry.Padding(width, KernelWidth, StrideWidth, DilationWidth, same: true).Before;");
        }

        // ------------------------------------------------------------------------------------------------
        // Forward.
        // ------------------------------------------------------------------------------------------------

        /// <summary>
        /// Whether the forward pass reads each sample from a zero-padded copy: 'same' padding that pads something (at run time: any
        /// kernel larger than 1x1, since the padding depends on the input size). Every window of the copy is whole, so every pixel
        /// runs the interior kernels (the padding's zeros add nothing to a sum) and a whole row runs in register tiles.
        /// </summary>
        private static bool PadsForward(KernelPlan p) => p.Conv.Same && (p.Fixed ? PaddedImage(p).Copy : p.Conv.KernelHeight * p.Conv.KernelWidth > 1);

        /// <summary>
        /// Whether the forward pass's tiles take the kernel rows to sum, [kh0, kh1): a padded image with padding above or below
        /// (at run time: any kernel taller than 1), whose rows of zeros the top and bottom output rows' windows cover. A tile's
        /// pixels share their kernel rows, so it skips those taps (MNIST's 5x5 'same' second layer: 6 of every 70 kernel rows
        /// of a 14-row output); the padding's columns stay, since a tile's pixels do not share them.
        /// </summary>
        private static bool SkipsPaddingRows(KernelPlan p)
            => PadsForward(p) && (p.Fixed ? p.PaddingHeight.Before + p.PaddingHeight.After > 0 : p.Conv.KernelHeight > 1);

        /// <summary>The kernel-row parameters of the forward tiles (see <see cref="SkipsPaddingRows"/>), or nothing.</summary>
        private static string RowRangeParameters(KernelPlan p) => SkipsPaddingRows(p) ? "int kh0, int kh1, " : "";

        /// <summary>The width of the image a network's forward pass reads: the padded copy's when it pads, else the input's.</summary>
        private static int ForwardImageWidth(KernelPlan p) => PadsForward(p) ? PaddedImage(p).Width : p.FixedWidth;

        /// <summary>
        /// Whether the forward pass is a matrix product over runs of pixels: a 1x1 kernel with stride 1 (which never pads: no padded copy), where
        /// output pixel i reads input pixel i alone, so neighbouring pixels are neighbours in the input across row and sample ends.
        /// </summary>
        private static bool Pointwise(ConvSpec m) => m.KernelHeight == 1 && m.KernelWidth == 1 && m.StrideHeight == 1 && m.StrideWidth == 1;

        private static void EmitForward(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            bool pads = PadsForward(p);
            bool tiles = TileFits(m, TilePixels);
            bool pointwise = Pointwise(m);
            int tallPixels = TallTilePixels(p), widePixels = WidePixels(p);
            w.Line("/// <summary>");
            w.Line("/// y[n, oh, ow, :] = b + sum over (kh, kw, c) of x[n, ih0 + kh * DilationHeight, iw0 + kw * DilationWidth, c] * k[kh, kw, c, :]" + (p.AppliesRelu ? ", then the ReLU." : "."));
            w.Line(pads
                ? "/// Each sample is first copied into a zeroed image with the padding around it, so every window is whole (the zeros add nothing)."
                : m.Same ? "/// 'same' padding that pads nothing: every window is inside the input." : "/// Every window is inside the input (Valid).");
            string run = pointwise ? "run of pixels" : "output row";
            if (pointwise)
                w.Line("/// A 1x1 kernel with stride 1 is a matrix product, [pixels, InputChannels] x [InputChannels, Filters]: output pixel i reads input pixel i, so the rows [rowStart, rowEnd) of a sample (of the whole batch, when they are every row) are one run of pixels, whose tiles do not stop at row ends.");
            w.Line(tiles
                ? $"/// Each {run} runs in tiles of {(tallPixels > 0 ? $"{tallPixels} pixels (filters in one vector, 32 registers), " : "")}{(HasWideTile(p) ? $"{widePixels} pixels (few filters) or " : "")}{(HasNarrowTile(p) ? $"{NarrowTilePixels} pixels (4 filter vectors or more, 16 registers) or " : "")}{TilePixels} pixels, the last one overlapping the one before when the {(pointwise ? "length" : "width")} is not a multiple of the tile" +
                  $" (those pixels are computed twice, to the same value), and single pixels only in {(pointwise ? "runs shorter" : "rows narrower")} than a tile."
                : "/// Single pixels (a tile's offsets would overflow).");
            if (CoversRowsExactly(p))
                w.Line("/// With 32 vector registers, what 4-pixel tiles would leave of a row runs as one 3-, 5- or 6-pixel tile instead: no pixel is computed twice (the 16-pixel tiles aside).");
            if (SkipsPaddingRows(p))
                w.Line("/// The tiles of an output row sum only the kernel rows whose input rows are inside the image, skipping the padding's rows of zeros.");
            w.Line("/// Only output rows [rowStart, rowEnd) are written, in every sample (0 <= rowStart <= rowEnd <= outputHeight): threads can share a sample.");
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open($"public static void Forward{ForwardGeneric}(ReadOnlySpan<float> input, int batch, {SizeParameters(p)}ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int rowStart, int rowEnd, ReadOnlySpan<float> residual = default){ForwardConstraint}");
            EmitGeometry(w, p, forward: true);
            if (pads) EmitPaddedImage(w, p, rowStep: true);
            w.Line("ref float k = ref MemoryMarshal.GetReference(weights);");
            w.Line(BiasReference(m.UseBias, "Filters"));
            w.Line("ref float y = ref MemoryMarshal.GetReference(output);");
            w.Line("ref float r = ref residual.IsEmpty ? ref y : ref MemoryMarshal.GetReference(residual); // what a folded Add adds (ResidualEpilogue), laid out as the output; else not read");
            string rowStep = p.Fixed ? "" : "rowStep, ";
            string rowRange = SkipsPaddingRows(p) ? "kh0, kh1, " : "";
            string imageWidth = pads ? "paddedWidth" : "width";
            if (tallPixels > 0)
            {
                w.L($"// {tallPixels}-pixel tiles where the filters fill one vector and there are 32 vector registers (AVX-512 at any width).");
                w.Line("bool tall = Filters <= Count<V>() && Registers32<V>();");
            }
            if (HasWideTile(p))
            {
                if (ManyFiltersWide(p))
                {
                    w.L($"// {widePixels}-pixel tiles (2 filter vectors at a time) with 32 vector registers (AVX-512 at any width): they fit the rows better than 4 pixels.");
                    w.Line("bool wide = Registers32<V>();");
                }
                else
                {
                    w.L($"// {widePixels}-pixel tiles where the filters fill one vector, or two with 32 vector registers (AVX-512 at any width).");
                    w.Line("bool wide = Filters <= Count<V>() || (Registers32<V>() && Filters <= 2 * Count<V>());");
                }
            }
            if (HasNarrowTile(p))
            {
                w.L($"// {NarrowTilePixels}-pixel tiles of 4 filter vectors where there are 16 vector registers (AVX2) and the filters fill 4 vectors or more.");
                w.Line("bool narrow = Filters >= 4 * Count<V>() && !Registers32<V>();");
            }
            bool exact = CoversRowsExactly(p);
            if (exact)
            {
                w.Line("// With 32 vector registers (6 pixels x 4 filter vectors), what 4-pixel tiles would leave of a row runs as one 3-, 5- or 6-pixel tile.");
                w.Line("bool exact = Registers32<V>();");
            }
            // The tiles along a row (or run) from position `at` to `end`: the last tile overlaps the one before (or, with `exact`,
            // the rest runs as one remainder tile and 4-pixel tiles), single pixels only where the row is shorter than a tile.
            void Tiles(string at, string end, string window, string pixel)
            {
                string Call(string name) => $"{name}<V, E>(ref Unsafe.Add(ref x, window), {rowStep}{rowRange}ref k, ref b, ref Unsafe.Add(ref y, pixel), ref Unsafe.Add(ref r, pixel));";
                void Tile(int pixels, string name, string? condition, bool remainderFollows = false)
                {
                    string tile = Call(name);
                    if (condition != null) w.OpenF($"if ({condition} && {end} >= {pixels})");
                    w.OpenF($"for (; {at} + {pixels} <= {end}; {at} += {pixels})");
                    w.Line(window); w.Line(pixel); w.Line(tile);
                    w.Close();
                    string rest = remainderFollows ? $"!exact && {at} < {end}" : $"{at} < {end}";
                    if (condition != null) w.Open($"if ({rest})");
                    else w.OpenF($"if ({rest} && {end} >= {pixels})");
                    w.L($"{at} = {end} - {pixels}; // the last tile overlaps the one before");
                    w.Line(window); w.Line(pixel); w.Line(tile);
                    w.Line($"{at} = {end};");
                    w.Close();
                    if (condition != null) w.Close();
                }
                void Remainder(string condition, int pixels, bool overlapping)
                {
                    w.Open(condition);
                    if (overlapping) w.L($"{at} = {end} - {pixels}; // 1 or 2 pixels left after the wider tiles: this tile overlaps the one before");
                    w.Line(window); w.Line(pixel); w.Line(Call($"ForwardTile{pixels}"));
                    w.Line(overlapping ? $"{at} = {end};" : $"{at} += {pixels};");
                    w.Close();
                }
                if (tallPixels > 0) Tile(tallPixels, $"ForwardTile{tallPixels}", "tall");
                if (HasWideTile(p)) Tile(widePixels, $"ForwardTile{widePixels}", "wide", remainderFollows: exact);
                if (exact)
                {
                    w.Open("if (exact)");
                    w.L($"int left = {end} - {at}, rest = left & 3; // what 4-pixel tiles would leave");
                    Remainder("if (rest == 3)", 3, overlapping: false);
                    Remainder("else if (rest == 2 && left >= 6)", 6, overlapping: false);
                    Remainder("else if (rest == 1 && left >= 5)", 5, overlapping: false);
                    Remainder($"else if (rest != 0 && {end} >= 3)", 3, overlapping: true);
                    w.Close();
                }
                if (HasNarrowTile(p))
                {
                    // The narrow tiles, then the 4-pixel tiles cover what they leave (1 or 2 pixels) exactly: the last 4 pixels, or 8.
                    string tile = Call($"ForwardTile{NarrowTilePixels}");
                    w.Open($"if (narrow && {end} - {at} >= {NarrowTilePixels})");
                    w.L($"int left = {end} - {at}, narrowEnd = {end} - (left % {NarrowTilePixels} == 1 ? {TilePixels} : left % {NarrowTilePixels} == 2 && left >= {2 * TilePixels} ? {2 * TilePixels} : 0); // the rest runs in {TilePixels}-pixel tiles");
                    w.OpenF($"for (; {at} + {NarrowTilePixels} <= narrowEnd; {at} += {NarrowTilePixels})");
                    w.Line(window); w.Line(pixel); w.Line(tile);
                    w.Close();
                    w.Open($"if ({at} < narrowEnd)");
                    w.L($"{at} = narrowEnd - {NarrowTilePixels}; // 5 pixels: the second tile overlaps the first");
                    w.Line(window); w.Line(pixel); w.Line(tile);
                    w.Line($"{at} = narrowEnd;");
                    w.Close();
                    w.Close();
                }
                if (tiles) Tile(TilePixels, "ForwardTile", null);
                w.Open($"for (; {at} < {end}; {at}++)");
                w.Line(window); w.Line(pixel);
                w.Line($"ForwardInterior<V, E>(ref Unsafe.Add(ref x, window), {rowStep}{rowRange}ref k, ref b, ref Unsafe.Add(ref y, pixel), ref Unsafe.Add(ref r, pixel));");
                w.Close();
            }
            if (pointwise)
            {
                w.Line("bool whole = rowStart == 0 && rowEnd == outputHeight; // every row: the whole batch is one run");
                w.Line("int runs = whole ? 1 : batch, run = (rowEnd - rowStart) * outputWidth * (whole ? batch : 1);");
                w.Open("for (int n = 0; n < runs; n++)");
                w.Line("int first = (n * height + rowStart) * width; // the run's first pixel, in the input as in the output (the same sizes)");
                w.Line("ref float x = ref Unsafe.Add(ref MemoryMarshal.GetReference(input), first * InputChannels);");
                w.Line("int i = 0;");
                Tiles("i", "run", "int window = i * InputChannels;", "int pixel = (first + i) * Filters;");
                w.Close();
                w.Close();
                return;
            }
            w.Open("for (int n = 0; n < batch; n++)");
            EmitSampleImage(w, pads);
            w.Open("for (int oh = rowStart; oh < rowEnd; oh++)");
            w.L($"int row = oh * StrideHeight * {imageWidth}; // the windows' top row in the image");
            if (SkipsPaddingRows(p))
                w.Line("var (kh0, kh1) = Geometry.Taps(oh * StrideHeight - padTop, KernelHeight, DilationHeight, height); // the kernel rows inside the input: the padding's rows of zeros are skipped");
            w.Line("int ow = 0;");
            Tiles("ow", "outputWidth", "int window = (row + ow * StrideWidth) * InputChannels;", "int pixel = ((n * outputHeight + oh) * outputWidth + ow) * Filters;");
            w.Close();
            w.Close();
            w.Close();
        }

        /// <summary>
        /// The line of a forward kernel that points <c>b</c> at the bias every sum starts at. A kernel without a bias of its own
        /// (<paramref name="useBias"/> false) starts at zeros, or at a bias its caller gives it anyway (a BatchNormalization folded
        /// into the layer, in inference), so that bias costs no pass of its own over the output.
        /// </summary>
        internal static string BiasReference(bool useBias, string count) => useBias
            ? "ref float b = ref MemoryMarshal.GetReference(bias);"
            : $"ref float b = ref MemoryMarshal.GetReference(KernelScratch.BiasOrZeros(bias, {count})); // no bias of its own: zeros, unless given one";

        /// <summary>The zeroed padded image (this thread's scratch slot 0) that <see cref="EmitSampleImage"/> fills; sizes from the geometry.</summary>
        private static void EmitPaddedImage(CodeWriter w, KernelPlan p, bool rowStep)
        {
            if (p.Fixed)
            {
                var image = PaddedImage(p);
                w.L($"const int paddedHeight = {image.Height}, paddedWidth = {image.Width};");
            }
            else
            {
                w.Line("int paddedHeight = height + padTop + padBottom, paddedWidth = width + padLeft + padRight;");
                if (rowStep) w.Line("int rowStep = DilationHeight * paddedWidth * InputChannels; // input elements between two kernel rows of the padded image");
            }
            w.Line("float[] padded = KernelScratch.Get(0, paddedHeight * paddedWidth * InputChannels);");
            w.Line("var image = padded.AsSpan(0, paddedHeight * paddedWidth * InputChannels);");
            w.Line("image.Clear();");
        }

        /// <summary>Inside the loop over samples n: <c>x</c>, the sample's image (copied into the padded image when <paramref name="pads"/>).</summary>
        private static void EmitSampleImage(CodeWriter w, bool pads)
        {
            if (pads)
            {
                w.Line("for (int h = 0; h < height; h++)");
                w.Line("    input.Slice((n * height + h) * width * InputChannels, width * InputChannels).CopyTo(image.Slice(((h + padTop) * paddedWidth + padLeft) * InputChannels));");
                w.Line("ref float x = ref MemoryMarshal.GetArrayDataReference(padded);");
            }
            else
            {
                w.Line("ref float x = ref Unsafe.Add(ref MemoryMarshal.GetReference(input), n * height * width * InputChannels);");
            }
        }

        /// <summary>A forward register tile of <paramref name="pixels"/> pixels, in blocks of <paramref name="widths"/> filter vectors (see <see cref="EmitVectorBlocks"/>).</summary>
        private static void EmitForwardTile(CodeWriter w, KernelPlan p, int pixels, int[]? widths, Func<int, bool>? byColumn = null)
        {
            var m = p.Conv;
            long pixelStep = (long)m.StrideWidth * m.InputChannels;
            var xs = Enumerable.Range(0, pixels).Select(i => i * pixelStep).ToArray();
            string name = pixels == TilePixels ? "ForwardTile" : $"ForwardTile{pixels}";
            string parameters = $"ref float x, {(p.Fixed ? "" : "int rowStep, ")}{RowRangeParameters(p)}ref float k, ref float b, ref float y, ref float r";
            string arguments = $"ref x, {(p.Fixed ? "" : "rowStep, ")}{(SkipsPaddingRows(p) ? "kh0, kh1, " : "")}ref k, ref b, ref y, ref r";
            bool rows = SkipsPaddingRows(p);
            void Block(CodeWriter cw, int u, bool rolled)
            {
                if (byColumn?.Invoke(u) == true) EmitTileSumsByColumn(cw, p, u, xs, RowStep(p), rows, rolled);
                else EmitTileSums(cw, p, u, xs, RowStep(p), rows, rolled);
                for (int i = 0; i < pixels; i++)
                    cw.Line(string.Join(" ", Enumerable.Range(0, u).Select(j => Stored(p, $"a{i}{j}", Offset.Of("f") + (long)i * m.Filters + VOff(j), vector: true))));
            }
            // Blocks of u filter vectors inline, or (with blockCall) as calls of methods of their own.
            void Blocks(CodeWriter cw, bool rolled, Func<int, string>? blockCall = null) => EmitVectorBlocks(cw, m.Filters, "f", "Filters", u =>
            {
                if (blockCall != null) cw.Line(blockCall(u));
                else Block(cw, u, rolled);
            }, () =>
            {
                EmitTileScalarSums(cw, p, xs, RowStep(p), rows, rolled);
                cw.Line(string.Join(" ", Enumerable.Range(0, pixels).Select(i => Stored(p, $"s{i}", Offset.Of("f") + (long)i * m.Filters, vector: false))));
            }, widths: widths, fourAtAnyWidth: pixels == NarrowTilePixels, overlapTail: true);
            // Within the JIT's inlining limits (InlinedCallBudget): the taps unrolled; else in loops; else, still too many calls, each block a method.
            bool rolled = OverBudget(cw => Blocks(cw, rolled: false));
            bool split = rolled && OverBudget(cw => Blocks(cw, rolled: true));
            var blockMethods = new List<int>();
            w.L($"/// <summary>{pixels} neighbouring output pixels of a row: x is the first window's top-left, y the first pixel, r its residual. Each weight vector loaded feeds {pixels} FMAs.</summary>");
            w.Line(Optimized);
            w.Open($"private static void {name}{ForwardGeneric}({parameters}){ForwardConstraint}");
            w.Line("int vc = Count<V>(); // floats per vector");
            Blocks(w, rolled, !split ? null : u =>
            {
                if (!blockMethods.Contains(u)) blockMethods.Add(u);
                return $"{name}Vectors{u}<V, E>({arguments}, f);";
            });
            w.Close();
            foreach (int u in blockMethods)
            {
                w.Line();
                w.L($"/// <summary>Filters [f, f + {u} vector{(u > 1 ? "s" : "")}) of <see cref=\"{name}{{V, E}}\"/>, a method of its own so that the JIT inlines its vector helpers (see InlinedCallBudget in the generator).</summary>");
                w.Line(Optimized);
                w.Open($"private static void {name}Vectors{u}{ForwardGeneric}({parameters}, int f){ForwardConstraint}");
                w.Line("int vc = Count<V>(); // floats per vector");
                Block(w, u, rolled: true);
                w.Close();
            }
        }

        /// <summary>
        /// The most calls of the vector helpers (Load, Broadcast, Fma, Store, the epilogue's Apply, ...) a kernel method may make,
        /// in its text, for the JIT to inline them all. Each inlined helper takes some of the JIT's locals (512 at most for
        /// inlining), and past them it leaves the rest as calls ("too many locals" in its inlining events), several times slower:
        /// the forward tiles of a 5x5 kernel on 3 channels with 67 filters, whose rows of 15 taps were unrolled (719 to 1,310
        /// calls), and, with 16 vector registers, forward tiles of 226 to 323 calls (a 3x3 kernel on 4 channels with 32 filters, a
        /// stride-2 3x3 on 2 with 40, a 5x5 on 24 with 20) and a weight-gradient tap of 202 (2x7 on 6 channels, 93 filters). No
        /// method under 200 failed, in 310 configurations at both register counts (MNIST's first layer's 3-pixel tile has 192);
        /// some over it did not (which of a method's paths the JIT imports decides). A forward method over it sums with its taps
        /// in loops (kernel row, then channels in the channels-first order), which adds the same products in the same order; a
        /// tile still over it runs each block of filter vectors as a method of its own, a tap its leftover channels.
        /// </summary>
        private const int InlinedCallBudget = 200;

        /// <summary>Whether what <paramref name="emit"/> writes makes more vector helper calls than <see cref="InlinedCallBudget"/>.</summary>
        private static bool OverBudget(Action<CodeWriter> emit)
        {
            var w = new CodeWriter();
            emit(w);
            return HelperCall.Matches(w.ToString()).Count > InlinedCallBudget;
        }

        private static readonly Regex HelperCall = new(@"(?<![\w.])(Load<V>|Broadcast<V>|Fma|Store|Max|Relu|E\.Apply)\(", RegexOptions.CultureInvariant);

        /// <summary>
        /// The sums of a register tile, for filters [f, f + u vectors): accumulators a{i}{j} (pixel i, filter vector j) start at the
        /// bias and add, in the order of <see cref="EmitTaps"/>, x at pixel i's offset <paramref name="xs"/>[i] times the weights, each a
        /// fused multiply-add. Every tile kernel adds in this order, so their results agree. With <paramref name="rows"/>, only kernel
        /// rows [kh0, kh1) (see <see cref="SkipsPaddingRows"/>).
        /// </summary>
        private static void EmitTileSums(CodeWriter w, KernelPlan p, int u, long[] xs, string rowStep, bool rows = false, bool rolled = false)
        {
            var m = p.Conv;
            var js = Enumerable.Range(0, u).ToArray();
            EmitAccumulators(w, js, xs.Length);
            EmitTaps(w, p, rowStep, rows, scoped: true, rolled, (xo, ko) =>
            {
                w.Line($"ref float kc = ref Unsafe.Add(ref k, {ko + Offset.Of("f")});");
                // The pixels' inputs at constant offsets from one reference: each load addresses [xc + constant], no index arithmetic.
                w.Line($"ref float xc = ref Unsafe.Add(ref x, {xo});");
                string Broadcast(int i) => xs[i] == 0 ? $"var x{i} = Broadcast<V>(xc);" : $"var x{i} = Broadcast<V>(Unsafe.Add(ref xc, {Str(xs[i])}));";
                if (BroadcastsFirst(xs.Length, u))
                {
                    w.Line(string.Join(" ", Enumerable.Range(0, xs.Length).Select(Broadcast)));
                    foreach (int j in js)
                        w.Line($"var w{j} = Load<V>(ref kc{VOffArgument(j)}); " + string.Join(" ", Enumerable.Range(0, xs.Length).Select(i => $"a{i}{j} = Fma(x{i}, w{j}, a{i}{j});")));
                    return;
                }
                w.Line(string.Join(" ", js.Select(j => $"var w{j} = Load<V>(ref kc{VOffArgument(j)});")));
                for (int i = 0; i < xs.Length; i++)
                {
                    w.Line(Broadcast(i));
                    w.Line(string.Join(" ", js.Select(j => $"a{i}{j} = Fma(x{i}, w{j}, a{i}{j});")));
                }
            });
        }

        /// <summary>
        /// Whether a block of <paramref name="vectors"/> filter vectors of a <paramref name="pixels"/>-pixel tile sums by input
        /// column (<see cref="EmitTileSumsByColumn"/>): for kernels more than one tap wide, while its accumulators, a kernel row's
        /// weight vectors and two broadcasts fit the <paramref name="registers"/> vector registers the block may run with.
        /// </summary>
        private static bool SumsByColumn(ConvSpec m, int pixels, int vectors, int registers)
            => ChannelsBeforeTaps(m) && (pixels + m.KernelWidth) * vectors + 2 <= registers;

        /// <summary>
        /// Whether every forward sum of this convolution adds channel by channel, then tap across (see <see cref="EmitTaps"/>), so
        /// that its tiles can sum by input column: for kernels 2 to 7 taps wide with up to 32 filters (one or two vectors at 16
        /// floats), whose tap-by-tap tiles broadcast one input value per one or two FMAs. Wider layers keep the tap-by-tap
        /// order, in which their tiles ran faster (MNIST's second layer, 64 filters: 5% slower with the channels first). A rule of
        /// the configuration alone, so a layer's standalone and compiled kernels add in the same order to the same bits.
        /// </summary>
        private static bool ChannelsBeforeTaps(ConvSpec m) => m.KernelWidth > 1 && m.KernelWidth <= MaxUnrolledTapsAcross && m.Filters <= 32;

        /// <summary>The widest kernel whose forward sums take the channels before the taps across, which they unroll (see <see cref="ChannelsBeforeTaps"/>).</summary>
        private const int MaxUnrolledTapsAcross = 7;

        /// <summary>
        /// The sums of a register tile's <paramref name="u"/> filter vectors by input column: for each kernel row and input
        /// channel, the kernel row's weight vectors (u per tap across) are loaded once, and each input column the tile's windows
        /// cover is broadcast once and multiplied into every pixel that reads it, u FMAs per tap. The tap-by-tap order of
        /// <see cref="EmitTileSums"/> broadcasts one value per u FMAs: with filters in one vector, as many loads as FMAs, which
        /// kept a 3x3 layer of 16 filters a quarter slower per multiply-add than wider ones (ResNet-20's first stage); here a
        /// 14-pixel tile of a 3x3 kernel broadcasts 16 values for 42 FMAs. Each sum adds in the order of <see cref="EmitTaps"/>
        /// for such a convolution (kernel row, channel, tap across), as every other forward sum of it does, so the tiles agree bit
        /// for bit.
        /// </summary>
        private static void EmitTileSumsByColumn(CodeWriter w, KernelPlan p, int u, long[] xs, string rowStep, bool rows, bool rolled = false)
        {
            var m = p.Conv;
            long cf = (long)m.InputChannels * m.Filters, tapStep = (long)m.DilationWidth * m.InputChannels;
            var js = Enumerable.Range(0, u).ToArray();
            EmitAccumulators(w, js, xs.Length);
            // Each input column the windows cover (its offset from the first window's left), with the pixels and taps that read it.
            var columns = (from i in Enumerable.Range(0, xs.Length)
                           from kw in Enumerable.Range(0, m.KernelWidth)
                           group (Pixel: i, Tap: kw) by xs[i] + kw * tapStep into column
                           orderby column.Key
                           select column).ToList();
            OpenKernelRow(w, m, rowStep, rows);
            EmitChannels(w, m, scoped: true, rolled, (c, cFilters) =>
            {
                w.Line($"ref float kc = ref Unsafe.Add(ref k, {Offset.Of("kr") + cFilters + Offset.Of("f")});");
                w.Line($"ref float xc = ref Unsafe.Add(ref x, {Offset.Of("xr") + c});");
                for (int kw = 0; kw < m.KernelWidth; kw++)
                    w.Line(string.Join(" ", js.Select(j => $"var w{kw}{j} = Load<V>(ref kc, {Offset.Of("vc", j) + kw * cf});")));
                for (int q = 0; q < columns.Count; q++)
                {
                    long at = columns[q].Key;
                    w.Line(at == 0 ? $"var x{q} = Broadcast<V>(xc);" : $"var x{q} = Broadcast<V>(Unsafe.Add(ref xc, {Str(at)}));");
                    w.Line(string.Join(" ", columns[q].SelectMany(r => js.Select(j => $"a{r.Pixel}{j} = Fma(x{q}, w{r.Tap}{j}, a{r.Pixel}{j});"))));
                }
            });
            w.Close();
        }

        /// <summary>Accumulators a{i}{j} for <paramref name="pixels"/> pixels and filter vectors <paramref name="js"/>, each starting at the bias.</summary>
        private static void EmitAccumulators(CodeWriter w, int[] js, int pixels)
        {
            foreach (int j in js)
            {
                w.Line($"var bias{j} = Load<V>(ref b, {Offset.Of("f") + VOff(j)});");
                w.Line(string.Join(" ", Enumerable.Range(0, pixels).Select(i => $"var a{i}{j} = bias{j};")));
            }
        }

        /// <summary>
        /// Opens the loop over the kernel rows a forward sum adds (all, or [kh0, kh1) with <paramref name="rows"/>) with the row's
        /// first tap in the input and the weights, <c>xr</c> and <c>kr</c>; the caller closes it.
        /// </summary>
        private static void OpenKernelRow(CodeWriter w, ConvSpec m, string rowStep, bool rows)
        {
            w.Open(rows ? "for (int kh = kh0; kh < kh1; kh++)" : "for (int kh = 0; kh < KernelHeight; kh++)");
            w.L($"int xr = kh * {rowStep}, kr = kh * {Str((long)m.KernelWidth * m.InputChannels * m.Filters)}; // the row's first tap in the input and the weights");
        }

        /// <summary>The scalar sums s{i} of a register tile for filter f, in the order of <see cref="EmitTileSums"/>.</summary>
        private static void EmitTileScalarSums(CodeWriter w, KernelPlan p, long[] xs, string rowStep, bool rows = false, bool rolled = false)
        {
            var m = p.Conv;
            var ps = Enumerable.Range(0, xs.Length).ToArray();
            w.Line(string.Join(" ", ps.Select(i => $"float s{i} = Unsafe.Add(ref b, f);")));
            EmitTaps(w, p, rowStep, rows, scoped: true, rolled, (xo, ko) =>
            {
                w.Line($"float kc = Unsafe.Add(ref k, {ko + Offset.Of("f")});");
                w.Line(string.Join(" ", ps.Select(i => $"s{i} = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, {xo + xs[i]}), kc, s{i});")));
            });
        }

        private static void EmitForwardPixel(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            w.Line("/// <summary>One output pixel (its window whole in the image): x is the window's top-left, y the pixel, r its residual; no checks.</summary>");
            w.Line(Optimized);
            w.Open($"private static void ForwardInterior{ForwardGeneric}(ref float x, {(p.Fixed ? "" : "int rowStep, ")}{RowRangeParameters(p)}ref float k, ref float b, ref float y, ref float r){ForwardConstraint}");
            w.Line("int vc = Count<V>(); // floats per vector");
            bool rows = SkipsPaddingRows(p);
            void Blocks(CodeWriter cw, bool rolled) => EmitVectorBlocks(cw, m.Filters, "f", "Filters", u =>
            {
                for (int j = 0; j < u; j++)
                    cw.Line($"var a{j} = Load<V>(ref b, {Offset.Of("f") + VOff(j)});");
                EmitTaps(cw, p, RowStep(p), rows, scoped: true, rolled, (xo, ko) =>
                {
                    cw.Line($"var xc = Broadcast<V>(Unsafe.Add(ref x, {xo}));");
                    cw.Line($"ref float kc = ref Unsafe.Add(ref k, {ko + Offset.Of("f")});");
                    cw.Line(string.Join(" ", Enumerable.Range(0, u).Select(j => $"a{j} = Fma(xc, Load<V>(ref kc{VOffArgument(j)}), a{j});")));
                });
                cw.Line(string.Join(" ", Enumerable.Range(0, u).Select(j => Stored(p, $"a{j}", Offset.Of("f") + VOff(j), vector: true))));
            }, () =>
            {
                cw.Line("float s = Unsafe.Add(ref b, f);");
                EmitTaps(cw, p, RowStep(p), rows, scoped: false, rolled, (xo, ko) =>
                    cw.Line($"s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, {xo}), Unsafe.Add(ref k, {ko + Offset.Of("f")}), s);"));
                cw.Line(Stored(p, "s", Offset.Of("f"), vector: false));
            }, widths: [4, 1], fourAtAnyWidth: true, overlapTail: true); // one pixel: 4 independent accumulators hide the FMA latency
            Blocks(w, rolled: OverBudget(cw => Blocks(cw, rolled: false)));
            w.Close();
        }

        /// <summary>
        /// The store of a sum at <c>y + offset</c>: through the ReLU when the kernel applies it, then the epilogue <c>E</c>, which
        /// reads the residual (if it adds one) at <c>r + offset</c>.
        /// </summary>
        private static string Stored(KernelPlan p, string value, Offset offset, bool vector)
        {
            string activated = !p.AppliesRelu ? value : vector ? $"Relu({value})" : $"MathF.Max({value}, 0f)";
            string stored = $"E.Apply({activated}, ref r, {offset})";
            return vector ? $"Store({stored}, ref y, {offset});" : $"Unsafe.Add(ref y, {offset}) = {stored};";
        }

        // ------------------------------------------------------------------------------------------------
        // Forward with the next layer's 2x2 max pool fused.
        // ------------------------------------------------------------------------------------------------

        /// <summary>
        /// The padded image a pooled forward pass reads: for 'same' padding with some padding, each sample is copied into a zeroed
        /// image with the padding around it, so every window is whole (a zero input adds nothing to a sum); otherwise the input
        /// itself, whose windows are all whole.
        /// </summary>
        private static (bool Copy, int Top, int Left, int Height, int Width) PaddedImage(KernelPlan p)
        {
            var (top, bottom) = p.PaddingHeight;
            var (left, right) = p.PaddingWidth;
            return (top + bottom + left + right > 0, top, left, p.FixedHeight + top + bottom, p.FixedWidth + left + right);
        }

        private static void EmitForwardPooled(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            var (copy, top, left, paddedHeight, paddedWidth) = PaddedImage(p);
            w.Line("/// <summary>");
            w.L($"/// The convolution{(m.UseBias || p.AppliesRelu ? $" ({(m.UseBias && p.AppliesRelu ? "bias and ReLU" : m.UseBias ? "bias" : "ReLU")} fused)" : "")} and the next layer's 2x2 max pool in one pass, one pooling window per register tile.");
            w.Line("/// <paramref name=\"output\"/> receives the convolution's output when it is not empty (the backward pass reads it); <paramref name=\"pooled\"/> the pool's.");
            w.Line("/// Only pooled rows [rowStart, rowEnd) (and the output rows under them) are written, in every sample: threads can share a sample.");
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open($"public static void ForwardPooled{Generic}(ReadOnlySpan<float> input, int batch, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, Span<float> pooled, int rowStart, int rowEnd){Constraint}");
            w.L($"// Sizes fixed by the network: a {p.FixedHeight}x{p.FixedWidth}x{m.InputChannels} input, a {p.OutputHeight}x{p.OutputWidth}x{m.Filters} output.");
            w.L($"const int height = {p.FixedHeight}, width = {p.FixedWidth}, outputHeight = {p.OutputHeight}, outputWidth = {p.OutputWidth};");
            w.Line("const int pooledHeight = outputHeight / 2, pooledWidth = outputWidth / 2;");
            if (copy)
            {
                w.Line("// TF 'same' padding: the smaller half on top/left, the odd one extra at the bottom/right.");
                w.L($"const int padTop = {top}, padLeft = {left};");
                w.L($"// Each sample is copied into a zeroed {paddedHeight}x{paddedWidth} image with the padding around it: every window is whole, and the");
                w.Line("// padding's zeros add nothing, so no pixel needs a clamped window.");
                EmitPaddedImage(w, p, rowStep: false);
            }
            else
            {
                w.Line(m.Same ? "// 'same' padding that pads nothing: every window is inside the input." : "// Valid padding: every window is inside the input.");
                w.Line("const int paddedWidth = width;");
            }
            w.Line("ref float k = ref MemoryMarshal.GetReference(weights);");
            w.Line(BiasReference(m.UseBias, "Filters"));
            w.Line("ref float yp = ref MemoryMarshal.GetReference(pooled);");
            w.Line("bool keep = !output.IsEmpty;");
            w.Line("ref float y = ref keep ? ref MemoryMarshal.GetReference(output) : ref yp;");
            w.Open("for (int n = 0; n < batch; n++)");
            EmitSampleImage(w, copy);
            w.Open("for (int ph = rowStart; ph < rowEnd; ph++)");
            bool rows = SkipsPaddingRows(p);
            if (rows)
            {
                // The window's two output rows have their own kernel rows inside the input; the tile sums the span of both, and
                // a row inside it that one of them does not need reads the padding's zeros.
                w.Line("// The kernel rows inside the input for either output row of the window: rows only the padding's zeros fill for both are skipped.");
                w.Line("var (top0, top1) = Geometry.Taps(2 * ph * StrideHeight - padTop, KernelHeight, DilationHeight, height);");
                w.Line("var (bottom0, bottom1) = Geometry.Taps((2 * ph + 1) * StrideHeight - padTop, KernelHeight, DilationHeight, height);");
                w.Line("int kh0 = Math.Min(top0, bottom0), kh1 = Math.Max(top1, bottom1);");
            }
            w.Open("for (int pw = 0; pw < pooledWidth; pw++)");
            w.Line("int window = (2 * ph * StrideHeight * paddedWidth + 2 * pw * StrideWidth) * InputChannels;");
            w.Line("int pixel = keep ? ((n * outputHeight + 2 * ph) * outputWidth + 2 * pw) * Filters : 0;");
            w.Line("int pool = ((n * pooledHeight + ph) * pooledWidth + pw) * Filters;");
            w.L($"ForwardPoolTile<V>(ref Unsafe.Add(ref x, window), {(rows ? "kh0, kh1, " : "")}ref k, ref b, keep, ref Unsafe.Add(ref y, pixel), ref Unsafe.Add(ref yp, pool));");
            w.Close();
            w.Close();
            w.Close();
            w.Close();
        }

        /// <summary>
        /// One pooling window: its 2x2 output pixels in registers (each weight vector loaded feeds 4 FMAs), the bias and ReLU applied,
        /// then the four stored (when kept) and their maximum stored as the pooled pixel, in the unfused pool's order.
        /// </summary>
        private static void EmitForwardPoolTile(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            int paddedWidth = PaddedImage(p).Width;
            long right = (long)m.StrideWidth * m.InputChannels, down = (long)m.StrideHeight * paddedWidth * m.InputChannels;
            long[] xs = [0, right, down, down + right];
            long[] ys = [0, m.Filters, (long)p.OutputWidth * m.Filters, ((long)p.OutputWidth + 1) * m.Filters];
            var ps = Enumerable.Range(0, 4).ToArray();
            bool rows = SkipsPaddingRows(p);
            w.L($"/// <summary>One pooling window: x is its first window's top-left input, y its first output pixel, yp its pooled pixel. Each weight vector loaded feeds 4 FMAs.{(rows ? " Kernel rows [kh0, kh1) only." : "")}</summary>");
            w.Line(Optimized);
            w.Open($"private static void ForwardPoolTile{Generic}(ref float x, {RowRangeParameters(p)}ref float k, ref float b, bool keep, ref float y, ref float yp){Constraint}");
            w.L($"const int rowStep = DilationHeight * {paddedWidth} * InputChannels; // input elements between two kernel rows of the (padded) image");
            w.Line("int vc = Count<V>(); // floats per vector");
            void Blocks(CodeWriter cw, bool rolled) => EmitVectorBlocks(cw, m.Filters, "f", "Filters", u =>
            {
                var js = Enumerable.Range(0, u).ToArray();
                EmitTileSums(cw, p, u, xs, "rowStep", rows, rolled);
                if (p.AppliesRelu)
                    foreach (int i in ps) cw.Line(string.Join(" ", js.Select(j => $"a{i}{j} = Relu(a{i}{j});")));
                cw.Open("if (keep)");
                foreach (int i in ps)
                    cw.Line(string.Join(" ", js.Select(j => $"Store(a{i}{j}, ref y, {Offset.Of("f") + ys[i] + VOff(j)});")));
                cw.Close();
                foreach (int j in js)
                    cw.Line($"Store(Max(Max(Max(a0{j}, a1{j}), a2{j}), a3{j}), ref yp, {Offset.Of("f") + VOff(j)});");
            }, () =>
            {
                EmitTileScalarSums(cw, p, xs, "rowStep", rows, rolled);
                if (p.AppliesRelu) cw.Line(string.Join(" ", ps.Select(i => $"s{i} = MathF.Max(s{i}, 0f);")));
                cw.Line("if (keep) { " + string.Join(" ", ps.Select(i => $"Unsafe.Add(ref y, {Offset.Of("f") + ys[i]}) = s{i};")) + " }");
                cw.Line("Unsafe.Add(ref yp, f) = MathF.Max(MathF.Max(MathF.Max(s0, s1), s2), s3);");
            }, overlapTail: true);
            // The taps in loops where unrolling them would make more helper calls than the JIT inlines (see InlinedCallBudget).
            Blocks(w, rolled: OverBudget(cw => Blocks(cw, rolled: false)));
            w.Close();
        }

        // ------------------------------------------------------------------------------------------------
        // Weight and bias gradients.
        // ------------------------------------------------------------------------------------------------

        private static void EmitBackwardWeights(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            w.Line("/// <summary>Adds dk[kh, kw, c, f] += sum over output pixels of x[pixel's tap, c] * g[pixel, f], and db[f] += sum of g[pixel, f].</summary>");
            w.Line(Optimized);
            w.Open($"public static void BackwardWeights{Generic}(ReadOnlySpan<float> input, int batch, {SizeParameters(p)}ReadOnlySpan<float> outputGradient, Span<float> weightsGradient, Span<float> biasGradient){Constraint}");
            bool rowTaps = RowTapsGradient(m);
            EmitGeometry(w, p, forward: rowTaps, rowStep: false); // the row-of-taps sweep reads the forward pass's (padded) image
            if (!rowTaps) w.Line("ref float x = ref MemoryMarshal.GetReference(input);");
            w.Line("ref float g = ref MemoryMarshal.GetReference(outputGradient);");
            w.Line("ref float dk = ref MemoryMarshal.GetReference(weightsGradient);");
            if (m.UseBias)
            {
                w.Line("int vc = Count<V>(); // floats per vector");
                EmitBiasGradient(w, m.Filters, "g", "batch * outputHeight * outputWidth");
            }
            if (rowTaps)
            {
                EmitRowTapsWeightGradient(w, p);
                w.Close();
                return;
            }
            w.Line("// Weight gradient, tap by tap: dk[kh, kw] += x[tap pixels]^T g over the tap's rectangle of output pixels, in blocks of rows.");
            EmitTapRectangles(w, p, "WeightGradientTap<V>(ref Unsafe.Add(ref x, xo), ref Unsafe.Add(ref g, go), ref Unsafe.Add(ref dk, ko), rows, cols, StrideHeight * width * InputChannels, outputWidth * Filters);", rowBlocks: true);
            w.Close();
        }

        /// <summary>
        /// The bias gradient, db[f] += sum over <paramref name="pixels"/> output pixels of <paramref name="gradient"/>[pixel, f] (the
        /// caller declares <c>vc</c> and has a <c>biasGradient</c> span and a <c>Filters</c> constant). Each filter's sum is held in a
        /// register from db's value on and adds the pixels in order, as adding into db pixel by pixel does (the same bits), without
        /// a store and reload of db for every pixel: that chain through memory cost a store-to-load forwarding per pixel and, most
        /// likely, made two threads writing neighbouring bias gradients share a cache line.
        /// </summary>
        internal static void EmitBiasGradient(CodeWriter w, int filters, string gradient, string pixels)
        {
            w.L($"// Bias gradient: db[f] += sum over every output pixel of {gradient}[pixel, f], in pixel order, in registers.");
            w.Open();
            w.Line("ref float db = ref MemoryMarshal.GetReference(biasGradient);");
            w.L($"int biasPixels = {pixels};");
            EmitVectorBlocks(w, filters, "f", "Filters", u =>
            {
                var js = Enumerable.Range(0, u).ToArray();
                w.Line(string.Join(" ", js.Select(j => $"var d{j} = Load<V>(ref db{VOffArgument(j)}{(j == 0 ? ", f" : " + f")});")));
                w.Open("for (int pixel = 0; pixel < biasPixels; pixel++)");
                w.L($"ref float gp = ref Unsafe.Add(ref {gradient}, pixel * Filters + f);");
                w.Line(string.Join(" ", js.Select(j => $"d{j} = Add(d{j}, Load<V>(ref gp{VOffArgument(j)}));")));
                w.Close();
                w.Line(string.Join(" ", js.Select(j => $"Store(d{j}, ref db{VOffArgument(j)}{(j == 0 ? ", f" : " + f")});")));
            }, () =>
            {
                w.Line("float s = Unsafe.Add(ref db, f);");
                w.L($"for (int pixel = 0; pixel < biasPixels; pixel++) s += Unsafe.Add(ref {gradient}, pixel * Filters + f);");
                w.Line("Unsafe.Add(ref db, f) = s;");
            });
            w.Close();
        }

        /// <summary>
        /// Whether the weight gradient takes a whole row of taps per output pixel (<see cref="EmitRowTapsWeightGradient"/>): when a row
        /// of taps times the channels is short (a first layer: one or three channels), where the tap-by-tap sweep loads the gradient
        /// again for every tap and gets only one or two FMAs per load.
        /// </summary>
        internal static bool RowTapsGradient(ConvSpec m) => m.KernelWidth * m.InputChannels <= 6;

        /// <summary>
        /// The weight gradient for few channels: for each kernel row kh and block of filters, registers hold dk[kh, kw, c, f-block] for
        /// every kw and c, and one sweep over the output pixels adds x[pixel's tap (kh, kw), c] * g[pixel, f-block] to all of them, so
        /// each gradient vector loaded feeds KernelWidth x InputChannels FMAs. The image is the forward pass's (zero-padded for 'same'),
        /// so every tap covers every pixel (the zeros add nothing). Each dk element adds its products in the order n, oh, ow.
        /// </summary>
        private static void EmitRowTapsWeightGradient(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            bool pads = PadsForward(p);
            var taps = (from kw in Enumerable.Range(0, m.KernelWidth) from c in Enumerable.Range(0, m.InputChannels) select (kw, c)).ToArray();
            string imageWidth = pads ? "paddedWidth" : "width";
            long pixelStep = (long)m.StrideWidth * m.InputChannels;
            string X((int kw, int c) t) => Str((long)t.kw * m.DilationWidth * m.InputChannels + t.c);
            string Dk((int kw, int c) t) => $"(kh * KernelWidth{(t.kw == 0 ? "" : $" + {t.kw}")}) * {Str((long)m.InputChannels * m.Filters)}{(t.c == 0 ? "" : $" + {Str((long)t.c * m.Filters)}")} + f";
            w.L($"// Weight gradient, a row of {taps.Length} taps x channels at a time: each gradient vector loaded feeds {taps.Length} FMAs.");
            if (pads) EmitPaddedImage(w, p, rowStep: false);
            if (!m.UseBias) w.Line("int vc = Count<V>(); // floats per vector");
            w.Open("for (int n = 0; n < batch; n++)");
            EmitSampleImage(w, pads);
            w.Open("for (int kh = 0; kh < KernelHeight; kh++)");
            void Pixels(Action body)
            {
                w.Open("for (int oh = 0; oh < outputHeight; oh++)");
                w.L($"ref float xp = ref Unsafe.Add(ref x, (oh * StrideHeight + kh * DilationHeight) * {imageWidth} * InputChannels);");
                w.Line("ref float gp = ref Unsafe.Add(ref g, (n * outputHeight + oh) * outputWidth * Filters + f);");
                w.Open("for (int ow = 0; ow < outputWidth; ow++)");
                body();
                w.L($"xp = ref Unsafe.Add(ref xp, {Step(pixelStep)});");
                w.Line("gp = ref Unsafe.Add(ref gp, Filters);");
                w.Close();
                w.Close();
            }
            EmitVectorBlocks(w, m.Filters, "f", "Filters", u =>
            {
                var js = Enumerable.Range(0, u).ToArray();
                for (int t = 0; t < taps.Length; t++)
                    w.Line(string.Join(" ", js.Select(j => $"var a{t}{j} = Load<V>(ref dk, {Dk(taps[t])}{(j == 0 ? "" : $" + {VOff(j)}")});")));
                Pixels(() =>
                {
                    w.Line(string.Join(" ", js.Select(j => $"var g{j} = Load<V>(ref gp{VOffArgument(j)});")));
                    for (int t = 0; t < taps.Length; t++)
                    {
                        w.Line($"var x{t} = Broadcast<V>(Unsafe.Add(ref xp, {X(taps[t])}));");
                        w.Line(string.Join(" ", js.Select(j => $"a{t}{j} = Fma(x{t}, g{j}, a{t}{j});")));
                    }
                });
                for (int t = 0; t < taps.Length; t++)
                    w.Line(string.Join(" ", js.Select(j => $"Store(a{t}{j}, ref dk, {Dk(taps[t])}{(j == 0 ? "" : $" + {VOff(j)}")});")));
            }, () =>
            {
                w.Line(string.Join(" ", Enumerable.Range(0, taps.Length).Select(t => $"float s{t} = Unsafe.Add(ref dk, {Dk(taps[t])});")));
                Pixels(() =>
                {
                    w.Line("float gf = gp;");
                    w.Line(string.Join(" ", Enumerable.Range(0, taps.Length).Select(t => $"s{t} = MathF.FusedMultiplyAdd(Unsafe.Add(ref xp, {X(taps[t])}), gf, s{t});")));
                });
                w.Line(string.Join(" ", Enumerable.Range(0, taps.Length).Select(t => $"Unsafe.Add(ref dk, {Dk(taps[t])}) = s{t};")));
            }, widths: [2, 1]);
            w.Close();
            w.Close();
        }

        private static void EmitWeightGradientTap(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            w.Line("/// <summary>");
            w.Line("/// dk[c, f] += sum over rows x cols output pixels of x[pixel's tap, c] * g[pixel, f], for one tap: x and g point at the first");
            w.L($"/// pixel, rows are xRow and gRow apart. Registers hold a tile of {TileChannels} channels x up to 4 filter vectors over all the pixels.");
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open($"private static void WeightGradientTap{Generic}(ref float x, ref float g, ref float dk, int rows, int cols, int xRow, int gRow){Constraint}");
            w.Line("int vc = Count<V>(); // floats per vector");
            w.Line("int c = 0;");
            if (m.InputChannels >= TileChannels)
            {
                w.Open($"for (; c <= InputChannels - {TileChannels}; c += {TileChannels})");
                EmitWeightGradientChannels(w, m, TileChannels);
                w.Close();
            }
            // The channels left over one at a time: in a method of their own where, with the tiles above, the helper calls would be
            // more than the JIT inlines (InlinedCallBudget; 7 taps x 6 channels with 93 filters at 16 floats and 16 registers).
            bool split = m.InputChannels % TileChannels != 0 && m.InputChannels >= TileChannels
                && OverBudget(cw => { EmitWeightGradientChannels(cw, m, TileChannels); EmitWeightGradientChannels(cw, m, 1); });
            if (m.InputChannels % TileChannels != 0)
            {
                w.Open("for (; c < InputChannels; c++)");
                if (split) w.Line("WeightGradientChannel<V>(ref x, ref g, ref dk, rows, cols, xRow, gRow, c);");
                else EmitWeightGradientChannels(w, m, 1);
                w.Close();
            }
            w.Close();
            if (!split) return;
            w.Line();
            w.Line("/// <summary>Channel c of <see cref=\"WeightGradientTap{V}\"/>, a method of its own so that the JIT inlines its vector helpers (see InlinedCallBudget in the generator).</summary>");
            w.Line(Optimized);
            w.Open($"private static void WeightGradientChannel{Generic}(ref float x, ref float g, ref float dk, int rows, int cols, int xRow, int gRow, int c){Constraint}");
            w.Line("int vc = Count<V>(); // floats per vector");
            EmitWeightGradientChannels(w, m, 1);
            w.Close();
        }

        private static void EmitWeightGradientChannels(CodeWriter w, ConvSpec m, int r)
        {
            long pixelStep = (long)m.StrideWidth * m.InputChannels;
            var rs = Enumerable.Range(0, r).ToArray();
            Offset Dk(int q) => Offset.Of("c", m.Filters) + (long)q * m.Filters + Offset.Of("f");
            void PixelLoops(Action body)
            {
                w.Open("for (int i = 0; i < rows; i++)");
                w.Line("ref float xp = ref Unsafe.Add(ref x, i * xRow + c);");
                w.Line("ref float gp = ref Unsafe.Add(ref g, i * gRow + f);");
                w.Open("for (int j = 0; j < cols; j++)");
                body();
                w.L($"xp = ref Unsafe.Add(ref xp, {Step(pixelStep)});");
                w.Line("gp = ref Unsafe.Add(ref gp, Filters);");
                w.Close();
                w.Close();
            }
            EmitVectorBlocks(w, m.Filters, "f", "Filters", u =>
            {
                var js = Enumerable.Range(0, u).ToArray();
                foreach (int q in rs)
                    w.Line(string.Join(" ", js.Select(j => $"var a{q}{j} = Load<V>(ref dk, {Dk(q) + VOff(j)});")));
                if (r > 1 || !TileFits(m, 4))
                {
                    PixelLoops(() =>
                    {
                        w.Line(string.Join(" ", js.Select(j => $"var g{j} = Load<V>(ref gp{VOffArgument(j)});")));
                        foreach (int q in rs)
                        {
                            w.Line($"var x{q} = Broadcast<V>(Unsafe.Add(ref xp, {q}));");
                            w.Line(string.Join(" ", js.Select(j => $"a{q}{j} = Fma(x{q}, g{j}, a{q}{j});")));
                        }
                    });
                }
                else
                {
                    // One channel: too few accumulators to hide the FMA latency, so 4 pixels go to 4 independent sets.
                    w.Line("// One channel: too few accumulators to hide the FMA latency, so 4 pixels at a time go to 4 independent sets.");
                    w.Line(string.Join(" ", js.Select(j => $"var s1{j} = Zero<V>(); var s2{j} = Zero<V>(); var s3{j} = Zero<V>();")));
                    w.Open("for (int i = 0; i < rows; i++)");
                    w.Line("ref float xp = ref Unsafe.Add(ref x, i * xRow + c);");
                    w.Line("ref float gp = ref Unsafe.Add(ref g, i * gRow + f);");
                    w.Line("int j = 0;");
                    w.Open("for (; j <= cols - 4; j += 4)");
                    string[] sets = ["a0", "s1", "s2", "s3"];
                    for (int p = 0; p < 4; p++)
                    {
                        w.Line($"var x{p} = Broadcast<V>(Unsafe.Add(ref xp, {Str(p * pixelStep)}));");
                        w.Line(string.Join(" ", js.Select(j => $"{sets[p]}{j} = Fma(x{p}, Load<V>(ref gp, {Offset.Zero + (long)p * m.Filters + VOff(j)}), {sets[p]}{j});")));
                    }
                    w.L($"xp = ref Unsafe.Add(ref xp, {Str(4L * pixelStep)});");
                    w.Line("gp = ref Unsafe.Add(ref gp, 4 * Filters);");
                    w.Close();
                    w.Open("for (; j < cols; j++)");
                    w.Line("var x0 = Broadcast<V>(xp);");
                    w.Line(string.Join(" ", js.Select(j => $"a0{j} = Fma(x0, Load<V>(ref gp{VOffArgument(j)}), a0{j});")));
                    w.L($"xp = ref Unsafe.Add(ref xp, {Step(pixelStep)});");
                    w.Line("gp = ref Unsafe.Add(ref gp, Filters);");
                    w.Close();
                    w.Close();
                    w.Line(string.Join(" ", js.Select(j => $"a0{j} = Add(a0{j}, Add(Add(s1{j}, s2{j}), s3{j}));")));
                }
                foreach (int q in rs)
                    w.Line(string.Join(" ", js.Select(j => $"Store(a{q}{j}, ref dk, {Dk(q) + VOff(j)});")));
            }, () =>
            {
                w.Line(string.Join(" ", rs.Select(q => $"float s{q} = 0f;")));
                PixelLoops(() =>
                {
                    w.Line("float gf = gp;");
                    w.Line(string.Join(" ", rs.Select(q => $"s{q} += Unsafe.Add(ref xp, {q}) * gf;")));
                });
                w.Line(string.Join(" ", rs.Select(q => $"Unsafe.Add(ref dk, {Dk(q)}) += s{q};")));
            });
        }

        // ------------------------------------------------------------------------------------------------
        // Input gradient.
        // ------------------------------------------------------------------------------------------------

        private static void EmitBackwardInput(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            w.Line("/// <summary>Adds dx[n, ih, iw, c] += sum over the output pixels whose window covers (ih, iw) and their filters f of g[pixel, f] * k[tap, c, f].</summary>");
            w.Line(Optimized);
            w.Open($"public static void BackwardInput{Generic}(int batch, {SizeParameters(p)}ReadOnlySpan<float> weights, ReadOnlySpan<float> outputGradient, Span<float> inputGradient){Constraint}");
            EmitGeometry(w, p, forward: false);
            w.Line("ref float k = ref MemoryMarshal.GetReference(weights);");
            w.Line("ref float g = ref MemoryMarshal.GetReference(outputGradient);");
            w.Line("ref float dx = ref MemoryMarshal.GetReference(inputGradient);");
            if (m.InputChannels < 4)
            {
                EmitSmallChannelInputGradient(w, p);
                w.Close();
                return;
            }
            w.Line("// The input gradient runs along c, so it reads the weights transposed to kt[kh, kw, f, c].");
            w.Line("float[] transposed = KernelScratch.Get(0, KernelHeight * KernelWidth * InputChannels * Filters);");
            w.Line("TransposeWeights(weights, transposed);");
            w.Line("ref float kt = ref MemoryMarshal.GetArrayDataReference(transposed);");
            w.Line("// Tap by tap: dx[tap pixels] += g k[kh, kw]^T over the tap's rectangle of output pixels.");
            EmitTapRectangles(w, p, "InputGradientTap<V>(ref Unsafe.Add(ref dx, xo), ref Unsafe.Add(ref g, go), ref Unsafe.Add(ref kt, ko), ref Unsafe.Add(ref k, ko), rows, cols, StrideHeight * width * InputChannels, outputWidth * Filters);");
            w.Close();
        }

        /// <summary>
        /// The input gradient for fewer channels than a vector. Per output pixel, all its taps at once: h[(kh, kw, c)] = sum over f
        /// of g[pixel, f] * k[kh, kw, c, f], vectorized along (kh, kw, c) with the weights transposed to kt[f, (kh, kw, c)]
        /// (zero-padded to a multiple of 16), in tiles of 4 pixels; then each h is added to its input position, skipping taps in
        /// the padding.
        /// </summary>
        private static void EmitSmallChannelInputGradient(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            int taps = m.KernelHeight * m.KernelWidth * m.InputChannels, padded = (taps + 15) / 16 * 16;
            w.L($"// Fewer channels than a vector: per output pixel, h[(kh, kw, c)] = sum over f of g[pixel, f] * k[kh, kw, c, f] for all {taps} taps at");
            w.L($"// once, vectorized along (kh, kw, c) with kt[f, (kh, kw, c)] (zero-padded to {padded}); then h is added to the input positions.");
            w.L($"const int Taps = {taps}, PaddedTaps = {padded};");
            w.Line("int vc = Count<V>(); // floats per vector");
            w.Line("float[] transposed = KernelScratch.Get(0, Filters * PaddedTaps);");
            w.Line("float[] partial = KernelScratch.Get(1, 4 * PaddedTaps);");
            w.Line("for (int f = 0; f < Filters; f++)");
            w.Line("for (int t = 0; t < PaddedTaps; t++)");
            w.Line("    transposed[f * PaddedTaps + t] = t < Taps ? Unsafe.Add(ref k, t * Filters + f) : 0f;");
            w.Line("ref float kt = ref MemoryMarshal.GetArrayDataReference(transposed);");
            w.Line("ref float h = ref MemoryMarshal.GetArrayDataReference(partial);");
            w.Open("for (int n = 0; n < batch; n++)");
            w.Line("int sample = n * height * width * InputChannels;");
            w.Open("for (int oh = 0; oh < outputHeight; oh++)");
            w.Line(m.Same ? "int ih0 = oh * StrideHeight - padTop;" : "int ih0 = oh * StrideHeight;");
            w.Line("int khLo = ih0 >= 0 ? 0 : (-ih0 + DilationHeight - 1) / DilationHeight;");
            w.Line("int khHi = Math.Min(KernelHeight, (height - ih0 + DilationHeight - 1) / DilationHeight);");
            w.Line("int ow = 0;");
            foreach (int pixels in new[] { TilePixels, 1 })
            {
                w.Open(pixels == 1 ? "for (; ow < outputWidth; ow++)" : $"for (; ow + {pixels} <= outputWidth; ow += {pixels})");
                w.Line("ref float gp = ref Unsafe.Add(ref g, ((n * outputHeight + oh) * outputWidth + ow) * Filters);");
                EmitVectorBlocks(w, padded, "t", "PaddedTaps", u =>
                {
                    var qs = Enumerable.Range(0, u).ToArray();
                    for (int i = 0; i < pixels; i++) w.Line(string.Join(" ", qs.Select(q => $"var a{i}{q} = Zero<V>();")));
                    w.Open("for (int f = 0; f < Filters; f++)");
                    w.Line("ref float kf = ref Unsafe.Add(ref kt, f * PaddedTaps + t);");
                    w.Line(string.Join(" ", qs.Select(q => $"var w{q} = Load<V>(ref kf{VOffArgument(q)});")));
                    for (int i = 0; i < pixels; i++)
                    {
                        w.Line($"var g{i} = Broadcast<V>(Unsafe.Add(ref gp, {Offset.Of("f") + (long)i * m.Filters}));");
                        w.Line(string.Join(" ", qs.Select(q => $"a{i}{q} = Fma(g{i}, w{q}, a{i}{q});")));
                    }
                    w.Close();
                    for (int i = 0; i < pixels; i++)
                        w.Line(string.Join(" ", qs.Select(q => $"Store(a{i}{q}, ref h, {Offset.Of("t") + (long)i * padded + VOff(q)});")));
                }, () => { });
                w.Open($"for (int i = 0; i < {pixels}; i++)");
                w.Line(m.Same ? "int iw0 = (ow + i) * StrideWidth - padLeft;" : "int iw0 = (ow + i) * StrideWidth;");
                w.Line("int kwLo = iw0 >= 0 ? 0 : (-iw0 + DilationWidth - 1) / DilationWidth;");
                w.Line("int kwHi = Math.Min(KernelWidth, (width - iw0 + DilationWidth - 1) / DilationWidth);");
                w.Line("for (int kh = khLo; kh < khHi; kh++)");
                w.Line("for (int kw = kwLo; kw < kwHi; kw++)");
                w.Line("for (int c = 0; c < InputChannels; c++)");
                w.Line("    Unsafe.Add(ref dx, sample + ((ih0 + kh * DilationHeight) * width + iw0 + kw * DilationWidth) * InputChannels + c)");
                w.Line("        += Unsafe.Add(ref h, i * PaddedTaps + (kh * KernelWidth + kw) * InputChannels + c);");
                w.Close();
                w.Close();
            }
            w.Close();
            w.Close();
        }

        private static void EmitInputGradientTap(CodeWriter w, KernelPlan p)
        {
            var m = p.Conv;
            long pixelStep = (long)m.StrideWidth * m.InputChannels;
            w.Line("/// <summary>");
            w.Line("/// dx[pixel's tap, c] += sum over f of g[pixel, f] * k[c, f], for one tap over rows x cols output pixels: dx and g point at the");
            w.L($"/// first pixel, rows are xRow and gRow apart; kt is the tap's weights transposed to [f, c]. Registers hold {InputGradientWidePixels} pixels x up to 2 channel vectors");
            w.L($"/// (with 32 vector registers) and what they leave in tiles of {string.Join(", ", InputGradientRestPixels)}, {NarrowTilePixels} pixels x 4 (4 channel vectors or more, with 16), {TilePixels} pixels x up to 4,");
            w.Line("/// then 2 and 1 pixels for the rest of a row: every element adds the same terms in the same order in any tile.");
            w.Line("/// </summary>");
            w.Line(Optimized);
            w.Open($"private static void InputGradientTap{Generic}(ref float dx, ref float g, ref float kt, ref float k, int rows, int cols, int xRow, int gRow){Constraint}");
            w.Line("int vc = Count<V>(); // floats per vector");
            bool wideTile = m.InputChannels <= 32 && TileFits(m, InputGradientWidePixels);
            if (wideTile)
                w.L($"bool wide = Registers32<V>(); // {InputGradientWidePixels} pixels x 2 channel vectors: 16 accumulators");
            bool narrowTile = NarrowTileFits(m, m.InputChannels);
            if (narrowTile)
                w.L($"bool narrow = InputChannels >= 4 * Count<V>() && !Registers32<V>(); // {NarrowTilePixels} pixels x 4 channel vectors: 12 accumulators in 16 registers");
            w.Open("for (int i = 0; i < rows; i++)");
            w.Line("ref float dxr = ref Unsafe.Add(ref dx, i * xRow);");
            w.Line("ref float gr = ref Unsafe.Add(ref g, i * gRow);");
            w.Line("int j = 0;");
            // The tiles of 3 pixels or more are methods of their own (below): with their loads and FMAs inlined into this method,
            // the JIT ran past its limits (locals, inline budget) and left Load, Broadcast and Fma as calls in the rest of it
            // (MobileNetV2's 1x1 expansions from 24 to 96 channels at every width; the stride-2 layer's at 8 floats, 2x slower).
            var outOfLine = new List<(int Pixels, bool WideWidths, bool FourAtAnyWidth)>();
            string Call(int pixels, bool wideWidths, bool fourAtAnyWidth = false)
            {
                if (!outOfLine.Contains((pixels, wideWidths, fourAtAnyWidth))) outOfLine.Add((pixels, wideWidths, fourAtAnyWidth));
                return $"InputGradientTile{pixels}<V>(ref dxr, ref gr, ref kt, ref k, j);";
            }
            if (wideTile)
            {
                // The wide tiles stop where 9 to 11 pixels are left: those run as two tiles below, not as 8 and then 1 to 3.
                const int wp = InputGradientWidePixels;
                w.OpenF($"for (; wide && (cols - j == {wp} || cols - j >= {wp + TilePixels}); j += {wp})");
                w.Line(Call(wp, wideWidths: true));
                w.Close();
                // The rest of the row after the wide tiles: 5 to 7 pixels as one tile, 9 to 11 as two (5 + 4, 5 + 5, 6 + 5); the
                // 4-pixel loop below takes a last 4.
                w.Open($"while (wide && cols - j > {TilePixels})");
                w.L($"int rest = cols - j, t = rest > {InputGradientRestPixels[InputGradientRestPixels.Length - 1]} ? (rest + 1) / 2 : rest;");
                w.Open("switch (t)");
                foreach (int rest in InputGradientRestPixels)
                    w.Line($"case {rest}: {Call(rest, wideWidths: true)} break;");
                w.Close();
                w.Line("j += t;");
                w.Close();
            }
            if (narrowTile)
            {
                // The narrow tiles, then the 4-pixel tiles take what they leave (1 or 2 pixels) with the row's last 4 or 8, or the 2-pixel tile a last 2 (5 pixels).
                w.Open($"if (narrow && cols - j >= {NarrowTilePixels})");
                w.L($"int left = cols - j, narrowEnd = cols - (left % {NarrowTilePixels} == 1 ? {TilePixels} : left % {NarrowTilePixels} == 2 ? (left >= {2 * TilePixels} ? {2 * TilePixels} : 2) : 0);");
                w.OpenF($"for (; j + {NarrowTilePixels} <= narrowEnd; j += {NarrowTilePixels})");
                w.Line(Call(NarrowTilePixels, wideWidths: false, fourAtAnyWidth: true));
                w.Close();
                w.Close();
            }
            foreach (int pixels in new[] { TilePixels, 2, 1 })
            {
                if (!TileFits(m, pixels)) continue;
                if (pixels == TilePixels)
                {
                    w.OpenF($"for (; j <= cols - {pixels}; j += {pixels})");
                    w.Line(Call(pixels, wideWidths: false));
                    w.Close();
                    continue;
                }
                w.Open(pixels == 1 ? "for (; j < cols; j++)" : $"for (; j <= cols - {pixels}; j += {pixels})");
                Tile(pixels, wideWidths: false);
                w.Close();
            }
            w.Close();
            w.Close();
            foreach (var (pixels, wideWidths, fourAtAnyWidth) in outOfLine)
            {
                w.Line();
                w.L($"/// <summary>A {pixels}-pixel tile of a row of <see cref=\"InputGradientTap{{V}}\"/> at pixel j{(fourAtAnyWidth ? " (with 16 vector registers, 4 channel vectors at a time)" : "")}.</summary>");
                w.Line(Optimized);
                w.Open($"private static void InputGradientTile{pixels}{Generic}(ref float dxr, ref float gr, ref float kt, ref float k, int j){Constraint}");
                w.Line("int vc = Count<V>(); // floats per vector");
                Tile(pixels, wideWidths, fourAtAnyWidth);
                w.Close();
            }

            void Tile(int pixels, bool wideWidths, bool fourAtAnyWidth = false)
            {
                var ps = Enumerable.Range(0, pixels).ToArray();
                w.L($"ref float dxp = ref Unsafe.Add(ref dxr, j * {Step(pixelStep)});");
                w.Line("ref float gp = ref Unsafe.Add(ref gr, j * Filters);");
                EmitVectorBlocks(w, m.InputChannels, "c", "InputChannels", u =>
                {
                    var qs = Enumerable.Range(0, u).ToArray();
                    foreach (int i in ps)
                        w.Line(string.Join(" ", qs.Select(q => $"var a{i}{q} = Load<V>(ref dxp, {Offset.Of("c") + (long)i * pixelStep + VOff(q)});")));
                    // Filter by filter, the weights and the gradients one step on: every load addresses a reference plus a constant.
                    w.Line("ref float kf = ref Unsafe.Add(ref kt, c);");
                    w.Line("ref float gf = ref gp;");
                    w.Open("for (int f = 0; f < Filters; f++, kf = ref Unsafe.Add(ref kf, InputChannels), gf = ref Unsafe.Add(ref gf, 1))");
                    string Broadcast(int i) => $"var g{i} = Broadcast<V>({(i == 0 ? "gf" : $"Unsafe.Add(ref gf, {Str((long)i * m.Filters)})")});";
                    if (BroadcastsFirst(pixels, u))
                    {
                        w.Line(string.Join(" ", ps.Select(Broadcast)));
                        foreach (int q in qs)
                            w.Line($"var w{q} = Load<V>(ref kf{VOffArgument(q)}); " + string.Join(" ", ps.Select(i => $"a{i}{q} = Fma(g{i}, w{q}, a{i}{q});")));
                    }
                    else
                    {
                        w.Line(string.Join(" ", qs.Select(q => $"var w{q} = Load<V>(ref kf{VOffArgument(q)});")));
                        foreach (int i in ps)
                        {
                            w.Line(Broadcast(i));
                            w.Line(string.Join(" ", qs.Select(q => $"a{i}{q} = Fma(g{i}, w{q}, a{i}{q});")));
                        }
                    }
                    w.Close();
                    foreach (int i in ps)
                        w.Line(string.Join(" ", qs.Select(q => $"Store(a{i}{q}, ref dxp, {Offset.Of("c") + (long)i * pixelStep + VOff(q)});")));
                }, () =>
                {
                    w.Line("ref float kc = ref Unsafe.Add(ref k, c * Filters);");
                    foreach (int i in ps)
                        w.Line($"Unsafe.Add(ref dxp, {Offset.Of("c") + (long)i * pixelStep}) += DotFilters<V>(ref {(i == 0 ? "gp" : $"Unsafe.Add(ref gp, {Str((long)i * m.Filters)})")}, ref kc);");
                }, widths: wideWidths ? [2, 1] : null, fourAtAnyWidth: fourAtAnyWidth);
            }
        }

        private static void EmitDotFilters(CodeWriter w, KernelPlan p)
        {
            w.Line("/// <summary>sum over f of a[f] * b[f].</summary>");
            w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
            w.Open($"private static float DotFilters{Generic}(ref float a, ref float b){Constraint}");
            if (p.Conv.Filters >= 4)
            {
                w.Line("int vc = Count<V>(); // floats per vector");
                w.Line("var sum = Zero<V>();");
                w.Line("int f = 0;");
                w.Line("for (; f <= Filters - vc; f += vc)");
                w.Line("    sum = Fma(Load<V>(ref a, f), Load<V>(ref b, f), sum);");
                w.Line("float s = Sum(sum);");
                if (p.Conv.Filters % 16 != 0) w.Line("for (; f < Filters; f++) s += Unsafe.Add(ref a, f) * Unsafe.Add(ref b, f);");
            }
            else
            {
                w.Line("float s = 0f;");
                w.Line("for (int f = 0; f < Filters; f++) s += Unsafe.Add(ref a, f) * Unsafe.Add(ref b, f);");
            }
            w.Line("return s;");
            w.Close();
        }

        private static void EmitTranspose(CodeWriter w)
        {
            w.Line("/// <summary>k[kh, kw, c, f] to kt[kh, kw, f, c], so the input gradient can run along c.</summary>");
            w.Open("private static void TransposeWeights(ReadOnlySpan<float> k, Span<float> kt)");
            w.Line("for (int tap = 0; tap < KernelHeight * KernelWidth; tap++)");
            w.Line("for (int c = 0; c < InputChannels; c++)");
            w.Line("for (int f = 0; f < Filters; f++)");
            w.Line("    kt[(tap * Filters + f) * InputChannels + c] = k[(tap * InputChannels + c) * Filters + f];");
            w.Close();
        }

        /// <summary>
        /// For every sample and tap (kh, kw), the rectangle [ohStart, ohEnd) x [owStart, owEnd) of output pixels whose tap lands
        /// inside the input, with xo (the first pixel's tap in the input), go (the first pixel in g), ko (the tap in the weights,
        /// <paramref name="tapChannels"/> x Filters per tap: InputChannels, or a grouped convolution's GroupChannels).
        /// Samples are outermost, so one sample's data stays in cache while every tap sweeps it. With
        /// <paramref name="rowBlocks"/> (the weight gradients), each kernel row's rectangles are cut into blocks of output rows
        /// whose gradient, about 16 KB, stays in L1 while the row's taps and every block of channels sweep it (without blocks
        /// each sweep read a whole sample's gradient again from L2; the tutorial's 32 -> 64 5x5 layer: +4-11% in a scratch timing
        /// of 4 alternating rounds). The sums keep their order: each dk element still adds its pixels in the order n, oh, ow, its
        /// accumulators stored and reloaded between blocks, except where a tile sums apart and adds to dk at its end: the channels
        /// past the last tile of 4 (the one-channel tile's four interleaved sums) and the filters past the last vector (scalar
        /// sums from zero), now added once per block. The input gradient takes no blocks (measured: no change).
        /// </summary>
        internal static void EmitTapRectangles(CodeWriter w, KernelPlan p, string call, string tapChannels = "InputChannels", bool rowBlocks = false)
        {
            var m = p.Conv;
            if (rowBlocks)
                w.Line("int blockRows = (int)Math.Max(1, 16384 / ((long)outputWidth * Filters * sizeof(float))); // output rows whose gradient (at most 16 KB, or one row) stays in L1");
            w.Open("for (int n = 0; n < batch; n++)");
            w.Line("int sample = n * height * width * InputChannels;");
            w.Line("int outputSample = n * outputHeight * outputWidth * Filters;");
            w.Open("for (int kh = 0; kh < KernelHeight; kh++)");
            if (m.Same)
            {
                w.Line("// Output rows whose tap row kh lands inside the input.");
                w.Line("int top = padTop - kh * DilationHeight, bottom = height + padTop - kh * DilationHeight;");
                w.Line("int ohStart = top <= 0 ? 0 : (top + StrideHeight - 1) / StrideHeight;");
                w.Line("int ohEnd = bottom <= 0 ? 0 : Math.Min(outputHeight, (bottom + StrideHeight - 1) / StrideHeight);");
                w.Line("if (ohStart >= ohEnd) continue;");
            }
            else
                w.Line("int ohStart = 0, ohEnd = outputHeight; // Valid: every tap of every output pixel is inside the input");
            if (rowBlocks) w.Open("for (int block = ohStart; block < ohEnd; block += blockRows)");
            string first = rowBlocks ? "block" : "ohStart";
            string rows = rowBlocks ? "Math.Min(blockRows, ohEnd - block)" : "ohEnd - ohStart";
            w.Open("for (int kw = 0; kw < KernelWidth; kw++)");
            if (m.Same)
            {
                w.Line("int left = padLeft - kw * DilationWidth, right = width + padLeft - kw * DilationWidth;");
                w.Line("int owStart = left <= 0 ? 0 : (left + StrideWidth - 1) / StrideWidth;");
                w.Line("int owEnd = right <= 0 ? 0 : Math.Min(outputWidth, (right + StrideWidth - 1) / StrideWidth);");
                w.Line("if (owStart >= owEnd) continue;");
            }
            else
                w.Line("int owStart = 0, owEnd = outputWidth;");
            string minusPadTop = m.Same ? " - padTop" : "", minusPadLeft = m.Same ? " - padLeft" : ""; // Valid pads nothing
            w.L($"int xo = sample + (({first} * StrideHeight{minusPadTop} + kh * DilationHeight) * width + owStart * StrideWidth{minusPadLeft} + kw * DilationWidth) * InputChannels;");
            w.L($"int go = outputSample + ({first} * outputWidth + owStart) * Filters;");
            w.L($"int rows = {rows}, cols = owEnd - owStart;");
            w.L($"int ko = (kh * KernelWidth + kw) * {tapChannels} * Filters;");
            w.Line(call);
            w.Close();
            if (rowBlocks) w.Close();
            w.Close();
            w.Close();
        }

        // ------------------------------------------------------------------------------------------------
        // Shared loop shapes.
        // ------------------------------------------------------------------------------------------------

        /// <summary>
        /// Visits the taps of one pixel's window and the input channels, giving <paramref name="body"/> the offsets of the tap's
        /// channel in the input (relative to the window's top-left) and in the weights, in one order per convolution: every
        /// forward sum (each tile's, one pixel's, the scalar ones) adds in it, so their results agree. Kernel row, then tap
        /// across, then channel; or, where <see cref="ChannelsBeforeTaps"/>, kernel row, channel, tap across (unrolled), the
        /// order in which <see cref="EmitTileSumsByColumn"/> reuses each input value across a kernel row. In the first order a row
        /// of taps is unrolled with constant offsets when its body is short (up to 4 channels, up to 16 taps x channels in a row);
        /// up to 4 channels are unrolled in both; the rows, and otherwise every tap, are loops: an unrolled window would give the
        /// JIT more calls to inline than its budget allows. With <paramref name="scoped"/>, each unrolled channel or tap gets its
        /// own block so it can declare locals. With <paramref name="rolled"/> (a method that would make more helper calls than the
        /// JIT inlines, <see cref="InlinedCallBudget"/>), rows are never unrolled, nor channels in the channels-first order.
        /// </summary>
        private static void EmitTaps(CodeWriter w, KernelPlan p, string rowStep, bool rows, bool scoped, bool rolled, Action<Offset, Offset> body)
        {
            var m = p.Conv;
            long cf = (long)m.InputChannels * m.Filters, tapStep = (long)m.DilationWidth * m.InputChannels;
            void Channels(Offset xo, Offset ko) => EmitChannels(w, m, scoped, rolled: false, (c, cFilters) => body(xo + c, ko + cFilters));
            if (ChannelsBeforeTaps(m))
            {
                OpenKernelRow(w, m, rowStep, rows);
                EmitChannels(w, m, scoped: false, rolled, (c, cFilters) =>
                {
                    for (int kw = 0; kw < m.KernelWidth; kw++)
                    {
                        if (scoped) w.Open();
                        body(Offset.Of("xr") + c + kw * tapStep, Offset.Of("kr") + cFilters + kw * cf);
                        if (scoped) w.Close();
                    }
                });
                w.Close();
                return;
            }
            if (UnrollRow(m) && !rolled)
            {
                OpenKernelRow(w, m, rowStep, rows);
                for (int kw = 0; kw < m.KernelWidth; kw++)
                {
                    w.L($"// tap (kh, {kw})");
                    Channels(Offset.Of("xr") + kw * tapStep, Offset.Of("kr") + kw * cf);
                }
                w.Close();
                return;
            }
            w.Line(rows ? "for (int kh = kh0; kh < kh1; kh++)" : "for (int kh = 0; kh < KernelHeight; kh++)");
            w.Open("for (int kw = 0; kw < KernelWidth; kw++)");
            w.L($"int xo = kh * {rowStep} + kw * {Str(tapStep)}, ko = (kh * KernelWidth + kw) * {Str(cf)};");
            Channels(Offset.Of("xo"), Offset.Of("ko"));
            w.Close();
        }

        /// <summary>Whether a row of the interior window is unrolled: worth it only while the per-tap body is short (few channels).</summary>
        internal static bool UnrollRow(ConvSpec m) => m.Unrollable && m.InputChannels <= 4 && m.KernelWidth * m.InputChannels <= 16;

        /// <summary>
        /// The loop over input channels for one tap, unrolled for up to 4 channels unless <paramref name="rolled"/>. <paramref name="body"/>
        /// gets the channel's offset in the input (a constant, or <c>c</c>) and in the weights (<c>c * Filters</c>). With
        /// <paramref name="scoped"/>, each unrolled channel gets its own block so it can declare locals.
        /// </summary>
        private static void EmitChannels(CodeWriter w, ConvSpec m, bool scoped, bool rolled, Action<Offset, Offset> body)
        {
            if (m.InputChannels <= 4 && !rolled)
            {
                for (int c = 0; c < m.InputChannels; c++)
                {
                    if (scoped) w.Open();
                    body(c, (long)c * m.Filters);
                    if (scoped) w.Close();
                }
                return;
            }
            w.Open("for (int c = 0; c < InputChannels; c++)");
            body(Offset.Of("c"), Offset.Of("c", m.Filters));
            w.Close();
        }

        /// <summary>
        /// Loops over a vectorized dimension of <paramref name="size"/> in blocks of 4 vectors (for a 4-pixel tile only at 16 floats a
        /// vector: AVX-512 has 32 registers, AVX2 16, too few for 4 x 4 accumulators; at any width with <paramref name="fourAtAnyWidth"/>),
        /// then 2, then 1, then scalars. Blocks that can never run for this size
        /// at 4, 8 or 16 floats are left out, and so are widths not in <paramref name="widths"/> (default 4, 2, 1).
        /// The caller declares <c>vc</c>, the floats per vector. With <paramref name="overlapTail"/> (for bodies that only store, never
        /// add to memory), a remainder of fewer than a vector runs as one more vector ending at the last element, overlapping the block
        /// before: those elements are computed again in the same order, to the same values. Only sizes below one vector reach the
        /// scalar loop then.
        /// </summary>
        private static void EmitVectorBlocks(CodeWriter w, int size, string counter, string count, Action<int> vectorBody, Action scalarBody, int[]? widths = null, bool fourAtAnyWidth = false, bool overlapTail = false)
        {
            widths ??= [4, 2, 1];
            w.L($"int {counter} = 0;");
            if (size >= (fourAtAnyWidth ? 16 : 64) && widths.Contains(4))
            {
                w.Open(fourAtAnyWidth
                    ? $"for (; {counter} <= {count} - 4 * vc; {counter} += 4 * vc)"
                    : $"for (; vc >= 16 && {counter} <= {count} - 4 * vc; {counter} += 4 * vc)");
                vectorBody(4);
                w.Close();
            }
            if (size >= 16 && widths.Contains(2))
            {
                w.Open($"for (; {counter} <= {count} - 2 * vc; {counter} += 2 * vc)");
                vectorBody(2);
                w.Close();
            }
            // After the 2-vector blocks, one vector is left over only when the size is no multiple of 32 (2 x 16 floats).
            if (size >= 4 && !(size >= 16 && widths.Contains(2) && size % 32 == 0))
            {
                w.Open($"for (; {counter} <= {count} - vc; {counter} += vc)");
                vectorBody(1);
                w.Close();
            }
            if (overlapTail && size >= 4 && size % 16 != 0)
            {
                w.Open($"if ({counter} < {count} && {count} >= vc)");
                w.L($"{counter} = {count} - vc; // the last vector overlaps the one before");
                vectorBody(1);
                w.L($"{counter} = {count};");
                w.Close();
            }
            if (size % 16 != 0)
            {
                w.Open($"for (; {counter} < {count}; {counter}++)");
                scalarBody();
                w.Close();
            }
        }

        /// <summary>The offset of vector <paramref name="j"/> of a block.</summary>
        private static Offset VOff(int j) => Offset.Of("vc", j);

        /// <summary>Vector <paramref name="j"/>'s offset as an extra argument of Load/Store (nothing for the first).</summary>
        private static string VOffArgument(int j) => j == 0 ? "" : $", {VOff(j)}";
    }
}
