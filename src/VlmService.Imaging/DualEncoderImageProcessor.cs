using System.Globalization;

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
            (int width, int height) = ResizeTarget(image.Width, image.Height);
            image = Resampler.Resize(image, width, height, InterpolationFor(Config.Resample));
        }
        if (Config.DoCenterCrop)
        {
            image = Resampler.CenterCrop(image, Config.CropWidth, Config.CropHeight);
        }
        int plane = image.Width * image.Height;
        if (destination.Length != plane * 3)
        {
            throw new ArgumentException($"Processed image is {image.Width}×{image.Height}, the destination holds {destination.Length} values.", nameof(destination));
        }
        byte[] pixels = image.Pixels;
        for (int c = 0; c < 3; c++)
        {
            double mean = Config.Mean[c];
            double std = Config.Std[c];
            Span<float> channel = destination.Slice(c * plane, plane);
            for (int p = 0; p < plane; p++)
            {
                // Two float32 roundings, as the reference stores the rescaled value before normalizing.
                float value = pixels[(p * 3) + c];
                if (Config.DoRescale)
                {
                    value = (float)(Config.RescaleFactor * value);
                }
                if (Config.DoNormalize)
                {
                    value = (float)((value - mean) / std);
                }
                channel[p] = value;
            }
        }
    }

    public float[] Process(RgbImage image)
    {
        (int height, int width) = OutputSize;
        var result = new float[3 * height * width];
        Process(image, result);
        return result;
    }

    /// <summary>Resize target (width, height) by the reference's rules, including its 2-decimal rounding.</summary>
    public (int Width, int Height) ResizeTarget(int sourceWidth, int sourceHeight)
    {
        if (Config.ShortestEdge is not null || Config.LongestEdge is not null)
        {
            double shortFactor = Config.ShortestEdge is int s ? Math.Max((double)s / sourceWidth, (double)s / sourceHeight) : 1;
            double newWidth = sourceWidth * shortFactor;
            double newHeight = sourceHeight * shortFactor;
            double longFactor = Config.LongestEdge is int l ? Math.Min(l / newWidth, l / newHeight) : 1;
            return ((int)Math.Floor(ToFixed2(newWidth * longFactor)), (int)Math.Floor(ToFixed2(newHeight * longFactor)));
        }
        if (Config.Width is int w && Config.Height is int h)
        {
            return (w, h);
        }
        throw new InvalidOperationException("preprocessor_config.json has no usable 'size'.");
    }

    /// <summary>JavaScript's <c>Number(x.toFixed(2))</c>.</summary>
    private static double ToFixed2(double value) =>
        double.Parse(((decimal)value).ToString("F2", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    public static Interpolation InterpolationFor(int resample) => resample switch
    {
        0 => Interpolation.Nearest,
        2 => Interpolation.Bilinear,
        3 => Interpolation.Bicubic,
        // Lanczos (1) needs libvips' resize kernel; the dual encoders the service serves use bicubic.
        _ => throw new NotSupportedException($"Resample mode {resample} is not supported for this processor."),
    };
}
