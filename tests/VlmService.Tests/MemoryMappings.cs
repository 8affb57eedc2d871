using System.Buffers;
using System.Globalization;
using VlmService.Native;

namespace VlmService.Tests;

/// <summary>What the kernel says of this process's mappings (/proc/self/smaps).</summary>
internal static unsafe class MemoryMappings
{
    /// <summary>A kernel built without transparent huge pages has no such directory and refuses the advice.</summary>
    public static bool KernelTakesHugePageAdvice => Directory.Exists("/sys/kernel/mm/transparent_hugepage");

    /// <summary>Whether the mapping holding <paramref name="buffer"/>'s element at <paramref name="offset"/> was advised for huge pages.</summary>
    public static bool AdvisedForHugePages<T>(NativeBuffer<T> buffer, int offset) where T : unmanaged
    {
        using MemoryHandle pinned = buffer.Pin(offset);
        return AdvisedForHugePages((nint)pinned.Pointer);
    }

    /// <summary>Whether the mapping holding <paramref name="address"/> was advised for huge pages ("hg" among its VmFlags).</summary>
    private static bool AdvisedForHugePages(nint address)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-', StringComparison.Ordinal);
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end))
            {
                inside = (ulong)address >= start && (ulong)address < end;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("hg");
            }
        }
        throw new InvalidOperationException($"No mapping holds 0x{address:x}.");
    }
}
