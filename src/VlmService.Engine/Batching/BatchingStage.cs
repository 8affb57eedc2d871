using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using VlmService.Engine.Diagnostics;

namespace VlmService.Engine.Batching;

/// <summary>
/// One model stage behind a bounded queue. A single loop owns the stage: it waits for a request, then cuts a
/// batch when <see cref="BatchingOptions.MaxBatchSize"/> requests are waiting or the oldest has waited
/// <see cref="BatchingOptions.MaxQueueDelay"/>, drops requests whose caller went away, and runs the batch.
/// A stage may also bound how many requests hold prepared inputs at once (see <see cref="SubmitAsync(Func{Task{TInput}}, CancellationToken)"/>).
/// With <see cref="ExecutionLanes"/>, the loop still cuts every batch, but only once a lane is free (so the batch takes
/// everything that queued meanwhile), and hands it to one of the stage's lane threads, which runs it beside the others.
/// </summary>
public sealed class BatchingStage<TInput, TOutput> : IAsyncDisposable
{
    private readonly Channel<StageRequest<TInput, TOutput>> _queue;
    private readonly Func<IReadOnlyList<TInput>, CancellationToken, IReadOnlyList<TOutput>> _execute;
    private readonly BatchingOptions _options;
    private readonly TimeProvider _time;
    private readonly EngineMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    /// <summary>Places for requests holding a prepared input; null when preparation is not bounded.</summary>
    private readonly SemaphoreSlim? _prepared;
    private readonly ExecutionLanes? _lanes;
    /// <summary>Batches cut and waiting for a lane thread; only with lanes.</summary>
    private readonly BlockingCollection<List<StageRequest<TInput, TOutput>>> _cut = [];
    private readonly Task[] _laneThreads;
    private int _depth;

    /// <param name="prepareAhead">
    /// How many requests may hold a prepared input (queued or running) at once; 0 leaves it unbounded. Others wait,
    /// counted in the queue, before they prepare anything.
    /// </param>
    /// <param name="lanes">Lanes shared with other stages for running batches side by side; null runs each batch on the loop itself.</param>
    public BatchingStage(string name, Func<IReadOnlyList<TInput>, CancellationToken, IReadOnlyList<TOutput>> execute,
        BatchingOptions options, TimeProvider time, EngineMetrics metrics, ILogger logger, int prepareAhead = 0, ExecutionLanes? lanes = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prepareAhead);
        _prepared = prepareAhead > 0 ? new SemaphoreSlim(prepareAhead) : null;
        _lanes = lanes;
        Name = name;
        _execute = execute;
        _options = options;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _queue = Channel.CreateBounded<StageRequest<TInput, TOutput>>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        // A batch blocks its thread for as long as the model runs: lane threads of their own keep that off the thread pool.
        _laneThreads = [.. Enumerable.Range(0, lanes?.Count ?? 0).Select(_ =>
            Task.Factory.StartNew(RunCutBatches, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))];
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    public string Name { get; }

    public int QueueDepth => Volatile.Read(ref _depth);

    /// <summary>The most requests one batch of this stage takes.</summary>
    public int MaxBatchSize => _options.MaxBatchSize;

