using System.Runtime.InteropServices;
using System.Text;
using VlmService.Native;

namespace VlmService.Onnx;

/// <summary>
/// Memory of the device a session computes on, lent by the session's own ONNX Runtime allocator: the GPU's for CUDA
/// (its arena), the host's for CPU. Tensors over it (<see cref="Tensor.OverPrefix{T}(NativeBuffer{T}, long[])"/>) go
/// into runs as device tensors, so a CUDA session reads and writes them where they are, with no copy to or from the
/// host. Host code never touches the memory (<see cref="NativeBuffer{T}.Span"/> refuses), so a path that works over a
/// CPU session's allocator works unchanged over a GPU's.
/// </summary>
public sealed unsafe class SessionAllocator : INativeAllocator, IDisposable
{
    /// <summary>OrtArenaAllocator and OrtMemTypeDefault: the session's allocator for its device finds it by the device alone.</summary>
    private const int ArenaAllocator = 1;
    private const int MemTypeDefault = 0;

    private readonly Lock _gate = new();
    private nint _allocator;

    internal SessionAllocator(nint session, string deviceName, int deviceId)
    {
        nint wanted;
        byte[] name = Encoding.UTF8.GetBytes(deviceName + "\0");
        fixed (byte* n = name)
        {
            OrtApi.Check(OrtApi.CreateMemoryInfo(n, ArenaAllocator, deviceId, MemTypeDefault, &wanted));
        }
        try
        {
            nint allocator;
            OrtApi.Check(OrtApi.CreateAllocator(session, wanted, &allocator));
            _allocator = allocator;
        }
        finally
        {
            OrtApi.ReleaseMemoryInfo(wanted);
        }
        nint info;
        OrtApi.Check(OrtApi.AllocatorGetInfo(_allocator, &info));
        MemoryInfo = info;
        byte* actual;
        OrtApi.Check(OrtApi.MemoryInfoGetName(info, &actual));
        Name = $"{Marshal.PtrToStringUTF8((nint)actual)}:{deviceId}";
    }

    /// <summary>The allocator's own OrtMemoryInfo (it owns it), for tensors over its memory.</summary>
    internal nint MemoryInfo { get; }

    /// <summary>ONNX Runtime's name of the memory and the device id: "Cuda:0", "Cpu:0".</summary>
    public string Name { get; }

    /// <summary><paramref name="length"/> elements of the device's memory, uninitialised; the buffer gives them back when disposed.</summary>
    public NativeBuffer<T> Allocate<T>(int length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_allocator == 0, this);
            void* data;
            OrtApi.Check(OrtApi.AllocatorAlloc(_allocator, checked((nuint)length * (nuint)sizeof(T)), &data));
            return new NativeBuffer<T>((nint)data, length, this);
        }
    }

    /// <summary>
    /// The allocator's counters as ONNX Runtime keeps them for an arena; all zero for an allocator that keeps none
    /// (no arena, or one that has not allocated yet).
    /// </summary>
    public ArenaStats Stats()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_allocator == 0, this);
            nint pairs;
            OrtApi.Check(OrtApi.AllocatorGetStats(_allocator, &pairs));
            try
            {
                return new ArenaStats(Read(pairs, "TotalAllocated\0"u8), Read(pairs, "InUse\0"u8), Read(pairs, "NumArenaShrinkages\0"u8));
            }
            finally
            {
                OrtApi.ReleaseKeyValuePairs(pairs);
            }
        }
    }

    /// <summary>
    /// One counter by its NUL-terminated key; ONNX Runtime writes them as decimal strings, and leaves them all out until
    /// the arena has allocated.
    /// </summary>
    private static long Read(nint pairs, ReadOnlySpan<byte> terminatedKey)
    {
        fixed (byte* k = terminatedKey)
        {
            byte* value = OrtApi.GetKeyValue(pairs, k);
            return value == null ? 0 : long.Parse(Marshal.PtrToStringUTF8((nint)value)!, System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public void Free(nint data)
    {
        lock (_gate)
        {
            // Once the allocator is released the session's memory went with it: nothing is left to give back.
            if (_allocator != 0)
            {
                // Never throws: this runs on the finalizer thread for a forgotten buffer, where an exception ends the process.
                nint status = OrtApi.AllocatorFree(_allocator, (void*)data);
                if (status != 0)
                {
                    OrtApi.ReleaseStatus(status);
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_allocator != 0)
            {
                OrtApi.ReleaseAllocator(_allocator);
                _allocator = 0;
            }
        }
    }
}

/// <summary>An ONNX Runtime arena's counters: bytes it holds from the system, bytes it has handed out, and how often it shrank.</summary>
public readonly record struct ArenaStats(long HeldBytes, long InUseBytes, long Shrinkages);
