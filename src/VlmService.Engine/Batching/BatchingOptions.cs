namespace VlmService.Engine.Batching;

/// <summary>How each model stage cuts batches (Triton's dynamic batcher rule) and how much it queues.</summary>
public sealed record BatchingOptions
{
    public const string Section = "Batching";

    /// <summary>A batch runs as soon as it holds this many requests.</summary>
    public int MaxBatchSize { get; set; } = 16;

    /// <summary>…or once its oldest request has waited this long.</summary>
    public TimeSpan MaxQueueDelay { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Requests waiting per stage before new ones are refused with 503.</summary>
    public int QueueCapacity { get; set; } = 512;
}
