using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using VlmService.Engine.Batching;
using VlmService.Engine.Diagnostics;
using VlmService.Engine.Memory;
using VlmService.Engine.Models;
using VlmService.Engine.Pipelines;

namespace VlmService.Engine;

public static class EngineServiceCollectionExtensions
{
    /// <summary>The engine: options (validated at start), registry and background loader, pipelines, metrics.</summary>
    public static IServiceCollection AddVlmEngine(this IServiceCollection services)
    {
        services.AddOptions<ModelsOptions>().BindConfiguration(ModelsOptions.Section).ValidateOnStart();
        services.AddOptions<BatchingOptions>().BindConfiguration(BatchingOptions.Section).ValidateOnStart();
        services.AddOptions<ImageOptions>().BindConfiguration(ImageOptions.Section).ValidateOnStart();
        services.AddOptions<MemoryOptions>().BindConfiguration(MemoryOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ModelsOptions>, EngineOptionsValidator>();
        services.AddSingleton<IValidateOptions<BatchingOptions>, EngineOptionsValidator>();
        services.AddSingleton<IValidateOptions<ImageOptions>, EngineOptionsValidator>();
        services.AddSingleton<IValidateOptions<MemoryOptions>, EngineOptionsValidator>();
        services.AddSingleton<IValidateOptions<Generation.GenerationOptions>, EngineOptionsValidator>();
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<EngineMetrics>();
        services.AddSingleton<ModelRegistry>();
        services.AddHostedService<ModelLoader>();
        services.AddHostedService<NativeHeapTrimmer>();
        services.AddSingleton<ImageDecoding>();
        services.AddSingleton<EmbeddingService>();
        services.AddSingleton<ZeroShotClassifier>();
        services.AddOptions<Generation.GenerationOptions>().BindConfiguration(Generation.GenerationOptions.Section).ValidateOnStart();
        services.AddSingleton<Generation.OrtTensorResizer>();
        services.AddSingleton<Generation.VisionFeatureCache>();
        services.AddSingleton<Generation.GenerationService>();
        services.AddSingleton<Generation.DescribeClassifier>();
        return services;
    }
}
