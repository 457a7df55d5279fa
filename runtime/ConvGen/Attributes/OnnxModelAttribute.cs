using System;

namespace ConvGen;

/// <summary>
/// Compiles an ONNX model into this <c>partial class</c> at build time: the generator reads the file (listed as an
/// <c>AdditionalFiles</c> item), turns its graph into ConvGen's layers (channels last: kernels permuted, the Dense after a
/// Flatten row-permuted), checks every shape, and emits a compiled network whose initial weights are the file's
/// initializers. It predicts, trains, saves and exports like any compiled network, and takes NHWC input (docs/onnx.md).
/// </summary>
/// <example>
/// <code>
/// // In the .csproj: &lt;AdditionalFiles Include="models/net.onnx" /&gt;
/// [OnnxModel("models/net.onnx")]
/// public partial class Net;
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class OnnxModelAttribute : Attribute
{
    /// <summary>Names the model file: its path as listed in <c>AdditionalFiles</c>, or its end (<c>net.onnx</c>).</summary>
    public OnnxModelAttribute(string path) => Path = path;

    /// <summary>The model file's path, or its end.</summary>
    public string Path { get; }
}
