namespace VlmService.Onnx;

internal static unsafe class OrtValues
{
    public static ITensor CopyToManaged(nint value)
    {
        nint shapeInfo;
        OrtApi.Check(OrtApi.GetTensorTypeAndShape(value, &shapeInfo));
        TensorInfo info;
        try
        {
            info = InferenceSession.ReadShape(string.Empty, shapeInfo);
        }
        finally
        {
            OrtApi.ReleaseTensorTypeAndShapeInfo(shapeInfo);
        }
        void* data;
        OrtApi.Check(OrtApi.GetTensorMutableData(value, &data));
        long count = Shapes.ElementCount(info.Dimensions);
        return info.ElementType switch
        {
            TensorElementType.Float => new Tensor<float>(Copy<float>(data, count), info.Dimensions),
            TensorElementType.Int64 => new Tensor<long>(Copy<long>(data, count), info.Dimensions),
            TensorElementType.Int32 => new Tensor<int>(Copy<int>(data, count), info.Dimensions),
            TensorElementType.Float16 => new Tensor<Half>(Copy<Half>(data, count), info.Dimensions),
            TensorElementType.Bool => new Tensor<bool>(Copy<bool>(data, count), info.Dimensions),
            TensorElementType.UInt8 => new Tensor<byte>(Copy<byte>(data, count), info.Dimensions),
            _ => throw new NotSupportedException($"Output element type {info.ElementType} is not supported."),
        };
    }

    private static T[] Copy<T>(void* source, long count) where T : unmanaged
    {
        var result = new T[count];
        new ReadOnlySpan<T>(source, checked((int)count)).CopyTo(result);
        return result;
    }
}
