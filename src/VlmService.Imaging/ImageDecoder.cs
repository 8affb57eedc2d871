using System.Runtime.InteropServices;

namespace VlmService.Imaging;

/// <summary>
/// Decodes untrusted image bytes to 8-bit RGB the way the reference's loader (sharp over the same libvips)
/// does: EXIF orientation applied, embedded ICC profiles converted to sRGB, CMYK through a CMYK profile,
/// 16-bit reduced to 8, grayscale copied to three channels, alpha dropped (not blended).
/// </summary>
public static unsafe class ImageDecoder
{
    /// <summary>Formats the service decodes; other images libvips recognises are refused with 415.</summary>
    public static IReadOnlyList<string> AcceptedFormats { get; } = ["jpeg", "png", "webp", "gif"];

    /// <summary>
    /// Whether JPEGs that need nothing but decoding go through libjpeg-turbo (the default), which decodes them in about half
    /// the time of libvips' pipeline, to the same pixels; off only to compare the two.
    /// </summary>
    public static bool UsesTurboJpeg { get; set; } = true;

    /// <summary>Reads the header only and applies <paramref name="limits"/>; no pixel is decoded.</summary>
    public static ImageHeader Probe(ReadOnlySpan<byte> data, ImageLimits limits)
    {
        fixed (byte* bytes = data)
        {
            using VipsImage image = Open(bytes, data.Length, limits, out ImageHeader header, LoadOptions(sequential: false));
            return header;
        }
    }

    /// <summary>
    /// Decodes to 8-bit RGB. With <paramref name="shrinkToShortSide"/> set, a JPEG is decoded at 1/2, 1/4 or 1/8 of its
    /// size in the DCT domain, as long as its short side stays at least that long: several times faster for large
    /// photos, at the price of pixels that differ slightly from a full-size decode followed by the resize.
    /// </summary>
    public static RgbImage Decode(ReadOnlySpan<byte> data, ImageLimits limits, int shrinkToShortSide = 0) =>
        Decode(data, limits, shrinkToShortSide, PixelAccess.Sequential, resize: null, resizeDecoded: null);

    /// <summary>
    /// Decodes and resizes to <paramref name="target"/>(width, height) of the decoded image in one pass: the pixels
    /// equal <see cref="Decode(ReadOnlySpan{byte}, ImageLimits, int)"/> followed by <see cref="Resampler.Resize"/>, but
    /// the full-size image is never copied out of libvips and back in (a 1080p photo is 6 MB, copied twice).
    /// </summary>
    /// <param name="centerCrop">
    /// Where given, only this center crop of the resized image is returned (as <see cref="Resampler.CenterCrop"/> would
    /// cut it), and bicubic scaling computes nothing outside it; a crop larger than the resized image is left to the caller.
    /// </param>
    /// <param name="reusablePixels">
    /// An array bicubic scaling may write the result into (and return) when it is exactly the result's size, so that a
    /// caller processing one image after another need not allocate each one's pixels.
    /// </param>
    public static RgbImage DecodeResized(ReadOnlySpan<byte> data, ImageLimits limits, Func<int, int, (int Width, int Height)> target,
        Interpolation interpolation, int shrinkToShortSide = 0, (int Width, int Height)? centerCrop = null, byte[]? reusablePixels = null) =>
        DecodeResized(data, limits, target, interpolation, shrinkToShortSide, PixelAccess.Sequential, centerCrop, reusablePixels);

