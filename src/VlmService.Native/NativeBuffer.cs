using System.Buffers;
using System.Runtime.InteropServices;

namespace VlmService.Native;

/// <summary>
/// An array of <typeparamref name="T"/> on the C heap, freed on dispose: for large buffers whose owner knows when they
/// are done with (a step of one request, a KV cache the decoding loop hands back). glibc serves blocks this size with
/// mappings of their own (<see cref="NativeHeap.ReturnLargeBlocksPromptly"/>) and unmaps them when freed, whereas a
/// dead managed array of the same size stays in the process until the next full collection; under load those pile up
/// by the hundred megabytes. A buffer filled once and freed soon may ask for transparent huge pages (see the constructor).
/// A buffer its owner forgot is freed by the finalizer, late but not never.
/// A buffer may also hold memory another allocator lent (<see cref="INativeAllocator"/>: a GPU's, through ONNX Runtime),
/// which only native code that knows its <see cref="Allocator"/> may touch.
/// </summary>
public sealed unsafe class NativeBuffer<T> : IDisposable, IPinnable where T : unmanaged
{
    /// <summary>Null once freed, and always for a zero-length buffer (which is never "disposed" for its readers).</summary>
    private T* _data;

    /// <summary>Whether the buffer asked for huge pages; a resized one asks again for its new block.</summary>
    private readonly bool _hugePages;

    /// <summary>A buffer of <paramref name="length"/> elements, their values undefined.</summary>
    /// <param name="hugePages">
    /// Asks for transparent huge pages when the buffer is 4 MB or more (<see cref="NativeHeap.AdvisesHugePages"/>): for
    /// a buffer that is written once and freed (a preprocessing intermediate), whose 4 KB page faults would cost more
    /// than its work. Not for one kept and read again and again: there it saves no faults, and on a virtual machine
    /// here a CLIP batch tensor in huge pages made the model's runs slower (bench/README.md, twenty-third round).
    /// </param>
    public NativeBuffer(int length, bool hugePages = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        if (length == 0)
        {
            // Nothing to free: empty buffers stand in for "no entries yet" and are never worth a finalizer.
            GC.SuppressFinalize(this);
            return;
        }
        _hugePages = hugePages;
        _data = (T*)NativeMemory.Alloc((nuint)length, (nuint)sizeof(T));
        if (hugePages)
        {
            NativeHeap.AdviseHugePages(_data, (nuint)length * (nuint)sizeof(T));
        }
    }

    /// <summary>Takes <paramref name="length"/> elements at <paramref name="data"/> that <paramref name="allocator"/> lent; it frees them.</summary>
    public NativeBuffer(nint data, int length, INativeAllocator allocator)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentNullException.ThrowIfNull(allocator);
        _data = (T*)data;
        Length = length;
        Allocator = allocator;
    }

    ~NativeBuffer() => Free();

    public int Length { get; }

    /// <summary>The allocator that lent the memory; null for the C heap's.</summary>
    public INativeAllocator? Allocator { get; }

    /// <summary>The elements, for host code; throws for memory another allocator lent, which may not be the host's.</summary>
    public Span<T> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(_data == null && Length > 0, this);
            if (Allocator is not null)
            {
                throw new InvalidOperationException($"This buffer is {Allocator.Name} memory, which host code does not read or write.");
            }
            return new Span<T>(_data, Length);
        }
    }

    /// <summary>
    /// This buffer's elements in a buffer of <paramref name="length"/>, which takes over the memory: this one is empty
    /// afterwards, as if disposed. The first min(old, new) elements keep their values. glibc resizes a block mapped on
    /// its own by remapping its pages, so the pages already touched move without a copy or a fault and only those
    /// added are new; a fresh buffer would fault in every page again (on a virtual machine that costs more than
    /// writing the page). Only for C-heap memory: another allocator's memory cannot be resized here.
    /// </summary>
    public NativeBuffer<T> Resize(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ObjectDisposedException.ThrowIf(_data == null && Length > 0, this);
        if (Allocator is not null)
        {
            throw new InvalidOperationException($"This buffer is {Allocator.Name} memory, which only its allocator resizes.");
        }
        // On failure Realloc throws and the old block stays this buffer's.
        var data = (T*)NativeMemory.Realloc(_data, (nuint)length * (nuint)sizeof(T));
        // Its finalizer finds nothing to free.
        _data = null;
        if (_hugePages)
        {
            // A block that has just grown past the threshold has not been advised yet; advising again changes nothing.
            NativeHeap.AdviseHugePages(data, (nuint)length * (nuint)sizeof(T));
        }
        return new NativeBuffer<T>(data, length, _hugePages);
    }

    /// <summary>Takes <paramref name="length"/> elements at <paramref name="data"/> on the C heap; frees them.</summary>
    private NativeBuffer(T* data, int length, bool hugePages)
    {
        _data = data;
        Length = length;
        _hugePages = hugePages;
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
        if (data == null)
        {
            return;
        }
        if (Allocator is null)
        {
            NativeMemory.Free(data);
        }
        else
        {
            Allocator.Free((nint)data);
        }
    }
}
