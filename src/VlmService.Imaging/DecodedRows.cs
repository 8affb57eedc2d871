using VlmService.Native;

namespace VlmService.Imaging;

/// <summary>An image decoded whole into packed RGB, lent a row at a time as libvips' pipeline lends its rows.</summary>
internal readonly struct DecodedRows(byte[] pixels, int width, int height)
{
    public int Width => width;

    public int Height => height;

    public void ForEachRow(RowAction action)
    {
        int rowBytes = width * RgbImage.Channels;
        for (int y = 0; y < height; y++)
        {
            action(pixels.AsSpan(y * rowBytes, rowBytes));
        }
    }
}

/// <summary>
/// Arrays that whole decoded images are written into before they are resized, kept for the next image: a fresh one is
/// faulted in page by page (on a virtual machine about 12 µs a page, 2.7 ms for a 640×480 photo).
/// </summary>
internal static class DecodeBuffers
{
    /// <summary>
    /// The largest image decoded whole to be resized (a 1080p photo is 6.2 MB). A larger one streams through libvips a few
    /// rows at a time instead, so neither a huge array nor its faults are paid for it.
    /// </summary>
    public const long MaxBytes = 8L << 20;

    private const int Granule = 1 << 20;
    private static readonly KeptItems<byte[]> Arrays = new(Environment.ProcessorCount);

    /// <summary>An array of at least <paramref name="length"/> bytes, or null above <see cref="MaxBytes"/>.</summary>
    public static byte[]? Rent(long length)
    {
        if (length > MaxBytes)
        {
            return null;
        }
        if (Arrays.TryTake(out byte[]? array) && array.Length >= length)
        {
            return array;
        }
        // Rounded up, so that photos of nearly the same size share arrays rather than replacing them.
        return GC.AllocateUninitializedArray<byte>((int)((length + Granule - 1) / Granule * Granule));
    }

    public static void Return(byte[] array) => Arrays.TryKeep(array);
}
