namespace ConvGen;

/// <summary>An activation fused into a layer object's forward and backward pass.</summary>
public enum Activation
{
    /// <summary>The identity.</summary>
    None = 0,

    /// <summary><c>max(x, 0)</c>; its gradient passes where the output is positive.</summary>
    ReLU = 1,
}
