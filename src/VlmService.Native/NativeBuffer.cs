using System.Runtime.InteropServices;

namespace VlmService.Native;

/// <summary>
/// An array of <typeparamref name="T"/> on the C heap, freed on dispose: for large buffers that live for one step of
/// one request. glibc serves blocks this size with mappings of their own (<see cref="NativeHeap.ReturnLargeBlocksPromptly"/>)
/// and unmaps them when freed, whereas a dead managed array of the same size stays in the process until the next full
/// collection; under load those pile up by the hundred megabytes.
/// </summary>
public sealed unsafe class NativeBuffer<T> : IDisposable where T : unmanaged
{
    private T* _data;

    public NativeBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        _data = (T*)NativeMemory.Alloc((nuint)Math.Max(length, 1), (nuint)sizeof(T));
    }

    public int Length { get; }

    public Span<T> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(_data == null, this);
            return new Span<T>(_data, Length);
        }
    }

    public void Dispose()
    {
        T* data = _data;
        _data = null;
        if (data != null)
        {
            NativeMemory.Free(data);
        }
    }
}
