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
    /// The batch limit of generative models' vision encoders. Their views are large (512² tiles, 336² images): on CPU a
    /// bigger batch is no faster per image, and every image in a batch holds its attention activations at once.
    /// </summary>
    public int MaxVisionBatchSize { get; set; } = 2;

    /// <summary>Requests waiting per stage before new ones are refused with 503.</summary>
    public int QueueCapacity { get; set; } = 512;
}
