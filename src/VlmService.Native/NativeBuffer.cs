using System.Buffers;
using System.Runtime.InteropServices;

namespace VlmService.Native;

/// <summary>
/// An array of <typeparamref name="T"/> on the C heap, freed on dispose: for large buffers whose owner knows when they
/// are done with (a step of one request, a KV cache the decoding loop hands back). glibc serves blocks this size with
/// mappings of their own (<see cref="NativeHeap.ReturnLargeBlocksPromptly"/>) and unmaps them when freed, whereas a
/// dead managed array of the same size stays in the process until the next full collection; under load those pile up
/// by the hundred megabytes. A buffer its owner forgot is freed by the finalizer, late but not never.
/// </summary>
public sealed unsafe class NativeBuffer<T> : IDisposable, IPinnable where T : unmanaged
{
    /// <summary>Null once freed, and always for a zero-length buffer (which is never "disposed" for its readers).</summary>
    private T* _data;

    public NativeBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        if (length == 0)
        {
            // Nothing to free: empty buffers stand in for "no entries yet" and are never worth a finalizer.
            GC.SuppressFinalize(this);
            return;
        }
        _data = (T*)NativeMemory.Alloc((nuint)length, (nuint)sizeof(T));
    }

    ~NativeBuffer() => Free();

    public int Length { get; }

    public Span<T> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(_data == null && Length > 0, this);
            return new Span<T>(_data, Length);
        }
    }

    /// <summary>
    /// The address of element <paramref name="elementIndex"/> for native code. The handle refers to this buffer, so a
    /// buffer that is pinned stays reachable (and its finalizer cannot free it) until the handle is disposed.
    /// </summary>
    public MemoryHandle Pin(int elementIndex)
    {
        ObjectDisposedException.ThrowIf(_data == null && Length > 0, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)Length, nameof(elementIndex));
        return new MemoryHandle(_data + elementIndex, default, this);
    }

    /// <summary>Native memory does not move: nothing to release.</summary>
    public void Unpin()
    {
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        T* data = _data;
        _data = null;
        if (data != null)
        {
            NativeMemory.Free(data);
        }
    }
}