    internal static RgbImage DecodeResized(ReadOnlySpan<byte> data, ImageLimits limits, Func<int, int, (int Width, int Height)> target,
        Interpolation interpolation, int shrinkToShortSide, PixelAccess access, (int Width, int Height)? centerCrop = null,
        byte[]? reusablePixels = null) =>
        Decode(data, limits, shrinkToShortSide, access, resize: srgb =>
        {
            (int width, int height) = target(srgb.Width, srgb.Height);
            if (width == srgb.Width && height == srgb.Height)
            {
                return null;
            }
            // Alpha is dropped before resampling, as the separate path does: libvips' affine would premultiply by it.
            using VipsImage? colour = srgb.Bands switch
            {
                4 => srgb.Apply("Dropping alpha", (i, o) => Vips.ExtractBands(i, (nint*)o, 0, "n", 3, 0)),
                2 => srgb.Apply("Dropping alpha", (i, o) => Vips.ExtractBand(i, (nint*)o, 0, 0)),
                _ => null,
            };
            VipsImage source = colour ?? srgb;
            if (interpolation == Interpolation.Bicubic)
            {
                // The same pixels as libvips' affine below, computed from the rows as they are decoded: the affine (its
                // inner loop and the regions around it) was about two thirds of a photo's preprocessing.
                return ScaleBicubic(source.Width, source.Height, source.Bands, source.ForEachRow, (width, height), centerCrop, reusablePixels);
            }
            using VipsImage scaled = Resampler.Affine(source, width, height, interpolation);
            return ToRgb(scaled.Width, scaled.Height, scaled.Bands, scaled.ToBytes());
        }, resizeDecoded: interpolation != Interpolation.Bicubic ? null : decoded =>
        {
            (int width, int height) = target(decoded.Width, decoded.Height);
            if (width == decoded.Width && height == decoded.Height)
            {
                return null;
            }
            return ScaleBicubic(decoded.Width, decoded.Height, RgbImage.Channels, decoded.ForEachRow, (width, height), centerCrop, reusablePixels);
        });

    private static RgbImage ScaleBicubic(int sourceWidth, int sourceHeight, int bands, Action<RowAction> forEachRow, (int Width, int Height) size,
        (int Width, int Height)? centerCrop, byte[]? reusablePixels)
    {
        var scaler = new BicubicScaler(sourceWidth, sourceHeight, bands, size.Width, size.Height, centerCrop, reusablePixels: reusablePixels);
        forEachRow(scaler.Accept);
        scaler.Finish();
        return ToRgb(scaler.Width, scaler.Height, bands, scaler.Pixels);
    }

    internal static RgbImage Decode(ReadOnlySpan<byte> data, ImageLimits limits, PixelAccess access) =>
        Decode(data, limits, shrinkToShortSide: 0, access, resize: null, resizeDecoded: null);

    /// <param name="access">
    /// Sequential as served: a plain JPEG through libjpeg-turbo, anything else streamed through libvips. Random only where a
    /// test compares the paths: everything through libvips, decoded whole before it is read.
    /// </param>
    /// <param name="resize">Returns the resized pixels, or null to keep the decoded size.</param>
    /// <param name="resizeDecoded">
    /// The same for an image libjpeg-turbo decoded whole (always three bands); where null, <paramref name="resize"/>
    /// needs libvips' own image, and such JPEGs go through libvips.
    /// </param>
    private static RgbImage Decode(ReadOnlySpan<byte> data, ImageLimits limits, int shrinkToShortSide, PixelAccess access,
        Func<VipsImage, RgbImage?>? resize, Func<DecodedRows, RgbImage?>? resizeDecoded)
    {
        // libvips reads lazily from this buffer, so it stays pinned until the pixels are copied out.
        fixed (byte* bytes = data)
        {
            // Random access decodes the whole image into a buffer of its own before the first operation reads it (6 MB
            // for a 1080p photo, zeroed and faulted in on every request); streaming it top to bottom through the
            // pipeline does not. Turning the image upright reads it out of order, so that one case needs random access.
            // The image is opened for streaming from the start, as nearly every photo is upright: its header is then
            // parsed once, not a second time for a reopen.
            bool sequential = access == PixelAccess.Sequential;
            VipsImage opened = Open(bytes, data.Length, limits, out ImageHeader header, LoadOptions(sequential));
            int shrink = header.Format == "jpeg" && shrinkToShortSide > 0 ? JpegShrink(Math.Min(header.Width, header.Height), shrinkToShortSide) : 1;
            bool streamed = sequential && opened.IntField("orientation") is null or 1;
            // A JPEG that needs only decoding: no colour profile to apply, nothing to turn, decoded at full size. The
            // header was read through libvips above, so format checks, limits and refusals stay libvips' for every file.
            bool plainJpeg = header.Format == "jpeg" && streamed && shrink == 1 && !opened.HasField("icc-profile-data");
            if (UsesTurboJpeg && plainJpeg && (resize is null || resizeDecoded is not null)
                && DecodeWithTurboJpeg(data, resizeDecoded) is { } decoded)
            {
                opened.Dispose();
                return decoded;
            }
            // Reopened to decode at reduced scale, or, opened for streaming, to be turned upright with random access.
            if (shrink > 1 || (sequential && !streamed))
            {
                opened.Dispose();
                opened = new VipsImage(Vips.NewFromBuffer(bytes, (nuint)data.Length, LoadOptions(streamed, shrink), 0), "Reading the image header");
            }
            using VipsImage loaded = opened;
            using VipsImage srgb = ToSrgb8(loaded);
            return resize?.Invoke(srgb) ?? ToRgb(srgb.Width, srgb.Height, srgb.Bands, srgb.ToBytes());
        }
    }

