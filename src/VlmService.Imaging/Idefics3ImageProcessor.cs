using VlmService.Native;

namespace VlmService.Imaging;

/// <summary>Tiles of one image: [count, 3, size, size] floats, and the grid they came from (0×0 when not split).</summary>
public sealed record ImageTiles(float[] Pixels, int Count, int TileSize, int Rows, int Cols);

/// <summary>
/// Idefics3 / SmolVLM processing as the reference does it: Lanczos resize so the longest edge is
/// <c>size.longest_edge</c>, rescale and normalize, then (with splitting) a bilinear resize to multiples of the
/// tile size, tiles row by row (the last row and column anchored to the bottom/right edge) and a global tile;
/// without splitting, one bilinear resize to a single tile.
/// </summary>
public sealed class Idefics3ImageProcessor(ImageProcessorConfig config, ITensorResizer resizer)
{
    public ImageProcessorConfig Config { get; } = config;

    public int TileSize => Config.MaxImageSize;

    /// <remarks>
    /// The intermediates live in native memory and are freed as soon as the next step has read them: the image at
    /// <c>size.longest_edge</c> (2048 pixels for SmolVLM) is up to 50 MB as floats, and as dead managed arrays a few
    /// requests' worth of them would stay in the process until the next full collection. Only the tiles, which wait
    /// for the vision encoder, are a managed array.
    /// </remarks>
    public ImageTiles Process(RgbImage image, bool? doImageSplitting = null)
    {
        (NativeBuffer<float> normalized, int width, int height) = ResizeAndNormalize(image);
        using (normalized)
        {
            return Tile(normalized, height, width, doImageSplitting ?? Config.DoImageSplitting);
        }
    }

    /// <summary>The image at <c>size.longest_edge</c>, rescaled and normalized: CHW floats and their width and height.</summary>
    private (NativeBuffer<float> Pixels, int Width, int Height) ResizeAndNormalize(RgbImage image)
    {
        if (!Config.DoResize)
        {
            return Normalize(image.Pixels, image.Width, image.Height);
        }
        (int width, int height) = ResizeRules.Target(Config, image.Width, image.Height);
        if (Config.Resample != 1)
        {
            RgbImage resized = Resampler.Resize(image, width, height, DualEncoderImageProcessor.InterpolationFor(Config.Resample));
            return Normalize(resized.Pixels, resized.Width, resized.Height);
        }
        (NativeBuffer<float>, int, int) normalized = default;
        Resampler.ResizeLanczos3(image, width, height, (pixels, w, h) => normalized = Normalize(pixels, w, h));
        return normalized;
    }

    private (NativeBuffer<float> Pixels, int Width, int Height) Normalize(ReadOnlySpan<byte> pixels, int width, int height)
    {
        var normalized = new NativeBuffer<float>(3 * width * height, hugePages: true);
        ResizeRules.RescaleNormalize(pixels, width, height, Config, normalized.Span);
        return (normalized, width, height);
    }

    private ImageTiles Tile(NativeBuffer<float> normalized, int height, int width, bool split)
    {
        int size = TileSize;
        if (!split)
        {
            var tile = new float[3 * size * size];
            resizer.Resize(normalized.Span, 3, height, width, tile, size, size);
            return new ImageTiles(tile, 1, size, 0, 0);
        }
        (int resizedHeight, int resizedWidth) = SizeForTiles(height, width, size);
        using var resized = new NativeBuffer<float>(3 * resizedHeight * resizedWidth, hugePages: true);
        resizer.Resize(normalized.Span, 3, height, width, resized.Span, resizedHeight, resizedWidth);
        return Split(resized.Span, resizedHeight, resizedWidth, size);
    }

    /// <summary>Height and width rounded up to tile multiples, keeping the aspect ratio as the reference computes it.</summary>
    public static (int Height, int Width) SizeForTiles(int height, int width, int size)
    {
        double aspect = (double)width / height;
        if (width >= height)
        {
            width = (int)Math.Ceiling((double)width / size) * size;
            height = (int)Math.Floor(width / aspect);
            height = (int)Math.Ceiling((double)height / size) * size;
        }
        else
        {
            height = (int)Math.Ceiling((double)height / size) * size;
            width = (int)Math.Floor(height * aspect);
            width = (int)Math.Ceiling((double)width / size) * size;
        }
        return (height, width);
    }

    private ImageTiles Split(ReadOnlySpan<float> pixels, int height, int width, int size)
    {
        if (height <= size && width <= size)
        {
            return new ImageTiles(pixels.ToArray(), 1, size, 0, 0);
        }
        int rows = (int)Math.Ceiling((double)height / size);
        int cols = (int)Math.Ceiling((double)width / size);
        int tileHeight = (int)Math.Ceiling((double)height / rows);
        int tileWidth = (int)Math.Ceiling((double)width / cols);
        int tilePlane = size * size;
        var tiles = new float[((rows * cols) + 1) * 3 * tilePlane];
        int tile = 0;
        for (int r = 0; r < rows; r++)
        {
            int top = r == rows - 1 ? height - tileHeight : r * tileHeight;
            for (int c = 0; c < cols; c++)
            {
                int left = c == cols - 1 ? width - tileWidth : c * tileWidth;
                for (int ch = 0; ch < 3; ch++)
                {
                    for (int y = 0; y < tileHeight; y++)
                    {
                        pixels.Slice((ch * height * width) + ((top + y) * width) + left, tileWidth)
                            .CopyTo(tiles.AsSpan((tile * 3 * tilePlane) + (ch * tilePlane) + (y * size), tileWidth));
                    }
                }
                tile++;
            }
        }
        // The global view goes straight into the last slot.
        resizer.Resize(pixels, 3, height, width, tiles.AsSpan(tile * 3 * tilePlane, 3 * tilePlane), size, size);
        return new ImageTiles(tiles, tile + 1, size, rows, cols);
    }
}
