namespace VlmService.Onnx;

/// <summary>The subset of <c>ONNXTensorElementDataType</c> that the model families use.</summary>
public enum TensorElementType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
    Float16 = 10,
    Double = 11,
}

public static class TensorElementTypes
{
    public static TensorElementType Of<T>() where T : unmanaged => default(T) switch
    {
        float => TensorElementType.Float,
        long => TensorElementType.Int64,
        int => TensorElementType.Int32,
        bool => TensorElementType.Bool,
        Half => TensorElementType.Float16,
        byte => TensorElementType.UInt8,
        sbyte => TensorElementType.Int8,
        double => TensorElementType.Double,
        _ => throw new NotSupportedException($"No ONNX element type for {typeof(T).Name}."),
    };
}
