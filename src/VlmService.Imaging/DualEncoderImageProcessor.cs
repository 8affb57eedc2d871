namespace VlmService.Imaging;

/// <summary>
/// CLIP's (shortest edge → center crop) and SigLIP's (fixed size) processing: resize, crop, rescale,
/// normalize, HWC → CHW float32, in the reference's order and arithmetic.
/// </summary>
public sealed class DualEncoderImageProcessor(ImageProcessorConfig config)
{
    public ImageProcessorConfig Config { get; } = config;

    /// <summary>The output tensor's (height, width) for any input.</summary>
    public (int Height, int Width) OutputSize => Config.DoCenterCrop
        ? (Config.CropHeight, Config.CropWidth)
        : (Config.Height ?? Config.ShortestEdge ?? 0, Config.Width ?? Config.ShortestEdge ?? 0);

    /// <summary>Writes the processed image into <paramref name="destination"/> (3 × H × W floats).</summary>
    public void Process(RgbImage image, Span<float> destination)
    {
        if (Config.DoResize)
        {
            (int width, int height) = ResizeRules.Target(Config, image.Width, image.Height);
            image = Resampler.Resize(image, width, height, InterpolationFor(Config.Resample));
        }
        CropAndNormalize(image, destination);
    }

    public float[] Process(RgbImage image)
    {
        float[] result = NewOutput();
        Process(image, result);
        return result;
    }

    /// <summary>
    /// Decodes and processes encoded image bytes; the resize runs inside the decoder's pipeline (same pixels as
    /// decoding first, less copying). <paramref name="shrinkToShortSide"/> as in <see cref="ImageDecoder.Decode(ReadOnlySpan{byte}, ImageLimits, int)"/>.
    /// </summary>
    public float[] Process(ReadOnlySpan<byte> encoded, ImageLimits limits, int shrinkToShortSide = 0)
    {
        float[] result = NewOutput();
        Process(encoded, limits, result, shrinkToShortSide);
        return result;
    }

    /// <summary>The same, written into <paramref name="destination"/> (3 × H × W floats, every one of them overwritten).</summary>
    public void Process(ReadOnlySpan<byte> encoded, ImageLimits limits, Span<float> destination, int shrinkToShortSide = 0)
    {
        RgbImage image = Config.DoResize
            ? ImageDecoder.DecodeResized(encoded, limits, (w, h) => ResizeRules.Target(Config, w, h), InterpolationFor(Config.Resample), shrinkToShortSide,
                Config.DoCenterCrop ? (Config.CropWidth, Config.CropHeight) : null, _scaledPixels)
            : ImageDecoder.Decode(encoded, limits, shrinkToShortSide);
        CropAndNormalize(image, destination);
        // Only an array of the output's size (a byte per float) is kept: never a whole decoded photo.
        if (image.Pixels.Length == destination.Length)
        {
            _scaledPixels = image.Pixels;
        }
    }

    /// <summary>
    /// The last scaled image's 8-bit pixels on this thread, written over by the next one. They never outlive
    /// <see cref="Process(ReadOnlySpan{byte}, ImageLimits, Span{float}, int)"/>; allocated afresh, each image's were
    /// 150 KB on the large-object heap (CLIP's 224²), and under /embed load those made about half of all full collections.
    /// </summary>
    [ThreadStatic]
    private static byte[]? _scaledPixels;

    private float[] NewOutput()
    {
        (int height, int width) = OutputSize;
        return new float[3 * height * width];
    }

    private void CropAndNormalize(RgbImage image, Span<float> destination)
    {
        if (Config.DoCenterCrop)
        {
            image = Resampler.CenterCrop(image, Config.CropWidth, Config.CropHeight);
        }
        if (destination.Length != image.Width * image.Height * 3)
        {
            throw new ArgumentException($"Processed image is {image.Width}×{image.Height}, the destination holds {destination.Length} values.", nameof(destination));
        }
        ResizeRules.RescaleNormalize(image, Config, destination);
    }

    public static Interpolation InterpolationFor(int resample) => resample switch
    {
        0 => Interpolation.Nearest,
        2 => Interpolation.Bilinear,
        3 => Interpolation.Bicubic,
        // Lanczos (1) needs libvips' resize kernel; the dual encoders the service serves use bicubic.
        _ => throw new NotSupportedException($"Resample mode {resample} is not supported for this processor."),
    };
}
