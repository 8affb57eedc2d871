using System.Runtime.InteropServices;
using VlmService.Native;

namespace VlmService.Imaging;

/// <summary>
/// Points this assembly's P/Invoke declarations at the native libraries the build copies beside it. An assembly has one
/// resolver, and either library's bindings may be the first to be called, so both ensure it.
/// </summary>
internal static class ImagingLibraries
{
    private static readonly Lazy<bool> Registered = new(() =>
    {
        NativeLibrary.SetDllImportResolver(typeof(ImagingLibraries).Assembly, static (name, _, _) =>
            name is Vips.Library or TurboJpeg.Library ? NativeLibraryLocator.Load(name) : 0);
        return true;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    public static void EnsureResolver() => _ = Registered.Value;
}
