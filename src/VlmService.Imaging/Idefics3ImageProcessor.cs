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

    public ImageTiles Process(RgbImage image, bool? doImageSplitting = null)
    {
        if (Config.DoResize)
        {
            (int width, int height) = ResizeRules.Target(Config, image.Width, image.Height);
            image = Config.Resample == 1
                ? Resampler.ResizeLanczos3(image, width, height)
                : Resampler.Resize(image, width, height, DualEncoderImageProcessor.InterpolationFor(Config.Resample));
        }
        var normalized = new float[3 * image.Width * image.Height];
        ResizeRules.RescaleNormalize(image, Config, normalized);
        int size = TileSize;
        if (!(doImageSplitting ?? Config.DoImageSplitting))
        {
            return new ImageTiles(resizer.Resize(normalized, 3, image.Height, image.Width, size, size), 1, size, 0, 0);
        }
        (int resizedHeight, int resizedWidth) = SizeForTiles(image.Height, image.Width, size);
        float[] resized = resizer.Resize(normalized, 3, image.Height, image.Width, resizedHeight, resizedWidth);
        return Split(resized, resizedHeight, resizedWidth, size);
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

    private ImageTiles Split(float[] pixels, int height, int width, int size)
    {
        if (height <= size && width <= size)
        {
            return new ImageTiles(pixels, 1, size, 0, 0);
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
                        Array.Copy(pixels, (ch * height * width) + ((top + y) * width) + left,
                            tiles, (tile * 3 * tilePlane) + (ch * tilePlane) + (y * size), tileWidth);
                    }
                }
                tile++;
            }
        }
        float[] global = height == size && width == size ? pixels : resizer.Resize(pixels, 3, height, width, size, size);
        Array.Copy(global, 0, tiles, tile * 3 * tilePlane, 3 * tilePlane);
        return new ImageTiles(tiles, tile + 1, size, rows, cols);
    }
}
