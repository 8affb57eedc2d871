using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using VlmService.Engine.Batching;
using VlmService.Engine.Diagnostics;
using VlmService.Engine.Generation;
using VlmService.Imaging;
using VlmService.Onnx;

namespace VlmService.Bench;

/// <summary>
/// Image-text-to-text folders loaded in-process as the service loads them (default batching), and the /vqa
/// prompt the load generator sends; holds what the models share until disposed.
/// </summary>
internal sealed class GenerativeBenchModels : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly OrtTensorResizer _resizer = new();
    private readonly EngineMetrics _metrics;

    public GenerativeBenchModels() => _metrics = new EngineMetrics(_services.GetRequiredService<IMeterFactory>());

    /// <param name="cacheOnDevice">As Generation:KvCacheOnDevice; null lets the provider decide.</param>
    /// <param name="visionArenaKeptViews">As Generation:VisionArenaKeptViews.</param>
    /// <param name="settings">Where the sessions run; null takes --provider's (<see cref="RawBaseline.Settings"/>).</param>
    public GenerativeModel Load(string folder, bool? cacheOnDevice, int visionArenaKeptViews = GenerationOptions.DefaultVisionArenaKeptViews, SessionSettings? settings = null) =>
        GenerativeModel.Load(Path.GetFileName(folder), GenerativeFamilies.Idefics3, folder, false, settings ?? RawBaseline.Settings, _resizer, new BatchingOptions(),
            cacheOnDevice, visionArenaKeptViews, TimeProvider.System, _metrics, NullLogger.Instance);

    /// <summary>The photo at <paramref name="imagePath"/> processed for <paramref name="model"/>, and the prompt's token ids.</summary>
    public static (ProcessedImage Image, int[] Ids) Prompt(GenerativeModel model, string imagePath, bool split)
    {
        ProcessedImage image = model.ProcessImage(ImageDecoder.Decode(File.ReadAllBytes(imagePath), ImageLimits.Default), split);
        return (image, model.BuildPrompt("What is in this picture?", image.Layout));
    }

    public void Dispose()
    {
        _resizer.Dispose();
        _services.Dispose();
    }
}
