using System.Globalization;

namespace VlmService.Imaging;

/// <summary>The reference's resize-size rule and its rescale → normalize → CHW step, shared by the processors.</summary>
public static class ResizeRules
{
    /// <summary>Resize target (width, height), including the reference's rounding to 2 decimals before flooring.</summary>
    public static (int Width, int Height) Target(ImageProcessorConfig config, int sourceWidth, int sourceHeight)
    {
        if (config.ShortestEdge is not null || config.LongestEdge is not null)
        {
            double shortFactor = config.ShortestEdge is int s ? Math.Max((double)s / sourceWidth, (double)s / sourceHeight) : 1;
            double newWidth = sourceWidth * shortFactor;
            double newHeight = sourceHeight * shortFactor;
            double longFactor = config.LongestEdge is int l ? Math.Min(l / newWidth, l / newHeight) : 1;
            return ((int)Math.Floor(ToFixed2(newWidth * longFactor)), (int)Math.Floor(ToFixed2(newHeight * longFactor)));
        }
        if (config.Width is int w && config.Height is int h)
        {
            return (w, h);
        }
        throw new InvalidOperationException("preprocessor_config.json has no usable 'size'.");
    }

    /// <summary>JavaScript's <c>Number(x.toFixed(2))</c>.</summary>
    private static double ToFixed2(double value) =>
        double.Parse(((decimal)value).ToString("F2", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>HWC bytes → CHW floats: rescale then normalize, each rounded to float32 as the reference stores them.</summary>
    public static void RescaleNormalize(RgbImage image, ImageProcessorConfig config, Span<float> destination) =>
        RescaleNormalize(image.Pixels, image.Width, image.Height, config, destination);

    /// <inheritdoc cref="RescaleNormalize(RgbImage, ImageProcessorConfig, Span{float})"/>
    public static void RescaleNormalize(ReadOnlySpan<byte> pixels, int width, int height, ImageProcessorConfig config, Span<float> destination)
    {
        int plane = width * height;
        Span<float> table = stackalloc float[256];
        for (int c = 0; c < 3; c++)
        {
            // A byte has 256 values: each is rescaled and normalized once, with the arithmetic below, and looked up after.
            double mean = config.Mean[c];
            double std = config.Std[c];
            for (int level = 0; level < 256; level++)
            {
                float value = level;
                if (config.DoRescale)
                {
                    value = (float)(config.RescaleFactor * value);
                }
                if (config.DoNormalize)
                {
                    value = (float)((value - mean) / std);
                }
                table[level] = value;
            }
            Span<float> channel = destination.Slice(c * plane, plane);
            for (int p = 0; p < plane; p++)
            {
                channel[p] = table[pixels[(p * 3) + c]];
            }
        }
    }
}
