namespace VlmService.Imaging;

/// <summary>8-bit RGB pixels, row-major, interleaved (HWC).</summary>
public sealed record RgbImage(int Width, int Height, byte[] Pixels)
{
    public const int Channels = 3;
}

/// <summary>Receives 8-bit RGB pixels (HWC) lent for the duration of the call.</summary>
public delegate void PixelsAction(ReadOnlySpan<byte> pixels, int width, int height);

/// <summary>What the header says, before any pixel is decoded.</summary>
public sealed record ImageHeader(string Format, int Width, int Height);

/// <summary>Limits applied from the header alone, so a decompression bomb is refused without decoding.</summary>
public sealed record ImageLimits(long MaxPixels, int MaxSide)
{
    public static ImageLimits Default { get; } = new(40_000_000, 16_384);
}
