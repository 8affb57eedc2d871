namespace VlmService.Engine.Batching;

/// <summary>One caller's input waiting in a stage queue, and the promise of its output.</summary>
internal sealed class StageRequest<TInput, TOutput>(TInput input, long enqueuedAt, CancellationToken cancellationToken)
{
    private readonly TaskCompletionSource<TOutput> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TInput Input { get; } = input;

    public long EnqueuedAt { get; } = enqueuedAt;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public Task<TOutput> Result => _completion.Task;

    public void Complete(TOutput output) => _completion.TrySetResult(output);

    public void Fail(Exception error) => _completion.TrySetException(error);

    public void Cancel() => _completion.TrySetCanceled(CancellationToken);
}
