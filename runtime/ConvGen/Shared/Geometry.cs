// This file is compiled into both the runtime (ConvGen), where it is public, and the generator (ConvGen.Generator,
// netstandard2.0), where it is internal: every output size and every TF 'same' padding in ConvGen, at build time and at run
// time, comes from here.
using System.ComponentModel;

namespace ConvGen.Internal;

/// <summary>
/// The sizes of a sliding window (a convolution's kernel or a pooling window) along one axis, as Keras/TensorFlow define them.
/// The window spans <c>(kernel - 1) * dilation + 1</c> input positions and moves by <c>stride</c>.
/// Generated kernels call it for sizes known only at run time.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
#if CONVGEN_GENERATOR
internal
#else
public
#endif
static class Geometry
{
    /// <summary>Input positions one window covers: <c>(kernel - 1) * dilation + 1</c>.</summary>
    public static long Extent(int kernel, int dilation) => (long)(kernel - 1) * dilation + 1;

    /// <summary>
    /// Output positions along an axis of <paramref name="input"/> positions: <c>ceil(input / stride)</c> for Same,
    /// <c>(input - extent) / stride + 1</c> for Valid, or 0 when a Valid window does not fit (or <paramref name="input"/> is not positive).
    /// </summary>
    public static int OutputSize(int input, int kernel, int stride, int dilation, bool same)
    {
        if (input < 1) return 0;
        if (same) return (input - 1) / stride + 1;
        long extent = Extent(kernel, dilation);
        return input < extent ? 0 : (int)((input - extent) / stride + 1);
    }

    /// <summary>
    /// TF 'same' padding along an axis: the total <c>max((output - 1) * stride + extent - input, 0)</c>, with the smaller half
    /// before (top/left) and the extra position, when the total is odd, after (bottom/right). Valid pads nothing.
    /// </summary>
    public static (int Before, int After) Padding(int input, int kernel, int stride, int dilation, bool same)
    {
        if (!same) return (0, 0);
        int output = OutputSize(input, kernel, stride, dilation, same: true);
        long total = (long)(output - 1) * stride + Extent(kernel, dilation) - input;
        if (total <= 0) return (0, 0);
        return ((int)(total / 2), (int)(total - total / 2));
    }
    /// <summary>
    /// The kernel taps <c>k</c> in <c>[0, kernel)</c> whose input position <c>start + k * dilation</c> lies in <c>[0, size)</c>, as
    /// <c>[First, End)</c> (empty when none does): the taps a window starting at <paramref name="start"/> (negative inside padding) reads.
    /// </summary>
    public static (int First, int End) Taps(int start, int kernel, int dilation, int size)
    {
        long first = start >= 0 ? 0 : (-(long)start + dilation - 1) / dilation;
        long end = start >= size ? 0 : ((long)size - start + dilation - 1) / dilation;
        if (end > kernel) end = kernel;
        if (first > end) first = end;
        return ((int)first, (int)end);
    }

    /// <summary>
    /// The output positions <c>o</c> in <c>[0, output)</c> whose input position <c>o * stride + offset</c> lies in <c>[0, size)</c>,
    /// as <c>[First, End)</c> (empty when none does): where one tap (<paramref name="offset"/> = its offset minus the leading padding) reads.
    /// </summary>
    public static (int First, int End) Outputs(int offset, int stride, int size, int output)
    {
        long first = offset >= 0 ? 0 : (-(long)offset + stride - 1) / stride;
        long end = offset >= size ? 0 : ((long)size - offset + stride - 1) / stride;
        if (end > output) end = output;
        if (first > end) first = end;
        return ((int)first, (int)end);
    }

    /// <summary>
    /// Output positions of a transposed convolution (Keras' <c>Conv2DTranspose</c>, no <c>output_padding</c>) along an axis of
    /// <paramref name="input"/> positions: <c>input * stride</c> for Same, <c>(input - 1) * stride + max(extent, stride)</c> for Valid
    /// (Keras' <c>compute_conv_transpose_output_shape</c>), or 0 when <paramref name="input"/> is not positive. A long: it may exceed int.
    /// </summary>
    public static long TransposedOutputSize(int input, int kernel, int stride, int dilation, bool same)
    {
        if (input < 1) return 0;
        if (same) return (long)input * stride;
        return (long)(input - 1) * stride + System.Math.Max(Extent(kernel, dilation), stride);
    }

    /// <summary>
    /// The positions a transposed convolution crops before its output (top/left): TF's 'same' padding of the convolution whose input
    /// gradient it is, taken on the output size, <c>max(extent - stride, 0) / 2</c> for Same; 0 for Valid. Input position <c>i</c> and
    /// tap <c>k</c> reach output position <c>i * stride - before + k * dilation</c>.
    /// </summary>
    public static int TransposedPaddingBefore(int kernel, int stride, int dilation, bool same)
        => same ? (int)(System.Math.Max(Extent(kernel, dilation) - stride, 0) / 2) : 0;

    /// <summary>
    /// The taps of a transposed convolution that reach one output position: the <c>k</c> in <c>[0, kernel)</c> and <c>i</c> in
    /// <c>[0, size)</c> with <c>i * stride + k * dilation = position</c> (the output position plus <see cref="TransposedPaddingBefore"/>).
    /// They are <c>k = First + j * (stride / g)</c> and <c>i = Input - j * (dilation / g)</c> for <c>j</c> in <c>[0, Count)</c>, with
    /// <c>g</c> the greatest common divisor of the stride and the dilation; <c>Count</c> is 0 when none does.
    /// </summary>
    public static (int First, int Count, int Input) TransposedTaps(int position, int kernel, int stride, int dilation, int size)
    {
        int g = stride, b = dilation;
        while (b != 0) (g, b) = (b, g % b);
        int tapStep = stride / g, inputStep = dilation / g;
        // The first tap whose offset leaves a multiple of the stride (the taps repeat with period stride / g).
        int first = 0;
        while (first < tapStep && first < kernel && ((long)position - (long)first * dilation) % stride != 0) first++;
        long rest = (long)position - (long)first * dilation;
        if (first >= tapStep || first >= kernel || rest < 0) return (0, 0, 0);
        long input = rest / stride;
        long skip = input >= size ? (input - size + inputStep) / inputStep : 0; // taps whose input lies past the end
        long end = System.Math.Min((kernel - first + (long)tapStep - 1) / tapStep, input / inputStep + 1);
        if (end <= skip) return (0, 0, 0);
        return ((int)(first + skip * tapStep), (int)(end - skip), (int)(input - skip * inputStep));
    }
}
