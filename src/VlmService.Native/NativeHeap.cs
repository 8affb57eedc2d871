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

    /// <summary>
    /// Whether C-heap buffers that ask for transparent huge pages (<see cref="NativeBuffer{T}"/>'s <c>hugePages</c>) and
    /// are <see cref="HugePageAdviceBytes"/> or more get the advice (on by default; off only to compare). A fresh mapping
    /// is faulted in a page at a time as it is first written, and on a virtual machine each 4 KB fault costs about
    /// 12 µs, far more than writing the page: 38 MB, SmolVLM's 2048-pixel preprocessing intermediate, took 135–250 ms
    /// to fill in 9,700 faults, and 9.5 ms in 2 MB pages. The kernel decides
    /// (<c>/sys/kernel/mm/transparent_hugepage/enabled</c>: "never" turns the advice off machine-wide).
    /// </summary>
    public static bool AdvisesHugePages { get; set; } = true;

    /// <summary>Two huge pages: a smaller block holds at most one aligned 2 MB page, and mostly none.</summary>
    public const long HugePageAdviceBytes = 4L << 20;

    /// <summary>Advises huge pages for the whole pages inside the block, when it is large enough and advice is on.</summary>
    internal static unsafe void AdviseHugePages(void* data, nuint bytes)
    {
        if (!AdvisesHugePages || (long)bytes < HugePageAdviceBytes || !OperatingSystem.IsLinux())
        {
            return;
        }
        nuint page = (nuint)Environment.SystemPageSize;
        nuint start = ((nuint)data + page - 1) & ~(page - 1);
        nuint end = ((nuint)data + bytes) & ~(page - 1);
        // Advice only: a kernel without transparent huge pages refuses it (EINVAL) and the block keeps 4 KB pages.
        CallGlibc(() => Madvise((nint)start, end - start, MadviseHugePage), unavailable: -1);
    }

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

    private const int MadviseHugePage = 14;

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);

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
