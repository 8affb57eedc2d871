namespace VlmService.Engine.Batching;

/// <summary>A stage's queue is at capacity; the caller should retry after <see cref="RetryAfter"/>.</summary>
public sealed class QueueFullException : Exception
{
    public QueueFullException(string stage, TimeSpan retryAfter)
        : base($"The {stage} queue is full; retry shortly.")
    {
        Stage = stage;
        RetryAfter = retryAfter;
    }

    public QueueFullException() : base("Queue full") { }

    public QueueFullException(string message) : base(message) { }

    public QueueFullException(string message, Exception innerException) : base(message, innerException) { }

    public string Stage { get; } = string.Empty;

    public TimeSpan RetryAfter { get; }
}
