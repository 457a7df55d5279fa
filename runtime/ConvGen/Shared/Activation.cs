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

    /// <summary><c>max(x, 0)</c>; its gradient passes where the output is positive.</summary>
    ReLU = 1,
}
