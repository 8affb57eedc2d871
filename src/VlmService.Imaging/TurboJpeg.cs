using System.Runtime.InteropServices;
using VlmService.Native;

namespace VlmService.Imaging;

/// <summary>
/// libjpeg-turbo's TurboJPEG API, for JPEGs that need nothing but decoding: 8-bit YCbCr, RGB or grayscale, lossy. The
/// libvips build decodes JPEGs with mozjpeg, which shares libjpeg-turbo's decoder, so for those images both give the same
/// pixels (accurate integer IDCT, smooth chroma upsampling: the defaults of both); libjpeg-turbo does it in about half the
/// time, without libvips' pipeline around it (an object per operation, a buffer zeroed per strip and stage).
/// Any image it is unsure of — a warning, an error, a colourspace or precision outside the list — is left to libvips,
/// which then decodes it or refuses it with its own message.
/// </summary>
internal static unsafe partial class TurboJpeg
{
    public const string Library = "libturbojpeg.so.0";

    private const int InitDecompress = 1;
    // TJPARAM
    private const int StopOnWarning = 0;
    private const int JpegWidth = 5;
    private const int JpegHeight = 6;
    private const int Precision = 7;
    private const int Colorspace = 8;
    private const int Lossless = 15;
    // TJCS
    private const int ColorspaceRgb = 0;
    private const int ColorspaceYCbCr = 1;
    private const int ColorspaceGray = 2;
    // TJPF: packed R, G, B; a grayscale image comes out with the value in all three, as libvips' sRGB conversion gives it.
    private const int PixelFormatRgb = 0;

    /// <summary>Decoder handles are not thread-safe; each decode takes one and gives it back, and only this many are kept.</summary>
    private static readonly KeptItems<nint> Handles = new(Environment.ProcessorCount * 2);

    static TurboJpeg() => ImagingLibraries.EnsureResolver();

    /// <summary>Whether the library loads here; where it does not, every JPEG goes through libvips as before.</summary>
    private static readonly Lazy<bool> Available = new(() =>
    {
        try
        {
            Return(Rent());
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Reads the header of <paramref name="data"/> and, if it is a JPEG this decoder handles exactly, decodes it as packed
    /// RGB into the array <paramref name="destination"/> gives for its (width, height), or declines where that is null.
    /// Returns false, having written nothing the caller keeps, when it is not such a JPEG or decoding reported anything.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> data, Func<int, int, byte[]?> destination, out int width, out int height)
    {
        width = height = 0;
        if (!Available.Value)
        {
            return false;
        }
        nint handle = Rent();
        if (handle == 0)
        {
            return false;
        }
        try
        {
            fixed (byte* jpeg = data)
            {
                if (DecompressHeader(handle, jpeg, (nuint)data.Length) != 0
                    || Get(handle, Precision) != 8
                    || Get(handle, Lossless) != 0
                    || Get(handle, Colorspace) is not (ColorspaceRgb or ColorspaceYCbCr or ColorspaceGray))
                {
                    return false;
                }
                width = Get(handle, JpegWidth);
                height = Get(handle, JpegHeight);
                byte[]? pixels = destination(width, height);
                if (pixels is null)
                {
                    return false;
                }
                if (pixels.Length < (long)width * height * RgbImage.Channels)
                {
                    throw new InvalidOperationException("The destination is smaller than the decoded image.");
                }
                fixed (byte* rgb = pixels)
                {
                    return Decompress8(handle, jpeg, (nuint)data.Length, rgb, 0, PixelFormatRgb) == 0;
                }
            }
        }
        finally
        {
            Return(handle);
        }
    }

    private static nint Rent()
    {
        if (Handles.TryTake(out nint handle))
        {
            return handle;
        }
        handle = Init(InitDecompress);
        // A warning (a truncated or corrupt file) ends the decode, so that such files go to libvips and are refused
        // as its fail_on=warning refuses them.
        if (handle != 0 && Set(handle, StopOnWarning, 1) != 0)
        {
            Destroy(handle);
            return 0;
        }
        return handle;
    }

    private static void Return(nint handle)
    {
        if (handle != 0 && !Handles.TryKeep(handle))
        {
            Destroy(handle);
        }
    }

    [LibraryImport(Library, EntryPoint = "tj3Init")]
    private static partial nint Init(int initType);

    [LibraryImport(Library, EntryPoint = "tj3Destroy")]
    private static partial void Destroy(nint handle);

    [LibraryImport(Library, EntryPoint = "tj3Set")]
    private static partial int Set(nint handle, int parameter, int value);

    [LibraryImport(Library, EntryPoint = "tj3Get")]
    private static partial int Get(nint handle, int parameter);

    [LibraryImport(Library, EntryPoint = "tj3DecompressHeader")]
    private static partial int DecompressHeader(nint handle, byte* jpeg, nuint size);

    [LibraryImport(Library, EntryPoint = "tj3Decompress8")]
    private static partial int Decompress8(nint handle, byte* jpeg, nuint size, byte* destination, int pitch, int pixelFormat);
}
