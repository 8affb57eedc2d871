using VlmService.Imaging;

namespace VlmService.Tests.Imaging;

/// <summary>libjpeg-turbo decodes plain JPEGs to exactly libvips' pixels, and declines every file it is not sure of.</summary>
public sealed class TurboJpegTests
{
    /// <summary>Files libjpeg-turbo must decline, so that libvips decodes or refuses them.</summary>
    private static readonly HashSet<string> Declined = ["cmyk.jpg", "not-an-image.jpg", "truncated.jpg"];

    /// <summary>
    /// Files it decodes, but whose served pixels are not the plain decode (an embedded colour profile to apply, an EXIF
    /// orientation to turn): the decoder sends them through libvips.
    /// </summary>
    private static readonly HashSet<string> NotPlain = ["COCO_val2014_000000033645.jpg", "exif-orientation-6.jpg"];

    [Fact]
    public void Plain_jpegs_decode_to_libvips_pixels_and_others_are_declined_or_left_to_libvips()
    {
        int equal = 0;
        foreach (string path in TestPaths.Photos.Concat(TestPaths.EdgeImages).Where(IsJpegName))
        {
            string name = Path.GetFileName(path);
            byte[] bytes = File.ReadAllBytes(path);
            byte[]? pixels = null;
            bool decoded = TurboJpeg.TryDecode(bytes, (w, h) => pixels = new byte[w * h * RgbImage.Channels], out int width, out int height);
            if (Declined.Contains(name))
            {
                Assert.False(decoded, $"{name} was decoded");
                continue;
            }
            Assert.True(decoded, $"{name} was declined");
            RgbImage libvips = ImageDecoder.Decode(bytes, ImageLimits.Default, ImageDecoder.PixelAccess.Random);
            bool same = (libvips.Width, libvips.Height) == (width, height) && libvips.Pixels.AsSpan().SequenceEqual(pixels);
            Assert.True(same != NotPlain.Contains(name), $"{name}: libjpeg-turbo's pixels {(same ? "equal" : "differ from")} libvips'");
            equal += same ? 1 : 0;
        }
        Assert.True(equal >= 25, $"only {equal} images compared equal");
    }

    [Fact]
    public void Buffers_hold_the_image_asked_for_and_none_is_lent_above_the_limit()
    {
        Assert.Null(DecodeBuffers.Rent(DecodeBuffers.MaxBytes + 1));
        foreach (long length in new long[] { 640 * 480 * 3, 1920 * 1080 * 3, 500 * 375 * 3 })
        {
            byte[] buffer = DecodeBuffers.Rent(length)!;
            Assert.True(buffer.Length >= length, $"{buffer.Length} bytes lent for {length}");
            DecodeBuffers.Return(buffer);
        }
    }

    private static bool IsJpegName(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".jpg" or ".jpeg";
}
