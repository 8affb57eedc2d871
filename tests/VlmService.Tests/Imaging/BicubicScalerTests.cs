using VlmService.Imaging;

namespace VlmService.Tests.Imaging;

/// <summary>Bicubic resizing streams the decoded rows through the service's own scaler; libvips' affine is the reference for its pixels.</summary>
[Collection(ModelFoldersCollection.Name)]
public sealed class BicubicScalerTests(ModelFolders models)
{
    /// <summary>CLIP's own rule, then scales down, up, by odd factors and unevenly per axis.</summary>
    private static readonly (double X, double Y)[] Scales = [(0, 0), (0.31, 0.77), (2.3, 1.7), (0.5, 0.5), (0.113, 0.2), (1.0, 0.45), (1.37, 1.0)];

    [Fact]
    public void Streamed_bicubic_scaling_gives_libvips_affine_pixels_on_every_decodable_test_image()
    {
        var config = ImageProcessorConfig.FromFile(Path.Combine(models.Folder("clip"), "preprocessor_config.json"));
        int compared = 0;
        foreach (string path in TestPaths.Photos.Concat(TestPaths.EdgeImages).Where(p => !p.Contains("bomb", StringComparison.Ordinal)))
        {
            byte[] bytes = File.ReadAllBytes(path);
            RgbImage full;
            try
            {
                full = ImageDecoder.Decode(bytes, ImageLimits.Default);
            }
            catch (ImageException)
            {
                continue;
            }
            string name = Path.GetFileName(path);
            foreach ((double scaleX, double scaleY) in Scales)
            {
                Func<int, int, (int, int)> target = scaleX == 0
                    ? (w, h) => ResizeRules.Target(config, w, h)
                    : (w, h) => (Math.Max(1, (int)(w * scaleX)), Math.Max(1, (int)(h * scaleY)));
                (int width, int height) = target(full.Width, full.Height);
                RgbImage expected = Resampler.Resize(full, width, height, Interpolation.Bicubic);

                RgbImage streamed = ImageDecoder.DecodeResized(bytes, ImageLimits.Default, target, Interpolation.Bicubic);
                Assert.True((expected.Width, expected.Height) == (streamed.Width, streamed.Height),
                    $"{name} at {scaleX}×{scaleY}: {streamed.Width}×{streamed.Height} against libvips' {expected.Width}×{expected.Height}");
                AssertSamePixels(expected, streamed, $"{name} at {scaleX}×{scaleY}");

                // A center crop computes only the window, with the same positions as the whole row.
                (int cropWidth, int cropHeight) = (Math.Min(224, width), Math.Min(200, height));
                RgbImage cropped = ImageDecoder.DecodeResized(bytes, ImageLimits.Default, target, Interpolation.Bicubic, centerCrop: (cropWidth, cropHeight));
                AssertSamePixels(Resampler.CenterCrop(expected, cropWidth, cropHeight), cropped, $"{name} at {scaleX}×{scaleY}, cropped");
                compared++;
            }
        }
        Assert.True(compared >= 25 * Scales.Length, $"only {compared} resizes compared");
    }

    [Fact]
    public void A_crop_larger_than_the_resized_image_is_left_to_the_caller()
    {
        byte[] bytes = File.ReadAllBytes(TestPaths.Photos.First());
        RgbImage resized = ImageDecoder.DecodeResized(bytes, ImageLimits.Default, (w, h) => (w / 8, h / 8), Interpolation.Bicubic, centerCrop: (4000, 10));
        RgbImage whole = ImageDecoder.DecodeResized(bytes, ImageLimits.Default, (w, h) => (w / 8, h / 8), Interpolation.Bicubic);
        Assert.Equal((whole.Width, whole.Height), (resized.Width, resized.Height));
        AssertSamePixels(whole, resized, "uncropped");
    }

    [Fact]
    public void Scaling_into_a_reused_array_writes_every_pixel_of_it()
    {
        var config = ImageProcessorConfig.FromFile(Path.Combine(models.Folder("clip"), "preprocessor_config.json"));
        foreach (string path in TestPaths.Photos.Take(3))
        {
            byte[] bytes = File.ReadAllBytes(path);
            RgbImage fresh = ScaleForClip(bytes, reusablePixels: null);
            // Whatever the array held before (all dark, all bright), the result is the fresh one, in that same array.
            foreach (byte stale in new byte[] { 0, 255 })
            {
                byte[] reused = Enumerable.Repeat(stale, fresh.Pixels.Length).ToArray();
                RgbImage into = ScaleForClip(bytes, reused);
                Assert.Same(reused, into.Pixels);
                AssertSamePixels(fresh, into, $"{Path.GetFileName(path)} over {stale}");
            }
            // An array of another size is left alone.
            byte[] wrongSize = new byte[fresh.Pixels.Length - 3];
            Assert.NotSame(wrongSize, ScaleForClip(bytes, wrongSize).Pixels);
        }

        RgbImage ScaleForClip(byte[] bytes, byte[]? reusablePixels) => ImageDecoder.DecodeResized(bytes, ImageLimits.Default,
            (w, h) => ResizeRules.Target(config, w, h), Interpolation.Bicubic, centerCrop: (config.CropWidth, config.CropHeight), reusablePixels: reusablePixels);
    }

    [Fact]
    public void The_vector_and_scalar_horizontal_passes_give_the_same_pixels()
    {
        // Noise reaches every byte value and every stencil position; the sizes cover shrinking, enlarging and cropping.
        var random = new Random(7);
        foreach ((int sourceWidth, int sourceHeight, int width, int height) in new[] { (640, 480, 298, 224), (97, 61, 300, 17), (33, 200, 5, 90) })
        {
            byte[] source = new byte[sourceWidth * sourceHeight * 3];
            random.NextBytes(source);
            RgbImage vector = Scale(source, sourceWidth, sourceHeight, width, height, vectorised: true);
            RgbImage scalar = Scale(source, sourceWidth, sourceHeight, width, height, vectorised: false);
            AssertSamePixels(scalar, vector, $"{sourceWidth}×{sourceHeight} to {width}×{height}");
            Assert.Contains(vector.Pixels, value => value is > 0 and < 255);
        }

        static RgbImage Scale(byte[] source, int sourceWidth, int sourceHeight, int width, int height, bool vectorised)
        {
            var scaler = new BicubicScaler(sourceWidth, sourceHeight, 3, width, height, centerCrop: (Math.Min(width, 224), height), vectorised);
            for (int y = 0; y < sourceHeight; y++)
            {
                scaler.Accept(source.AsSpan(y * sourceWidth * 3, sourceWidth * 3));
            }
            scaler.Finish();
            return new RgbImage(scaler.Width, scaler.Height, scaler.Pixels);
        }
    }

    private static void AssertSamePixels(RgbImage expected, RgbImage actual, string what)
    {
        Assert.True((expected.Width, expected.Height) == (actual.Width, actual.Height), $"{what}: {actual.Width}×{actual.Height} against {expected.Width}×{expected.Height}");
        int first = expected.Pixels.AsSpan().CommonPrefixLength(actual.Pixels);
        Assert.True(first == expected.Pixels.Length,
            $"{what}: the pixels differ first at byte {first} (pixel {first / 3}: {(first < actual.Pixels.Length ? actual.Pixels[first] : -1)} against {(first < expected.Pixels.Length ? expected.Pixels[first] : -1)})");
    }
}
