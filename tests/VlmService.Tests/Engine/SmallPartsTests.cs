using System.Text.Json;
using VlmService.Contracts;
using VlmService.Engine.Caching;
using VlmService.Engine.Models;
using VlmService.Engine.Pipelines;
using VlmService.Infrastructure;
using VlmService.Native;

namespace VlmService.Tests.Engine;

public sealed class SmallPartsTests
{
    [Fact]
    public void Logit_calibration_recovers_scale_and_bias_from_points_on_a_line()
    {
        double[] cosines = [0.12, -0.05, 0.31, 0.02];
        LogitCalibration fit = LogitCalibration.Fit(cosines, cosines.Select(c => (30 * c) - 2).ToArray());
        Assert.Equal(30, fit.Scale, 9);
        Assert.Equal(-2, fit.Bias, 9);
        Assert.Throws<InvalidDataException>(() => LogitCalibration.Fit([0.1, 0.1], [1, 2]));
    }

    [Fact]
    public void Templates_replace_only_the_first_placeholder()
    {
        Assert.Equal("a photo of a cat.", ZeroShotClassifier.Fill("a photo of a {}.", "cat"));
        Assert.Equal("cat and {}", ZeroShotClassifier.Fill("{} and {}", "cat"));
        Assert.Equal("no placeholder", ZeroShotClassifier.Fill("no placeholder", "cat"));
    }

    [Fact]
    public void Pixel_buffers_reuse_returned_arrays_up_to_their_limit_and_batch_memory_for_every_batch()
    {
        using var buffers = new PixelBuffers(imageLength: 12, batchLimit: 4, imagesKept: 2);
        float[][] rented = [buffers.RentImage(), buffers.RentImage(), buffers.RentImage()];
        Assert.All(rented, image => Assert.Equal(12, image.Length));
        foreach (float[] image in rented)
        {
            buffers.ReturnImage(image);
        }
        buffers.ReturnImage(new float[5]);
        float[][] again = [buffers.RentImage(), buffers.RentImage(), buffers.RentImage()];
        // Two were kept (the limit); the third and the wrong-sized one were left to the collector.
        Assert.Equal(2, again.Count(image => rented.Contains(image)));
        Assert.All(again, image => Assert.Equal(12, image.Length));

        NativeBuffer<float> batch = buffers.RentBatch();
        Assert.Equal(4 * 12, batch.Length);
        using NativeBuffer<float> second = buffers.RentBatch();
        Assert.NotSame(batch, second);
        buffers.ReturnBatch(batch);
        Assert.Same(batch, buffers.RentBatch());
    }

    [Fact]
    public void Lru_cache_evicts_the_least_recently_used_entry()
    {
        var cache = new LruCache<string, int>(2);
        cache.Set("a", 1);
        cache.Set("b", 2);
        Assert.True(cache.TryGet("a", out _));
        cache.Set("c", 3);
        Assert.False(cache.TryGet("b", out _));
        Assert.True(cache.TryGet("a", out int a));
        Assert.Equal(1, a);
        Assert.Equal(2, cache.Count);
    }

    [Theory]
    [InlineData("aGk=", new byte[] { 0x68, 0x69 })]
    [InlineData("data:image/png;base64,aGk=", new byte[] { 0x68, 0x69 })]
    [InlineData("  aGk=\n", new byte[] { 0x68, 0x69 })]
    [InlineData("data:IMAGE/JPEG;BASE64,aG\r\nk=", new byte[] { 0x68, 0x69 })]
    public void Image_fields_accept_base64_and_base64_data_urls(string field, byte[] expected) =>
        Assert.Equal(expected, ImageSource.Decode(ReadField(field), "image"));

    [Theory]
    [InlineData(null, "required")]
    [InlineData("http://example.test/a.png", "not enabled")]
    [InlineData("data:image/png,abc", "base64")]
    [InlineData("not base64!", "base64")]
    public void Image_fields_are_refused_with_the_reason(string? field, string reason)
    {
        var error = Assert.Throws<RequestValidationException>(() => ImageSource.Decode(ReadField(field), "image"));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_photo_read_from_a_json_field_is_the_same_bytes_whether_its_text_is_escaped_or_not()
    {
        byte[] photo = File.ReadAllBytes(TestPaths.Photos.First());
        string base64 = Convert.ToBase64String(photo);
        Assert.Contains('+', base64);

        // As sent by most clients: the base64 as it is, read straight from the body's bytes.
        Assert.Equal(photo, ImageSource.Decode(JsonSerializer.Deserialize<ImageField>($"\"{base64}\""), "image"));
        // As .NET's serializer sends it: every '+' escaped as \u002B, so the text is unescaped before decoding.
        string escaped = JsonSerializer.Serialize(base64);
        Assert.Contains("\\u002B", escaped, StringComparison.Ordinal);
        Assert.Equal(photo, ImageSource.Decode(JsonSerializer.Deserialize<ImageField>(escaped), "image"));
    }

    [Fact]
    public void An_image_field_that_is_not_a_string_makes_the_json_malformed() =>
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<ImageField>("42"));

    /// <summary>The field as a JSON body carries it (escaped by the serializer where JSON needs it), read back.</summary>
    private static ImageField? ReadField(string? field) => JsonSerializer.Deserialize<ImageField>(JsonSerializer.Serialize(field));
}
