using VlmService.Imaging;

namespace VlmService.Tests.Imaging;

/// <summary>
/// As served, plain JPEGs decode through libjpeg-turbo and other images stream through libvips' pipeline (sequential
/// access) unless they must be turned upright; either way the pixels are those of libvips decoding the whole image.
/// </summary>
[Collection(ModelFoldersCollection.Name)]
public sealed class PixelAccessTests(ModelFolders models)
{
    [Fact]
    public void The_served_decode_gives_the_same_pixels_as_random_access_on_every_decodable_test_image()
    {
        var processor = new DualEncoderImageProcessor(ImageProcessorConfig.FromFile(Path.Combine(models.Folder("clip"), "preprocessor_config.json")));
        int compared = 0;
        foreach (string path in TestPaths.Photos.Concat(TestPaths.EdgeImages).Where(p => !p.Contains("bomb", StringComparison.Ordinal)))
        {
            byte[] bytes = File.ReadAllBytes(path);
            RgbImage random;
            try
            {
                random = ImageDecoder.Decode(bytes, ImageLimits.Default, ImageDecoder.PixelAccess.Random);
            }
            catch (ImageException)
            {
                // Refused either way: the refusals themselves are tested against the reference.
                Assert.Throws<ImageException>(() => ImageDecoder.Decode(bytes, ImageLimits.Default, ImageDecoder.PixelAccess.Sequential));
                continue;
            }
            RgbImage streamed = ImageDecoder.Decode(bytes, ImageLimits.Default, ImageDecoder.PixelAccess.Sequential);
            string name = Path.GetFileName(path);
            Assert.True((random.Width, random.Height) == (streamed.Width, streamed.Height), $"{name}: {random.Width}×{random.Height} against {streamed.Width}×{streamed.Height}");
            Assert.True(random.Pixels.AsSpan().SequenceEqual(streamed.Pixels), $"{name}: the pixels differ");

            RgbImage resizedRandom = DecodeForClip(bytes, ImageDecoder.PixelAccess.Random);
            RgbImage resizedStreamed = DecodeForClip(bytes, ImageDecoder.PixelAccess.Sequential);
            Assert.True(resizedRandom.Pixels.AsSpan().SequenceEqual(resizedStreamed.Pixels), $"{name}: the resized pixels differ");
            compared++;
        }
        Assert.True(compared >= 25, $"only {compared} images compared");

        RgbImage DecodeForClip(byte[] bytes, ImageDecoder.PixelAccess access) => ImageDecoder.DecodeResized(bytes, ImageLimits.Default,
            (w, h) => ResizeRules.Target(processor.Config, w, h), Interpolation.Bicubic, shrinkToShortSide: 0, access);
    }
}
