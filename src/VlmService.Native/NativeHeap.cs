using System.Runtime.InteropServices;

namespace VlmService.Native;

/// <summary>The C heap the native libraries allocate from.</summary>
public static partial class NativeHeap
{
    /// <summary>
    /// Hands free C-heap memory back to the operating system. glibc keeps freed memory for reuse, so after a large
    /// one-off native job (a session opened, run once and released) the process would otherwise keep its peak size.
    /// Returns false where the C library has no such call.
    /// </summary>
    public static bool Trim() => CallGlibc(() => MallocTrim(0) == 1, unavailable: false);

    /// <summary>
    /// Bytes glibc holds free inside its heaps (freed blocks kept for reuse, resident or already handed back by
    /// <see cref="Trim"/>); -1 where the C library cannot say. Blocks mapped on their own are not counted: they are
    /// unmapped when freed.
    /// </summary>
    public static long FreeBytes() => CallGlibc(() => (long)MallInfo2().FreeInHeaps, unavailable: -1);

    /// <summary>
    /// Makes glibc give large blocks back to the OS as soon as they are freed, and keeps its heaps few. By default
    /// glibc raises its mmap threshold after each large free (up to 32 MB) and opens a heap per thread that
    /// allocates (up to 8 per core): the large, short-lived buffers of inference (activations an ORT arena hands
    /// back after a run, decoded images) then pile up in heaps that only grow. Blocks of 1 MB and more are mapped
    /// and unmapped on their own; smaller ones stay in the heap for reuse, and a heap keeps up to 8 MB free at its
    /// top. A lower threshold (128 KB was tried) maps every libvips strip buffer afresh, zeroed and faulted in page
    /// by page: 1080p preprocessing ran at 40 % of its speed. Call before native work starts; false where the C
    /// library has no such settings.
    /// </summary>
    public static bool ReturnLargeBlocksPromptly() => CallGlibc(() =>
        Mallopt(MmapThreshold, 1024 * 1024) == 1 & Mallopt(TrimThreshold, 8 * 1024 * 1024) == 1 & Mallopt(ArenaMax, 2) == 1, unavailable: false);

    /// <summary><paramref name="unavailable"/> off Linux or where the C library lacks the call (musl, for one).</summary>
    private static T CallGlibc<T>(Func<T> call, T unavailable)
    {
        if (!OperatingSystem.IsLinux())
        {
            return unavailable;
        }
        try
        {
            return call();
        }
        catch (EntryPointNotFoundException)
        {
            return unavailable;
        }
        catch (DllNotFoundException)
        {
            return unavailable;
        }
    }

    private const int TrimThreshold = -1;
    private const int MmapThreshold = -3;
    private const int ArenaMax = -8;

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);

    [LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial MallocInfo MallInfo2();

    /// <summary>glibc's struct mallinfo2 (2.33 and later): ten size_t fields, of which only fordblks is read.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct MallocInfo
    {
        private readonly nuint _arena;
        private readonly nuint _ordblks;
        private readonly nuint _smblks;
        private readonly nuint _hblks;
        private readonly nuint _hblkhd;
        private readonly nuint _usmblks;
        private readonly nuint _fsmblks;
        private readonly nuint _uordblks;
        private readonly nuint _fordblks;
        private readonly nuint _keepcost;

        public nuint FreeInHeaps => _fordblks;
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
