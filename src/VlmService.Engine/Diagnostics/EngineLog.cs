using Microsoft.Extensions.Logging;

namespace VlmService.Engine.Diagnostics;

internal static partial class EngineLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Loaded model {ModelId} ({Family}) from {Folder} on {Provider} in {Milliseconds:F0} ms")]
    public static partial void ModelLoaded(ILogger logger, string modelId, string family, string folder, string provider, double milliseconds);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Model folder {Folder} could not be loaded: {Reason}")]
    public static partial void ModelFailed(ILogger logger, string folder, string reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "CUDA was not used for {ModelId}: {Reason}; running on CPU")]
    public static partial void CudaFallback(ILogger logger, string modelId, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning,
        Message = "No Models:Root configured: serving built-in DEMO models from {Folder}. Their weights are random, so their outputs are meaningless. " +
                  "To serve real models, start with --Models:Root=<folder of model folders> (see README).")]
    public static partial void DemoModels(ILogger logger, string folder);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Models ready: {Count} loaded, {Failed} failed")]
    public static partial void ModelsReady(ILogger logger, int count, int failed);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Debug, Message = "Stage {Stage} ran a batch of {Size} in {Milliseconds:F1} ms")]
    public static partial void BatchRan(ILogger logger, string stage, int size, double milliseconds);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Error, Message = "Stage {Stage} failed a batch of {Size}")]
    public static partial void BatchFailed(ILogger logger, Exception error, string stage, int size);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Model {ModelId} has no onnx/model.onnx; zero-shot scores use logit_scale_init_value from config.json")]
    public static partial void ScaleFromConfig(ILogger logger, string modelId);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Warning, Message = "Models:IntraOpThreads {Requested} ignored: the process's shared ONNX Runtime pool already runs {Threads} threads")]
    public static partial void SharedThreadsFixed(ILogger logger, int requested, int threads);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Debug, Message = "C heap trimmed with {FreeMiB:F0} MiB free in it")]
    public static partial void NativeHeapTrimmed(ILogger logger, double freeMiB);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning,
        Message = "Model {ModelId}'s decoder reads a layer's past after a later layer has begun, so each decode step holds its KV cache twice")]
    public static partial void PresentsNeedOwnBuffers(ILogger logger, string modelId);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "Model {ModelId} keeps its KV caches in {Memory} memory between decode steps")]
    public static partial void CacheOnDevice(ILogger logger, string modelId, string memory);
}
