using VlmService.Imaging;

namespace VlmService.Tests.Imaging;

/// <summary>Images:JpegShrinkMargin: JPEGs decoded at reduced scale when the model input is much smaller.</summary>
[Collection(ModelFoldersCollection.Name)]
public sealed class JpegShrinkTests(ModelFolders models)
{
    [Theory]
    [InlineData(480, 224, 2)]
    [InlineData(1080, 224, 4)]
    [InlineData(1080, 448, 2)]
    [InlineData(4000, 224, 8)]
    [InlineData(300, 224, 1)]
    public void The_factor_is_the_largest_that_keeps_the_short_side(int shortSide, int needed, int expected) =>
        Assert.Equal(expected, ImageDecoder.JpegShrink(shortSide, needed));

    [Fact]
    public void A_shrunk_decode_is_smaller_and_its_model_input_stays_close_to_the_full_decode()
    {
        string path = TestPaths.Photos.First(p => p.EndsWith("COCO_val2014_000000027440.jpg", StringComparison.Ordinal));
        byte[] jpeg = File.ReadAllBytes(path);
        RgbImage full = ImageDecoder.Decode(jpeg, ImageLimits.Default);
        RgbImage shrunk = ImageDecoder.Decode(jpeg, ImageLimits.Default, shrinkToShortSide: 224);
        Assert.Equal((full.Width / 2, full.Height / 2), (shrunk.Width, shrunk.Height));

        var processor = new DualEncoderImageProcessor(ImageProcessorConfig.FromFile(Path.Combine(models.Folder("clip"), "preprocessor_config.json")));
        float[] exact = processor.Process(full);
        float[] fast = processor.Process(shrunk);
        double mean = exact.Zip(fast, (a, b) => Math.Abs(a - b)).Average();
        // Not equal (a DCT-domain downscale is smoother than resampling the full frame) but close: 0.107 measured here,
        // in normalized units where one 8-bit level is about 0.015.
        Assert.InRange(mean, 1e-4, 0.15);

        byte[] png = File.ReadAllBytes(TestPaths.EdgeImages.First(p => p.EndsWith("rgba.png", StringComparison.Ordinal)));
        RgbImage pngFull = ImageDecoder.Decode(png, ImageLimits.Default);
        RgbImage pngAsked = ImageDecoder.Decode(png, ImageLimits.Default, shrinkToShortSide: 1);
        Assert.Equal((pngFull.Width, pngFull.Height), (pngAsked.Width, pngAsked.Height));
    }
}
