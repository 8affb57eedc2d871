using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace VlmService.Native;

/// <summary>
/// Finds the native libraries the build copied next to the assemblies (runtimes/linux-x64/native),
/// or a directory named by <c>VLM_NATIVE_DIR</c> (GPU images bring their own ONNX Runtime build).
/// </summary>
public static class NativeLibraryLocator
{
    private static readonly ConcurrentDictionary<string, nint> Loaded = new();

    public static nint Load(string fileName) => Loaded.GetOrAdd(fileName, static name =>
    {
        foreach (string directory in CandidateDirectories())
        {
            string path = Path.Combine(directory, name);
            if (File.Exists(path))
            {
                return NativeLibrary.Load(path);
            }
        }
        return NativeLibrary.Load(name);
    });

    private static IEnumerable<string> CandidateDirectories()
    {
        string? overrideDir = Environment.GetEnvironmentVariable("VLM_NATIVE_DIR");
        if (!string.IsNullOrEmpty(overrideDir))
        {
            yield return overrideDir;
        }
        yield return Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
        yield return AppContext.BaseDirectory;
    }
}
