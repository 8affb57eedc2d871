using System.Buffers;
using VlmService.Native;

namespace VlmService.Onnx;

/// <summary>A dense tensor that ONNX Runtime reads or writes in place during a run.</summary>
public interface ITensor
{
    TensorElementType ElementType { get; }

    long[] Shape { get; }

    /// <summary>Fixes the elements in memory for the run and gives their address.</summary>
    MemoryHandle Pin();
}

public sealed class Tensor<T> : ITensor where T : unmanaged
{
    public Tensor(T[] data, params long[] shape)
        : this(data, shape, exact: true)
    {
    }

    internal Tensor(T[] data, long[] shape, bool exact)
    {
        long count = Shapes.ElementCount(shape);
        if (exact ? count != data.LongLength : count > data.LongLength)
        {
            throw new ArgumentException($"Shape [{string.Join(',', shape)}] needs {count} elements, got {data.Length}.", nameof(data));
        }
        Data = data;
        Shape = shape;
    }

    /// <summary>The elements, row-major; longer than the shape needs only for <see cref="Tensor.OverPrefix"/> tensors.</summary>
    public T[] Data { get; }

    public long[] Shape { get; }

    public TensorElementType ElementType => TensorElementTypes.Of<T>();

    public MemoryHandle Pin() => Data.AsMemory().Pin();

    /// <summary>Row <paramref name="index"/> along the first axis, copied.</summary>
    public T[] Row(int index)
    {
        int rowLength = (int)(Shapes.ElementCount(Shape) / Shape[0]);
        return Data.AsSpan(index * rowLength, rowLength).ToArray();
    }
}

/// <summary>
/// A tensor over memory that does not move: native memory, or a span its caller holds under <c>fixed</c> for as long as
/// the tensor is in use. Lets large, short-lived buffers live outside the GC heap, where freeing them returns them to
/// the OS at once instead of leaving them to the next full collection.
/// </summary>
public sealed unsafe class UnmanagedTensor<T> : ITensor where T : unmanaged
{
    private readonly T* _data;

    public UnmanagedTensor(T* data, long length, params long[] shape)
    {
        if (Shapes.ElementCount(shape) != length)
        {
            throw new ArgumentException($"Shape [{string.Join(',', shape)}] needs {Shapes.ElementCount(shape)} elements, got {length}.", nameof(shape));
        }
        _data = data;
        Shape = shape;
    }

    public long[] Shape { get; }

    public TensorElementType ElementType => TensorElementTypes.Of<T>();

    public MemoryHandle Pin() => new(_data);
}

/// <summary>
/// A tensor over elements of a <see cref="NativeBuffer{T}"/> from <c>offset</c> on: a KV cache that lives outside the GC
/// heap, or part of one. The buffer stays referenced while a run holds the tensor pinned.
/// </summary>
public sealed class NativeTensor<T> : ITensor, IDeviceTensor where T : unmanaged
{
    private readonly NativeBuffer<T> _buffer;
    private readonly int _offset;

    public NativeTensor(NativeBuffer<T> buffer, params long[] shape)
        : this(buffer, 0, shape)
    {
    }

    public NativeTensor(NativeBuffer<T> buffer, int offset, params long[] shape)
    {
        long count = Shapes.ElementCount(shape);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset + count > buffer.Length)
        {
            throw new ArgumentException($"Shape [{string.Join(',', shape)}] at element {offset} needs {offset + count} elements, the buffer holds {buffer.Length}.", nameof(shape));
        }
        _buffer = buffer;
        _offset = offset;
        Shape = shape;
    }

    public long[] Shape { get; }

    public TensorElementType ElementType => TensorElementTypes.Of<T>();

    public MemoryHandle Pin() => _buffer.Pin(_offset);

    public INativeAllocator? Allocator => _buffer.Allocator;
}

/// <summary>A tensor whose memory may belong to a device allocator (null: the host's).</summary>
internal interface IDeviceTensor
{
    INativeAllocator? Allocator { get; }
}

public static class Tensor
{
    /// <summary>
    /// A tensor over the first elements of a larger array, so that a reused buffer can hold tensors of changing
    /// shapes (a KV cache that grows by one position per step). Its <see cref="Tensor{T}.Data"/> is the whole array.
    /// </summary>
    public static Tensor<T> OverPrefix<T>(T[] buffer, params long[] shape) where T : unmanaged => new(buffer, shape, exact: false);

    /// <summary>The same over native memory.</summary>
    public static NativeTensor<T> OverPrefix<T>(NativeBuffer<T> buffer, params long[] shape) where T : unmanaged => new(buffer, shape);

    /// <summary>A tensor over the elements of <paramref name="buffer"/> from <paramref name="offset"/> on.</summary>
    public static NativeTensor<T> At<T>(NativeBuffer<T> buffer, int offset, params long[] shape) where T : unmanaged => new(buffer, offset, shape);
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
