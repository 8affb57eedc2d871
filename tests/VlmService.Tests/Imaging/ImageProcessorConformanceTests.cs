using System.Text.Json.Nodes;
using VlmService.Imaging;

namespace VlmService.Tests.Imaging;

[Collection(ModelFoldersCollection.Name)]
public sealed class ImageProcessorConformanceTests(ModelFolders models)
{
    /// <summary>Formats the reference decodes but the service refuses (415): vector and TIFF input.</summary>
    private static readonly HashSet<string> RefusedByPolicy = ["circle.svg", "photo.tif"];

    [Theory]
    [InlineData("clip")]
    [InlineData("siglip")]
    public void Pixel_values_match_the_reference_on_every_decodable_test_image(string family)
    {
        string folder = models.Folder(family);
        string[] images = [.. TestPaths.Photos, .. TestPaths.EdgeImages.Where(p => !p.Contains("bomb", StringComparison.Ordinal))];
        JsonNode reference = ReferenceRunner.RunWithRequest("dual-encoder.mjs", new { folder, family, images, texts = Array.Empty<string>() });
        var processor = new DualEncoderImageProcessor(ImageProcessorConfig.FromFile(Path.Combine(folder, "preprocessor_config.json")));
        int compared = 0;
        foreach (JsonNode? entry in reference["images"]!.AsArray())
        {
            string path = entry!["path"]!.GetValue<string>();
            if (RefusedByPolicy.Contains(Path.GetFileName(path)))
            {
                var refused = Assert.Throws<ImageException>(() => ImageDecoder.Decode(File.ReadAllBytes(path), ImageLimits.Default));
                Assert.Equal(ImageErrorKind.UnsupportedFormat, refused.Kind);
                continue;
            }
            if (entry["error"] is not null)
            {
                // The reference refuses it; so must the service (tested with the decoder's error kinds).
                Assert.ThrowsAny<Exception>(() => processor.Process(ImageDecoder.Decode(File.ReadAllBytes(path), ImageLimits.Default)));
                continue;
            }
            float[] expected = entry["pixel_values"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
            float[] actual;
            try
            {
                // As served: the resize runs inside the decoder's pipeline, and equals decoding first, bit for bit.
                byte[] bytes = File.ReadAllBytes(path);
                actual = processor.Process(bytes, ImageLimits.Default);
                float[] decodedFirst = processor.Process(ImageDecoder.Decode(bytes, ImageLimits.Default));
                int differing = decodedFirst.Zip(actual).Count(p => p.First != p.Second);
                Assert.True(differing == 0, $"{Path.GetFileName(path)}: {differing} values differ between the fused and the separate resize");
            }
            catch (ImageException ex)
            {
                throw new InvalidOperationException($"{Path.GetFileName(path)}: {ex.Message}", ex);
            }
            Assert.Equal(expected.Length, actual.Length);
            float maxDelta = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(maxDelta <= 0.02f, $"{Path.GetFileName(path)}: max |Δ| {maxDelta}");
            compared++;
        }
        Assert.True(compared >= 30, $"only {compared} images compared");
    }
}
