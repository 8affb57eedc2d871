namespace VlmService.Imaging;

public enum Interpolation
{
    Nearest,
    Bilinear,
    Bicubic,
}

/// <summary>Resizing as the reference does it for PIL's nearest/bilinear/bicubic: a libvips affine scale of the 8-bit image.</summary>
public static unsafe class Resampler
{
    public static RgbImage Resize(RgbImage image, int width, int height, Interpolation interpolation)
    {
        if (image.Width == width && image.Height == height)
        {
            return image;
        }
        Vips.EnsureStarted();
        fixed (byte* pixels = image.Pixels)
        {
            using var source = new VipsImage(Vips.NewFromMemoryCopy(pixels, (nuint)image.Pixels.Length, image.Width, image.Height, RgbImage.Channels, Vips.FormatUChar), "Wrapping pixels");
            using VipsImage scaled = Affine(source, width, height, interpolation);
            return new RgbImage(scaled.Width, scaled.Height, scaled.ToBytes());
        }
    }

    /// <summary>The affine scale of <paramref name="source"/> to <paramref name="width"/>×<paramref name="height"/>, as a libvips image (bands resampled independently).</summary>
    internal static VipsImage Affine(VipsImage source, int width, int height, Interpolation interpolation)
    {
        string name = interpolation switch
        {
            Interpolation.Nearest => "nearest",
            Interpolation.Bilinear => "bilinear",
            _ => "bicubic",
        };
        nint interpolator = Vips.InterpolateNew(name);
        try
        {
            double sx = (double)width / source.Width;
            double sy = (double)height / source.Height;
            return source.Apply("Resize", (i, o) => Vips.Affine(i, (nint*)o, sx, 0, 0, sy, "interpolate", interpolator, 0));
        }
        finally
        {
            Vips.Unref(interpolator);
        }
    }

    /// <summary>
    /// Lanczos3 resize to exactly <paramref name="width"/>×<paramref name="height"/>, as the reference does for PIL's
    /// LANCZOS through sharp: libvips' resize with horizontal and vertical scales and the lanczos3 kernel. The resized
    /// HWC pixels and their size are lent to <paramref name="use"/> while they are still in libvips' memory, so an
    /// image upscaled to 2048 pixels (9 MB) is never copied into a managed array.
    /// </summary>
    public static void ResizeLanczos3(RgbImage image, int width, int height, PixelsAction use)
    {
        if (image.Width == width && image.Height == height)
        {
            use(image.Pixels, width, height);
            return;
        }
        Vips.EnsureStarted();
        fixed (byte* pixels = image.Pixels)
        {
            using var source = new VipsImage(Vips.NewFromMemoryCopy(pixels, (nuint)image.Pixels.Length, image.Width, image.Height, RgbImage.Channels, Vips.FormatUChar), "Wrapping pixels");
            // Scales as the reference computes them: 1 / (input / target), written with round-trip precision.
            double hscale = 1.0 / ((double)image.Width / width);
            double vscale = 1.0 / ((double)image.Height / height);
            string options = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"scale={hscale:R},vscale={vscale:R},kernel=lanczos3");
            using VipsImage resized = RunOperation("resize", source, options);
            resized.UsePixels(pixels => use(pixels, resized.Width, resized.Height));
        }
    }

    /// <summary>
    /// Runs a libvips operation through its object API: the input image set as a property and every other
    /// argument from a string, so no floating-point value crosses a variadic call.
    /// </summary>
    private static VipsImage RunOperation(string name, VipsImage input, string options)
    {
        nint operation = Vips.OperationNew(name);
        if (operation == 0)
        {
            throw new ImageException(ImageErrorKind.Undecodable, $"libvips has no operation '{name}': {Vips.LastError()}");
        }
        try
        {
            Vips.ObjectSetPointer(operation, "in", input.Handle, 0);
            if (Vips.ObjectSetFromString(operation, options) != 0)
            {
                throw new ImageException(ImageErrorKind.Undecodable, $"{name}: bad options '{options}': {Vips.LastError()}");
            }
            nint built = Vips.CacheOperationBuild(operation);
            if (built == 0)
            {
                throw new ImageException(ImageErrorKind.Undecodable, $"{name} failed: {Vips.LastError()}");
            }
            try
            {
                nint output;
                Vips.ObjectGetPointer(built, "out", &output, 0);
                return new VipsImage(output, name);
            }
            finally
            {
                Vips.ObjectUnrefOutputs(built);
                Vips.Unref(built);
            }
        }
        finally
        {
            Vips.Unref(operation);
        }
    }

    /// <summary>Where a center crop of <paramref name="width"/>×<paramref name="height"/> starts in an image of the given size (negative where it pads).</summary>
    internal static (int Left, int Top) CenterCropOffset(int imageWidth, int imageHeight, int width, int height) =>
        ((int)Math.Floor((imageWidth - width) / 2.0), (int)Math.Floor((imageHeight - height) / 2.0));

    /// <summary>Crops to <paramref name="width"/>×<paramref name="height"/> around the center (floor offsets), padding with black when smaller.</summary>
    public static RgbImage CenterCrop(RgbImage image, int width, int height)
    {
        if (image.Width == width && image.Height == height)
        {
            return image;
        }
        var output = new byte[width * height * RgbImage.Channels];
        (int left, int top) = CenterCropOffset(image.Width, image.Height, width, height);
        for (int y = 0; y < height; y++)
        {
            int sourceY = y + top;
            if (sourceY < 0 || sourceY >= image.Height)
            {
                continue;
            }
            for (int x = 0; x < width; x++)
            {
                int sourceX = x + left;
                if (sourceX < 0 || sourceX >= image.Width)
                {
                    continue;
                }
                Buffer.BlockCopy(image.Pixels, ((sourceY * image.Width) + sourceX) * 3, output, ((y * width) + x) * 3, 3);
            }
        }
        return new RgbImage(width, height, output);
    }
}