    /// <summary>
    /// Refuses (503) before any expensive preparation when the queue is already full, so a burst is turned away
    /// before its images are decoded.
    /// </summary>
    public void EnsureCapacity()
    {
        if (QueueDepth >= _options.QueueCapacity)
        {
            _metrics.Rejected("queue_full");
            throw new QueueFullException(Name, _options.MaxQueueDelay + TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Queues <paramref name="input"/>; throws <see cref="QueueFullException"/> at once when the queue is full.</summary>
    public Task<TOutput> SubmitAsync(TInput input, CancellationToken cancellationToken) => Enqueue(input, _time.GetTimestamp(), cancellationToken);

    /// <summary>
    /// Prepares the input with <paramref name="prepare"/> and queues it, but on a stage that bounds preparation only
    /// once a place is free: the request waits in the queue (counted in its depth and its wait, refused with 503 when
    /// full, dropped when its caller goes away) before anything is prepared, and holds its place until its batch has
    /// run. Inputs that are large and slow to consume (a photo's 512² tiles as floats, 3 MB per view, ahead of a
    /// 1.4-second vision encoder) then exist only for the next few requests, not for every one waiting.
    /// </summary>
    public async Task<TOutput> SubmitAsync(Func<Task<TInput>> prepare, CancellationToken cancellationToken)
    {
        EnsureCapacity();
        if (_prepared is null)
        {
            return await SubmitAsync(await prepare().ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        long arrived = _time.GetTimestamp();
        _metrics.QueueDepthChanged(Name, Interlocked.Increment(ref _depth));
        try
        {
            await _prepared.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _metrics.Rejected("cancelled");
            throw;
        }
        finally
        {
            _metrics.QueueDepthChanged(Name, Interlocked.Decrement(ref _depth));
        }
        try
        {
            // The time spent waiting for a place counts as queue wait; the preparation itself does not.
            long placed = _time.GetTimestamp();
            TInput input = await prepare().ConfigureAwait(false);
            return await Enqueue(input, arrived + (_time.GetTimestamp() - placed), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _prepared.Release();
        }
    }

    private Task<TOutput> Enqueue(TInput input, long enqueuedAt, CancellationToken cancellationToken)
    {
        var request = new StageRequest<TInput, TOutput>(input, enqueuedAt, cancellationToken);
        if (!_queue.Writer.TryWrite(request))
        {
            _metrics.Rejected("queue_full");
            throw new QueueFullException(Name, _options.MaxQueueDelay + TimeSpan.FromSeconds(1));
        }
        _metrics.QueueDepthChanged(Name, Interlocked.Increment(ref _depth));
        return request.Result;
    }

    private async Task RunAsync()
    {
        var batch = new List<StageRequest<TInput, TOutput>>(_options.MaxBatchSize);
        ChannelReader<StageRequest<TInput, TOutput>> reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                if (_lanes is not null)
                {
                    await CutForLaneAsync(reader, _lanes).ConfigureAwait(false);
                    continue;
                }
                await CollectBatchAsync(reader, batch).ConfigureAwait(false);
                if (batch.Count > 0)
                {
                    Execute(batch);
                }
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        finally
        {
            _cut.CompleteAdding();
        }
        await Task.WhenAll(_laneThreads).ConfigureAwait(false);
        while (reader.TryRead(out StageRequest<TInput, TOutput>? left))
        {
            left.Fail(new ObjectDisposedException(Name, "The service is shutting down."));
        }
    }

    /// <summary>Cuts the next batch once a lane is free, so that it takes everything that queued meanwhile, and hands it to a lane thread.</summary>
    private async Task CutForLaneAsync(ChannelReader<StageRequest<TInput, TOutput>> reader, ExecutionLanes lanes)
    {
        await lanes.WaitAsync(_stopping.Token).ConfigureAwait(false);
        var batch = new List<StageRequest<TInput, TOutput>>(_options.MaxBatchSize);
        try
        {
            await CollectBatchAsync(reader, batch).ConfigureAwait(false);
        }
        catch
        {
            lanes.Release();
            throw;
        }
        if (batch.Count == 0)
        {
            lanes.Release();
            return;
        }
        _cut.Add(batch);
    }

    /// <summary>A lane thread: runs the batches the loop cuts, one at a time, handing its lane back after each.</summary>
    private void RunCutBatches()
    {
        foreach (List<StageRequest<TInput, TOutput>> batch in _cut.GetConsumingEnumerable())
        {
            try
            {
                Execute(batch);
            }
            finally
            {
                _lanes!.Release();
            }
        }
    }

    private async Task CollectBatchAsync(ChannelReader<StageRequest<TInput, TOutput>> reader, List<StageRequest<TInput, TOutput>> batch)
    {
        long? oldest = null;
        while (batch.Count < _options.MaxBatchSize)
        {
            while (batch.Count < _options.MaxBatchSize && reader.TryRead(out StageRequest<TInput, TOutput>? request))
            {
                Interlocked.Decrement(ref _depth);
                if (!DropIfAbandoned(request))
                {
                    batch.Add(request);
                    oldest ??= request.EnqueuedAt;
                }
            }
            if (batch.Count == 0 || batch.Count >= _options.MaxBatchSize)
            {
                break;
            }
            TimeSpan waited = _time.GetElapsedTime(oldest!.Value);
            TimeSpan remaining = _options.MaxQueueDelay - waited;
            if (remaining <= TimeSpan.Zero)
            {
                break;
            }
            using var timeout = new CancellationTokenSource(remaining, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token);
            try
            {
                if (!await reader.WaitToReadAsync(linked.Token).ConfigureAwait(false))
                {
                    break;
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                break;
            }
        }
        // A caller may leave while the batch is forming: drop it at the cut, not after running it.
        batch.RemoveAll(DropIfAbandoned);
        _metrics.QueueDepthChanged(Name, QueueDepth);
    }

    private bool DropIfAbandoned(StageRequest<TInput, TOutput> request)
    {
        if (!request.CancellationToken.IsCancellationRequested)
        {
            return false;
        }
        _metrics.Rejected("cancelled");
        request.Cancel();
        return true;
    }

    private void Execute(List<StageRequest<TInput, TOutput>> batch)
    {
        foreach (StageRequest<TInput, TOutput> request in batch)
        {
            _metrics.QueueWait(Name, _time.GetElapsedTime(request.EnqueuedAt));
        }
        _metrics.BatchExecuted(Name, batch.Count);
        long started = Stopwatch.GetTimestamp();
        try
        {
            IReadOnlyList<TOutput> outputs = _execute(batch.Select(r => r.Input).ToList(), _stopping.Token);
            for (int i = 0; i < batch.Count; i++)
            {
                batch[i].Complete(outputs[i]);
            }
            double elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            EngineLog.BatchRan(_logger, Name, batch.Count, elapsedMs);
        }
        catch (Exception ex)
        {
            EngineLog.BatchFailed(_logger, ex, Name, batch.Count);
            foreach (StageRequest<TInput, TOutput> request in batch)
            {
                request.Fail(ex);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
        _cut.Dispose();
    }
}
