using System.Runtime.InteropServices;

namespace VlmService.Imaging;

/// <summary>
/// The libvips C API entry points the decoder uses. Variadic functions are declared with their optional
/// arguments spelled out and a terminating null; only pointer and int varargs are passed this way (the
/// x86-64 calling convention passes those exactly like fixed arguments).
/// </summary>
internal static unsafe partial class Vips
{
    public const string Library = "libvips-cpp.so.8.18.7";

    public const int FormatUChar = 0;
    public const int FormatUShort = 2;
    // VipsInterpretation
    public const int InterpretationCmyk = 15;
    public const int InterpretationLabs = 21;
    public const int InterpretationSrgb = 22;
    public const int InterpretationRgb16 = 25;
    public const int InterpretationGrey16 = 26;
    public const int IntentPerceptual = 0;

    static Vips() => ImagingLibraries.EnsureResolver();

    [LibraryImport(Library, EntryPoint = "vips_init", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Init(string argv0);

    [LibraryImport(Library, EntryPoint = "vips_block_untrusted_set")]
    public static partial void BlockUntrustedSet(int state);

    [LibraryImport(Library, EntryPoint = "vips_cache_set_max")]
    public static partial void CacheSetMax(int max);

    [LibraryImport(Library, EntryPoint = "vips_concurrency_set")]
    public static partial void ConcurrencySet(int concurrency);

    [LibraryImport(Library, EntryPoint = "vips_error_buffer")]
    public static partial nint ErrorBuffer();

    [LibraryImport(Library, EntryPoint = "vips_error_clear")]
    public static partial void ErrorClear();

    [LibraryImport(Library, EntryPoint = "vips_foreign_find_load_buffer")]
    public static partial nint FindLoadBuffer(byte* data, nuint size);

    [LibraryImport(Library, EntryPoint = "vips_image_new_from_buffer", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint NewFromBuffer(byte* data, nuint size, string options, nint terminator);

    [LibraryImport(Library, EntryPoint = "vips_image_new_from_memory_copy")]
    public static partial nint NewFromMemoryCopy(byte* data, nuint size, int width, int height, int bands, int format);

    [LibraryImport(Library, EntryPoint = "vips_image_get_width")]
    public static partial int GetWidth(nint image);

    [LibraryImport(Library, EntryPoint = "vips_image_get_height")]
    public static partial int GetHeight(nint image);

    [LibraryImport(Library, EntryPoint = "vips_image_get_bands")]
    public static partial int GetBands(nint image);

    [LibraryImport(Library, EntryPoint = "vips_image_get_format")]
    public static partial int GetFormat(nint image);

    [LibraryImport(Library, EntryPoint = "vips_image_get_interpretation")]
    public static partial int GetInterpretation(nint image);

    [LibraryImport(Library, EntryPoint = "vips_image_get_typeof", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nuint GetTypeOf(nint image, string name);

    [LibraryImport(Library, EntryPoint = "vips_image_get_int", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int GetInt(nint image, string name, int* value);

    [LibraryImport(Library, EntryPoint = "vips_autorot")]
    public static partial int AutoRotate(nint input, nint* output, nint terminator);

    [LibraryImport(Library, EntryPoint = "vips_icc_transform", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int IccTransformEmbedded(nint input, nint* output, string profile, string embeddedKey, int embedded,
        string depthKey, int depth, string intentKey, int intent, nint terminator);

    [LibraryImport(Library, EntryPoint = "vips_icc_transform", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int IccTransformFrom(nint input, nint* output, string profile, string inputProfileKey, string inputProfile,
        string intentKey, int intent, nint terminator);

    [LibraryImport(Library, EntryPoint = "vips_colourspace", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Colourspace(nint input, nint* output, int space, string sourceKey, int source, nint terminator);

    [LibraryImport(Library, EntryPoint = "vips_cast")]
    public static partial int Cast(nint input, nint* output, int format, nint terminator);

    [LibraryImport(Library, EntryPoint = "vips_extract_band")]
    public static partial int ExtractBand(nint input, nint* output, int band, nint terminator);

    [LibraryImport(Library, EntryPoint = "vips_extract_band", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ExtractBands(nint input, nint* output, int band, string countName, int count, nint terminator);

    [LibraryImport(Library, EntryPoint = "vips_affine", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Affine(nint input, nint* output, double a, double b, double c, double d, string interpolateKey, nint interpolate, nint terminator);

    [LibraryImport(Library, EntryPoint = "vips_interpolate_new", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint InterpolateNew(string name);

    [LibraryImport(Library, EntryPoint = "vips_image_write_to_memory")]
    public static partial nint WriteToMemory(nint image, nuint* size);

    [LibraryImport(Library, EntryPoint = "vips_region_new")]
    public static partial nint RegionNew(nint image);

    /// <summary>Computes <paramref name="area"/> of the region's image into the region, on the calling thread.</summary>
    [LibraryImport(Library, EntryPoint = "vips_region_prepare")]
    public static partial int RegionPrepare(nint region, Rect* area);

    [LibraryImport(Library, EntryPoint = "vips_operation_new", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint OperationNew(string name);

    [LibraryImport(Library, EntryPoint = "g_object_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void ObjectSetPointer(nint gobject, string name, nint value, nint terminator);

    [LibraryImport(Library, EntryPoint = "g_object_get", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void ObjectGetPointer(nint gobject, string name, nint* value, nint terminator);

    [LibraryImport(Library, EntryPoint = "vips_object_set_from_string", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ObjectSetFromString(nint vipsObject, string options);

    [LibraryImport(Library, EntryPoint = "vips_cache_operation_build")]
    public static partial nint CacheOperationBuild(nint operation);

    [LibraryImport(Library, EntryPoint = "vips_object_unref_outputs")]
    public static partial void ObjectUnrefOutputs(nint vipsObject);

    [LibraryImport(Library, EntryPoint = "g_object_unref")]
    public static partial void Unref(nint gobject);

    [LibraryImport(Library, EntryPoint = "g_free")]
    public static partial void Free(nint memory);

    /// <summary>libvips' VipsRect: an area in pixels.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Rect
    {
        public int Left;
        public int Top;
        public int Width;
        public int Height;
    }

    /// <summary>Takes and clears libvips' error text.</summary>
    public static string LastError()
    {
        string message = Marshal.PtrToStringUTF8(ErrorBuffer())?.Trim() ?? string.Empty;
        ErrorClear();
        return message;
    }

    private static readonly Lazy<bool> Started = new(() =>
    {
        if (Init("vlmservice") != 0)
        {
            throw new InvalidOperationException($"libvips failed to start: {LastError()}");
        }
        // Refuse loaders that libvips marks unsafe for untrusted input (e.g. ImageMagick, PDF, Matlab).
        BlockUntrustedSet(1);
        // Each request decodes once; the operation cache would only hold memory.
        CacheSetMax(0);
        // Requests are decoded in parallel by the caller; one libvips worker per image keeps cores predictable.
        ConcurrencySet(1);
        return true;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    public static void EnsureStarted() => _ = Started.Value;
}
