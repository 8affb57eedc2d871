using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using VlmService.Engine.Generation;
using VlmService.Engine.Models;
using VlmService.Imaging;
using VlmService.Tests.Api;

namespace VlmService.Tests.Generation;

[Collection(ModelFoldersCollection.Name)]
public sealed class PromptConformanceTests(ModelFolders models)
{
    /// <summary>Every 97th pixel value is compared, bit for bit: a split image's tensor (13 views of 512²) is 40 MB as JSON.</summary>
    private const int PixelStride = 97;

    [Theory]
    [InlineData("smolvlm", "COCO_val2014_000000027440.jpg", null, 13)]
    [InlineData("smolvlm", "n01440764_tench.JPEG", false, 1)]
    [InlineData("smolvlm", "panorama.jpg", null, 0)]
    [InlineData("llava", "COCO_val2014_000000033645.jpg", null, 0)]
    public async Task Prompt_ids_and_pixel_tensors_equal_the_reference(string family, string image, bool? split, int expectedTiles)
    {
        string path = File.Exists(Path.Combine(TestPaths.Images, "photos", image)) ? Path.Combine(TestPaths.Images, "photos", image) : Path.Combine(TestPaths.Images, "edge", image);
        var cases = new[] { new { image = path, question = "What is in this picture?", max_new_tokens = 1, do_image_splitting = split, pixel_stride = PixelStride } };
        JsonNode expected = ReferenceRunner.RunWithRequest("generate.mjs", new { folder = models.Folder(family), family, cases })[0]!;
        await using var factory = new VlmServiceFactory(models.Root);
        await factory.ReadyClientAsync();
        var model = (GenerativeModel)factory.Services.GetRequiredService<ModelRegistry>().Resolve(Path.GetFileName(models.Folder(family)), Capabilities.Vqa);
        ProcessedImage processed = model.ProcessImage(ImageDecoder.Decode(File.ReadAllBytes(path), ImageLimits.Default), split);
        Assert.Equal(expected["prompt_ids"]!.AsArray().Select(x => x!.GetValue<int>()), model.BuildPrompt("What is in this picture?", processed.Layout));
        long[] dims = family == "smolvlm" ? [1, processed.Views, 3, processed.Height, processed.Width] : [1, 3, processed.Height, processed.Width];
        Assert.Equal(expected["pixel_dims"]!.AsArray().Select(x => x!.GetValue<long>()), dims);
        Assert.Equal(processed.Views * 3 * processed.Height * processed.Width, processed.Pixels.Length);
        float[] sample = expected["pixel_sample"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray();
        Assert.Equal((processed.Pixels.Length + PixelStride - 1) / PixelStride, sample.Length);
        int differing = sample.Where((value, i) => value != processed.Pixels[i * PixelStride]).Count();
        Assert.True(differing == 0, $"{image}: {differing} of {sample.Length} sampled pixel values differ");
        if (expectedTiles > 0)
        {
            Assert.Equal(expectedTiles, processed.Views);
        }
    }
}
