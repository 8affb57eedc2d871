using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VlmService.Engine.Batching;
using VlmService.Engine.Diagnostics;
using VlmService.Onnx;

namespace VlmService.Engine.Models;

/// <summary>
/// Loads every model folder in the background after start, so health checks answer at once and readiness
/// flips when all folders are loaded (or reported failed) and warmed. One bad folder never stops the others.
/// </summary>
internal sealed class ModelLoader(
    ModelRegistry registry,
    Generation.OrtTensorResizer resizer,
    IOptions<ModelsOptions> models,
    IOptions<BatchingOptions> batching,
    IOptions<Generation.GenerationOptions> generation,
    TimeProvider time,
    EngineMetrics metrics,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger("VlmService.Models");

    /// <summary>Shared by every CLIP/SigLIP stage; null with one lane (each batch on the shared pool).</summary>
    private readonly ExecutionLanes? _encoderLanes = batching.Value.EncoderLanes > 1 ? new ExecutionLanes(batching.Value.EncoderLanes) : null;

    /// <summary>
    /// Threads of each CLIP/SigLIP run with lanes, which split the shared pool's cores between them; null (the shared
    /// pool) without. ONNX Runtime runs concurrent runs of one session on their callers' threads, so one copy of the
    /// weights serves every lane.
    /// </summary>
    private int? EncoderThreadsPerRun => _encoderLanes?.ThreadsPerRun(models.Value.IntraOpThreads > 0 ? models.Value.IntraOpThreads : Environment.ProcessorCount);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() => LoadAll(stoppingToken), stoppingToken);

    private void LoadAll(CancellationToken stoppingToken)
    {
        try
        {
            if (!Onnx.InferenceSession.ConfigureSharedThreads(models.Value.IntraOpThreads))
            {
                EngineLog.SharedThreadsFixed(_logger, models.Value.IntraOpThreads, Onnx.InferenceSession.SharedThreads);
            }
            string root = models.Value.Root ?? DemoModels.Ensure(models.Value.DemoCache);
            if (models.Value.Root is null)
            {
                EngineLog.DemoModels(_logger, root);
            }
            foreach (string folder in Directory.EnumerateDirectories(root).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal))
            {
                stoppingToken.ThrowIfCancellationRequested();
                LoadOne(folder, isDemo: models.Value.Root is null && DemoModels.IsDemo(Path.GetFileName(folder)));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            EngineLog.ModelFailed(_logger, models.Value.Root ?? "(demo cache)", ex.Message);
            registry.AddFailure(new ModelLoadFailure("*", models.Value.Root ?? string.Empty, ex.Message));
        }
        finally
        {
            // Loading reads whole graphs and runs one-off sessions (logit-scale measurement from model.onnx); give
            // the freed native memory back rather than keeping the loading peak for the life of the process.
            Native.NativeHeap.Trim();
            EngineLog.ModelsReady(_logger, registry.Models.Count, registry.Failures.Count);
            registry.MarkReady();
        }
    }

    private void LoadOne(string folder, bool isDemo)
    {
        string id = Path.GetFileName(folder);
        var started = Stopwatch.GetTimestamp();
        try
        {
            string configPath = Path.Combine(folder, "config.json");
            if (!File.Exists(configPath))
            {
                throw new InvalidDataException("config.json is missing.");
            }
            JsonNode? config = JsonNode.Parse(File.ReadAllText(configPath));
            string modelType = config?["model_type"]?.GetValue<string>() ?? throw new InvalidDataException("config.json has no model_type.");
            var settings = new SessionSettings
            {
                Provider = models.Value.Provider,
                CudaDeviceId = models.Value.CudaDeviceId,
            };
            ILoadedModel model;
            if (ModelFamilies.IsDualEncoder(modelType))
            {
                var dual = DualEncoderModel.Load(id, modelType, folder, config!, isDemo, settings with { IntraOpThreads = EncoderThreadsPerRun }, batching.Value,
                    _encoderLanes, time, metrics, _logger);
                Warm(dual);
                model = dual;
            }
            else if (Generation.GenerativeFamilies.IsGenerative(modelType))
            {
                var generative = Generation.GenerativeModel.Load(id, Generation.GenerativeFamilies.Normalize(modelType), folder, isDemo, settings, resizer,
                    batching.Value, generation.Value.KvCacheOnDevice, generation.Value.VisionArenaKeptViews, time, metrics, _logger);
                Warm(generative);
                if (generative.Sessions.CacheMemory is { } memory)
                {
                    EngineLog.CacheOnDevice(_logger, id, memory);
                }
                else if (!generative.Sessions.WritesPresentOverPreviousPast)
                {
                    EngineLog.PresentsNeedOwnBuffers(_logger, id);
                }
                model = generative;
            }
            else
            {
                throw new NotSupportedException($"model_type '{modelType}' is not served (supported: clip, siglip, idefics3/smolvlm, llava).");
            }
            registry.Add(model);
            double elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            EngineLog.ModelLoaded(_logger, id, model.Family, folder, model.Provider, elapsedMs);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            string reason = ex is OrtException or IOException or InvalidDataException or NotSupportedException or System.Text.Json.JsonException
                ? ex.Message
                : $"{ex.GetType().Name}: {ex.Message}";
            EngineLog.ModelFailed(_logger, folder, reason);
            registry.AddFailure(new ModelLoadFailure(id, folder, reason));
        }
    }

    /// <summary>
    /// One image through the vision encoder, for the same reason. Embed and decoder have run already: opening the
    /// sessions decodes a step to check how the KV cache may be reused.
    /// </summary>
    private static void Warm(Generation.GenerativeModel model)
    {
        var blank = new Imaging.RgbImage(64, 64, new byte[64 * 64 * Imaging.RgbImage.Channels]);
        model.Sessions.EncodeImages([model.ProcessImage(blank, doImageSplitting: false)], CancellationToken.None);
    }

    /// <summary>One pass through each stage, so the first real request does not pay for ONNX Runtime's first-run setup.</summary>
    private static void Warm(DualEncoderModel model)
    {
        (int height, int width) = model.ImageProcessor.OutputSize;
        model.VisionStage.SubmitAsync(new float[3 * height * width], CancellationToken.None).GetAwaiter().GetResult();
        int[] ids = model.EncoderInput("warm up").Ids;
        model.TextStage.SubmitAsync(ids, CancellationToken.None).GetAwaiter().GetResult();
    }
}