    /// <summary>
    /// Decodes through libjpeg-turbo: straight into the result's array, or, to be resized, into an array kept for the next
    /// image (a fresh one for every photo would be faulted in page by page). Null when libjpeg-turbo declines the file.
    /// </summary>
    private static RgbImage? DecodeWithTurboJpeg(ReadOnlySpan<byte> data, Func<DecodedRows, RgbImage?>? resize)
    {
        if (resize is null)
        {
            byte[]? whole = null;
            return TurboJpeg.TryDecode(data, (w, h) => whole = new byte[(long)w * h * RgbImage.Channels], out int width, out int height)
                ? new RgbImage(width, height, whole!)
                : null;
        }
        byte[]? kept = null;
        try
        {
            if (!TurboJpeg.TryDecode(data, (w, h) => kept = DecodeBuffers.Rent((long)w * h * RgbImage.Channels), out int width, out int height))
            {
                return null;
            }
            var decoded = new DecodedRows(kept!, width, height);
            return resize(decoded) ?? new RgbImage(width, height, kept.AsSpan(0, width * height * RgbImage.Channels).ToArray());
        }
        finally
        {
            if (kept is not null)
            {
                DecodeBuffers.Return(kept);
            }
        }
    }

    /// <summary>How libvips reads the encoded image while the pipeline pulls pixels from it.</summary>
    internal enum PixelAccess
    {
        Sequential,
        Random,
    }

    /// <summary>The largest JPEG scale-on-load factor (8, 4, 2) that keeps the short side at least <paramref name="needed"/>.</summary>
    public static int JpegShrink(int shortSide, int needed) =>
        new[] { 8, 4, 2 }.FirstOrDefault(factor => shortSide / factor >= needed, 1);

    /// <summary>libvips' load options: streamed or random access, and a JPEG scale-on-load factor above 1.</summary>
    private static string LoadOptions(bool sequential, int shrink = 1) =>
        // fail_on=warning: a truncated or corrupt file is refused rather than half-decoded, as the reference does.
        $"[fail_on=warning{(shrink > 1 ? $",shrink={shrink}" : "")}{(sequential ? ",access=sequential" : "")}]";

