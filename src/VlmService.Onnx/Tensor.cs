namespace VlmService.Onnx;

/// <summary>A dense tensor in managed memory, shared with ONNX Runtime by pinning during a run.</summary>
public interface ITensor
{
    TensorElementType ElementType { get; }

    long[] Shape { get; }

    Array Buffer { get; }
}

public sealed class Tensor<T> : ITensor where T : unmanaged
{
    public Tensor(T[] data, params long[] shape)
    {
        long count = Shapes.ElementCount(shape);
        if (count != data.LongLength)
        {
            throw new ArgumentException($"Shape [{string.Join(',', shape)}] needs {count} elements, got {data.Length}.", nameof(data));
        }
        Data = data;
        Shape = shape;
    }

    public T[] Data { get; }

    public long[] Shape { get; }

    public TensorElementType ElementType => TensorElementTypes.Of<T>();

    public Array Buffer => Data;

    /// <summary>Row <paramref name="index"/> along the first axis, copied.</summary>
    public T[] Row(int index)
    {
        int rowLength = (int)(Data.LongLength / Shape[0]);
        return Data.AsSpan(index * rowLength, rowLength).ToArray();
    }
}

public static class Shapes
{
    public static long ElementCount(IReadOnlyList<long> shape)
    {
        long count = 1;
        foreach (long dim in shape)
        {
            count *= dim;
        }
        return count;
    }
}
