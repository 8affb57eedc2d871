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
    public static bool Trim()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            return MallocTrim(0) == 1;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
