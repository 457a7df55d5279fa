// This file is compiled into both the runtime (ConvGen), where it is public, and the generator (ConvGen.Generator, netstandard2.0),
// where it is internal (a test project references both).
namespace ConvGen;

/// <summary>An activation fused into a layer object's forward and backward pass.</summary>
#if CONVGEN_GENERATOR
internal
#else
public
#endif
enum Activation
{
    /// <summary>The identity.</summary>
    None = 0,

    /// <summary><c>max(x, 0)</c> (Keras' <c>"relu"</c>); its gradient passes where the output is positive.</summary>
    ReLU = 1,

    /// <summary><c>min(max(x, 0), 6)</c> (Keras' <c>"relu6"</c>); its gradient passes where <c>0 &lt; y &lt; 6</c>.</summary>
    ReLU6 = 2,

    /// <summary><c>x</c> where <c>x &gt; 0</c>, else <c>0.2 · x</c> (Keras 3's <c>"leaky_relu"</c>, whose default <c>negative_slope</c> is 0.2).</summary>
    LeakyReLU = 3,

    /// <summary><c>x</c> where <c>x &gt; 0</c>, else <c>exp(x) − 1</c> (Keras' <c>"elu"</c>, alpha 1).</summary>
    ELU = 4,

    /// <summary>The logistic sigmoid <c>1 / (1 + exp(−x))</c> (Keras' <c>"sigmoid"</c>).</summary>
    Sigmoid = 5,

    /// <summary>The hyperbolic tangent (Keras' <c>"tanh"</c>).</summary>
    Tanh = 6,

    /// <summary>The softmax over the last axis (Keras' <c>"softmax"</c>): <c>exp(x − max x) / Σ exp(x − max x)</c>.</summary>
    Softmax = 7,

    /// <summary>
    /// <c>x · sigmoid(x)</c> (Keras' <c>"silu"</c>, alias <c>"swish"</c>); its gradient needs <c>x</c>, which the layer keeps
    /// while training.
    /// </summary>
    SiLU = 8,

    /// <summary>
    /// The exact GELU <c>0.5 · x · (1 + erf(x / √2))</c> (Keras' <c>"gelu"</c>, <c>approximate=False</c>); its gradient needs
    /// <c>x</c>, which the layer keeps while training.
    /// </summary>
    GELU = 9,
}
