using VlmService.Onnx;

namespace VlmService.Engine.Batching;

/// <summary>How each model stage cuts batches (Triton's dynamic batcher rule) and how much it queues.</summary>
public sealed record BatchingOptions
{
    public const string Section = "Batching";

    /// <summary>A batch runs as soon as it holds this many requests.</summary>
    public int MaxBatchSize { get; set; } = 16;

    /// <summary>
    /// …or once its oldest request has waited this long. Zero runs whatever is queued at once: a lone request pays no
    /// wait, and under load batches still fill with the requests that arrived while the previous batch ran.
    /// </summary>
    public TimeSpan MaxQueueDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// The batch limit of generative models' vision encoders; 0 chooses by provider: 1 on CPU, <see cref="MaxBatchSize"/>
    /// on CUDA. Their views are large (512² tiles, 336² images): on CPU the encoder is compute-bound, so a bigger batch
    /// is no faster per image, while every image in a batch holds its attention activations (about 100 MB per 512² view)
    /// at once. A GPU, by contrast, only fills up with several views per run.
    /// </summary>
    public int MaxVisionBatchSize { get; set; }

    /// <summary>The vision batch limit for a model whose encoder runs on <paramref name="provider"/>.</summary>
    public int VisionBatchLimit(string provider) => Math.Min(MaxBatchSize,
        MaxVisionBatchSize > 0 ? MaxVisionBatchSize : provider == ExecutionProviders.Cuda ? MaxBatchSize : 1);

    /// <summary>
    /// The batch limit of CLIP/SigLIP image encoders; 0 chooses by provider: on CPU as many images as make
    /// <see cref="CpuEncoderTokensPerThread"/> patch tokens per thread of a run (at least 1, at most
    /// <see cref="MaxBatchSize"/>), on CUDA <see cref="MaxBatchSize"/>.
    /// </summary>
    public int MaxEncoderBatchSize { get; set; }

    /// <summary>
    /// Patch tokens per thread of a run at which image encoders cost least per image on CPU (bench/README.md): CLIP base
    /// (49 per image) at 8 images per thread, up to 8 % cheaper per image than at 16; SigLIP base (196) at 2–4, 7–17 %
    /// cheaper than at 8.
    /// </summary>
    public const int CpuEncoderTokensPerThread = 400;

    /// <summary>Patch tokens of a CLIP ViT-B/32 image at 224², assumed where a model's config does not give its patch size.</summary>
    public const int DefaultEncoderTokensPerImage = 49;

    /// <summary>
    /// The image-encoder batch limit for a dual encoder whose vision runs go to <paramref name="provider"/> on
    /// <paramref name="threadsPerRun"/> threads, each image making <paramref name="tokensPerImage"/> patch tokens.
    /// </summary>
    public int EncoderBatchLimit(string provider, int threadsPerRun, int? tokensPerImage) =>
        MaxEncoderBatchSize > 0 ? Math.Min(MaxBatchSize, MaxEncoderBatchSize)
        : provider == ExecutionProviders.Cuda ? MaxBatchSize
        : Math.Clamp(CpuEncoderTokensPerThread * Math.Max(1, threadsPerRun) / Math.Max(1, tokensPerImage ?? DefaultEncoderTokensPerImage), 1, MaxBatchSize);

    /// <summary>
    /// How many batches of CLIP/SigLIP encoders run at once, each on cores ÷ lanes threads of its own. 1 runs one batch
    /// at a time on all the cores: the lowest latency for a lone request. 2 or more suit sustained embedding traffic on
    /// a CPU (a catalogue at night), where runs on one thread each get through more images per second than runs split
    /// over several; a lone request then runs on its lane's threads only, so it takes longer.
    /// </summary>
    public int EncoderLanes { get; set; } = 1;

    /// <summary>Requests waiting per stage before new ones are refused with 503.</summary>
    public int QueueCapacity { get; set; } = 512;
}
