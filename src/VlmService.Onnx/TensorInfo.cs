namespace VlmService.Onnx;

/// <summary>A graph input or output as the session declares it: element type and (possibly symbolic) shape.</summary>
/// <param name="Dimensions">Fixed sizes; -1 where the dimension is symbolic or unknown.</param>
/// <param name="SymbolicDimensions">The symbolic name of each dimension, empty where it is fixed.</param>
public sealed record TensorInfo(string Name, TensorElementType ElementType, long[] Dimensions, string[] SymbolicDimensions)
{
    public override string ToString() =>
        $"{Name}: {ElementType}[{string.Join(", ", Dimensions.Select((d, i) => d >= 0 ? d.ToString() : SymbolicDimensions[i]))}]";
}