    private static VipsImage Open(byte* data, int length, ImageLimits limits, out ImageHeader header, string options)
    {
        if (length == 0)
        {
            throw new ImageException(ImageErrorKind.Undecodable, "The image is empty (0 bytes).");
        }
        Vips.EnsureStarted();
        string? loader = Marshal.PtrToStringUTF8(Vips.FindLoadBuffer(data, (nuint)length));
        if (loader is null)
        {
            Vips.ErrorClear();
            if (KnownRefusedFormat(new ReadOnlySpan<byte>(data, Math.Min(length, 512))) is { } refused)
            {
                throw new ImageException(ImageErrorKind.UnsupportedFormat,
                    $"Image format '{refused}' is not accepted; send one of: {string.Join(", ", AcceptedFormats)}.");
            }
            throw new ImageException(ImageErrorKind.Undecodable, "The data is not an image in any known format.");
        }
        // Loader type names look like VipsForeignLoadJpegBuffer or VipsForeignLoadNsgifBuffer.
        string name = loader.Replace("VipsForeignLoad", string.Empty, StringComparison.Ordinal)
            .Replace("Buffer", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        string? format = AcceptedFormats.FirstOrDefault(f => name.Contains(f, StringComparison.Ordinal));
        if (format is null)
        {
            throw new ImageException(ImageErrorKind.UnsupportedFormat,
                $"Image format '{name}' is not accepted; send one of: {string.Join(", ", AcceptedFormats)}.");
        }
        var image = new VipsImage(Vips.NewFromBuffer(data, (nuint)length, options, 0), "Reading the image header");
        header = new ImageHeader(format, image.Width, image.Height);
        if (header.Width > limits.MaxSide || header.Height > limits.MaxSide || (long)header.Width * header.Height > limits.MaxPixels)
        {
            image.Dispose();
            throw new ImageException(ImageErrorKind.TooLarge,
                $"The image is {header.Width}×{header.Height}; the limit is {limits.MaxSide} pixels per side and {limits.MaxPixels:N0} pixels in all.");
        }
        return image;
    }

    /// <summary>Recognises image formats whose loaders are blocked for untrusted input, so they get 415 rather than 400.</summary>
    private static string? KnownRefusedFormat(ReadOnlySpan<byte> head)
    {
        string text = System.Text.Encoding.ASCII.GetString(head).TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        if (text.StartsWith("<svg", StringComparison.OrdinalIgnoreCase) || (text.StartsWith("<?xml", StringComparison.OrdinalIgnoreCase) && text.Contains("<svg", StringComparison.OrdinalIgnoreCase)))
        {
            return "svg";
        }
        if (text.StartsWith("%PDF", StringComparison.Ordinal))
        {
            return "pdf";
        }
        return head.Length >= 12 && head[4..8].SequenceEqual("ftyp"u8) ? "heif" : null;
    }

    private static VipsImage ToSrgb8(VipsImage loaded)
    {
        var steps = new List<VipsImage>();
        VipsImage current = loaded;
        VipsImage Step(VipsImage next)
        {
            steps.Add(next);
            current = next;
            return next;
        }
        try
        {
            Step(current.Apply("EXIF orientation", (i, o) => Vips.AutoRotate(i, (nint*)o, 0)));
            int interpretation = current.Interpretation;
            bool sixteenBit = interpretation is Vips.InterpretationRgb16 or Vips.InterpretationGrey16;
            if (current.HasField("icc-profile-data") && interpretation is not Vips.InterpretationLabs and not Vips.InterpretationGrey16)
            {
                string profile = interpretation == Vips.InterpretationRgb16 ? "p3" : "srgb";
                try
                {
                    Step(current.Apply("ICC transform", (i, o) => Vips.IccTransformEmbedded(i, (nint*)o, profile,
                        "embedded", 1, "depth", sixteenBit ? 16 : 8, "intent", Vips.IntentPerceptual, 0)));
                }
                catch (ImageException)
                {
                    // An invalid embedded profile is ignored, as the reference does.
                }
            }
            else if (interpretation == Vips.InterpretationCmyk)
            {
                Step(current.Apply("CMYK to sRGB", (i, o) => Vips.IccTransformFrom(i, (nint*)o, "srgb", "input_profile", "cmyk", "intent", Vips.IntentPerceptual, 0)));
            }
            int now = current.Interpretation;
            if (now is Vips.InterpretationRgb16 or Vips.InterpretationGrey16)
            {
                Step(current.Apply("16-bit cast", (i, o) => Vips.Cast(i, (nint*)o, Vips.FormatUShort, 0)));
            }
            if (current.Interpretation != Vips.InterpretationSrgb)
            {
                int source = current.Interpretation;
                Step(current.Apply("sRGB conversion", (i, o) => Vips.Colourspace(i, (nint*)o, Vips.InterpretationSrgb, "source_space", source, 0)));
            }
            if (current.Format != Vips.FormatUChar)
            {
                Step(current.Apply("8-bit cast", (i, o) => Vips.Cast(i, (nint*)o, Vips.FormatUChar, 0)));
            }
            steps.Remove(current);
            return current;
        }
        finally
        {
            foreach (VipsImage step in steps)
            {
                step.Dispose();
            }
        }
    }

    private static RgbImage ToRgb(int width, int height, int bands, byte[] pixels)
    {
        if (bands == RgbImage.Channels)
        {
            return new RgbImage(width, height, pixels);
        }
        var rgb = new byte[width * height * RgbImage.Channels];
        int count = width * height;
        for (int p = 0; p < count; p++)
        {
            int from = p * bands;
            int to = p * RgbImage.Channels;
            if (bands >= 3)
            {
                rgb[to] = pixels[from];
                rgb[to + 1] = pixels[from + 1];
                rgb[to + 2] = pixels[from + 2];
            }
            else
            {
                rgb[to] = rgb[to + 1] = rgb[to + 2] = pixels[from];
            }
        }
        return new RgbImage(width, height, rgb);
    }
}
