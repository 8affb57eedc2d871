using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using VlmService.Engine.Batching;
using VlmService.Engine.Diagnostics;

namespace VlmService.Tests.Engine;

public sealed class BatchingStageTests : IAsyncDisposable
{
    private readonly ManualTimeProvider _time = new();
    private readonly ConcurrentQueue<int[]> _batches = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private BatchingStage<int, int>? _stage;

    private BatchingStage<int, int> Stage(int maxBatch, TimeSpan delay, int capacity = 64, Func<IReadOnlyList<int>, IReadOnlyList<int>>? execute = null)
    {
        var metrics = new EngineMetrics(_services.GetRequiredService<IMeterFactory>());
        _stage = new BatchingStage<int, int>("test", (inputs, _) =>
        {
            _batches.Enqueue([.. inputs]);
            return execute?.Invoke(inputs) ?? inputs.Select(i => i * 10).ToList();
        }, new BatchingOptions { MaxBatchSize = maxBatch, MaxQueueDelay = delay, QueueCapacity = capacity }, _time, metrics, NullLogger.Instance);
        return _stage;
    }

    [Theory]
    [InlineData(0, "CPUExecutionProvider", 16, 1)]
    [InlineData(0, "CUDAExecutionProvider", 16, 16)]
    [InlineData(4, "CPUExecutionProvider", 16, 4)]
    [InlineData(32, "CUDAExecutionProvider", 8, 8)]
    public void Vision_batches_default_to_one_on_cpu_and_to_the_batch_limit_on_cuda(int configured, string provider, int maxBatch, int expected) =>
        Assert.Equal(expected, new BatchingOptions { MaxVisionBatchSize = configured, MaxBatchSize = maxBatch }.VisionBatchLimit(provider));

    [Theory]
    [InlineData(0, "CPUExecutionProvider", 1, 49, 16, 8)]
    [InlineData(0, "CPUExecutionProvider", 2, 49, 16, 16)]
    [InlineData(0, "CPUExecutionProvider", 4, 49, 16, 16)]
    [InlineData(0, "CPUExecutionProvider", 1, 196, 16, 2)]
    [InlineData(0, "CPUExecutionProvider", 2, 196, 16, 4)]
    [InlineData(0, "CPUExecutionProvider", 1, 577, 16, 1)]
    [InlineData(0, "CPUExecutionProvider", 1, null, 16, 8)]
    [InlineData(0, "CPUExecutionProvider", 1, 49, 4, 4)]
    [InlineData(0, "CUDAExecutionProvider", 1, 196, 16, 16)]
    [InlineData(12, "CPUExecutionProvider", 1, 196, 16, 12)]
    [InlineData(32, "CUDAExecutionProvider", 1, 49, 16, 16)]
    public void Image_encoder_batches_default_to_about_400_patch_tokens_per_thread_of_a_run_on_cpu_and_to_the_batch_limit_on_cuda(
        int configured, string provider, int threadsPerRun, int? tokensPerImage, int maxBatch, int expected) =>
        Assert.Equal(expected, new BatchingOptions { MaxEncoderBatchSize = configured, MaxBatchSize = maxBatch }
            .EncoderBatchLimit(provider, threadsPerRun, tokensPerImage));

    [Fact]
    public async Task A_batch_runs_as_soon_as_it_is_full_without_waiting_for_the_delay()
    {
        BatchingStage<int, int> stage = Stage(maxBatch: 4, delay: TimeSpan.FromHours(1));
        int[] results = await Task.WhenAll(Enumerable.Range(1, 4).Select(i => stage.SubmitAsync(i, CancellationToken.None))).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([10, 20, 30, 40], results);
        Assert.Equal([1, 2, 3, 4], Assert.Single(_batches));
    }

    [Fact]
    public async Task A_partial_batch_runs_once_the_oldest_request_has_waited_the_delay()
    {
        BatchingStage<int, int> stage = Stage(maxBatch: 8, delay: TimeSpan.FromMilliseconds(5));
        Task<int>[] pending = Enumerable.Range(1, 3).Select(i => stage.SubmitAsync(i, CancellationToken.None)).ToArray();
        await LoopWaitsOnItsDelay(stage);
        Assert.Empty(_batches);
        _time.Advance(TimeSpan.FromMilliseconds(5));
        int[] results = await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new[] { 10, 20, 30 }, results);
        Assert.Equal([1, 2, 3], Assert.Single(_batches));
    }

    [Fact]
    public async Task Requests_whose_caller_went_away_are_dropped_before_the_batch_is_cut()
    {
        BatchingStage<int, int> stage = Stage(maxBatch: 8, delay: TimeSpan.FromMilliseconds(5));
        using var gone = new CancellationTokenSource();
        Task<int> abandoned = stage.SubmitAsync(1, gone.Token);
        Task<int> kept = stage.SubmitAsync(2, CancellationToken.None);
        await LoopWaitsOnItsDelay(stage);
        await gone.CancelAsync();
        // The loop has taken the first request into the forming batch; it must be dropped when the batch is cut.
        _time.Advance(TimeSpan.FromMilliseconds(5));
        Assert.Equal(20, await kept.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.DoesNotContain(_batches, b => b.Contains(1));
    }

    /// <summary>
    /// Until the loop has read every queued request and armed its delay timer: only then does advancing the
    /// virtual clock cut one batch holding all of them.
    /// </summary>
    private async Task LoopWaitsOnItsDelay(BatchingStage<int, int> stage)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!(stage.QueueDepth == 0 && _time.PendingTimers > 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(2);
        }
        Assert.True(stage.QueueDepth == 0 && _time.PendingTimers > 0, "the stage loop never started waiting on its delay");
    }

    [Fact]
    public async Task A_full_queue_refuses_new_requests_at_once()
    {
        using var release = new ManualResetEventSlim();
        using var entered = new SemaphoreSlim(0);
        BatchingStage<int, int> stage = Stage(maxBatch: 1, delay: TimeSpan.Zero, capacity: 2, execute: inputs =>
        {
            entered.Release();
            release.Wait(TimeSpan.FromSeconds(10));
            return inputs;
        });
        Task<int> running = stage.SubmitAsync(1, CancellationToken.None);
        Assert.True(await entered.WaitAsync(TimeSpan.FromSeconds(10)));
        Task<int>[] queued = [stage.SubmitAsync(2, CancellationToken.None), stage.SubmitAsync(3, CancellationToken.None)];
        var refused = Assert.Throws<QueueFullException>(() => { _ = stage.SubmitAsync(4, CancellationToken.None); });
        Assert.True(refused.RetryAfter > TimeSpan.Zero);
        release.Set();
        int[] all = await Task.WhenAll([running, .. queued]).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new[] { 1, 2, 3 }, all);
    }

    [Fact]
    public async Task A_failing_batch_fails_its_requests_and_the_stage_keeps_serving()
    {
        BatchingStage<int, int> stage = Stage(maxBatch: 1, delay: TimeSpan.Zero, execute: inputs =>
            inputs[0] == 13 ? throw new InvalidOperationException("unlucky") : inputs);
        await Assert.ThrowsAsync<InvalidOperationException>(() => stage.SubmitAsync(13, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(7, await stage.SubmitAsync(7, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    public async ValueTask DisposeAsync()
    {
        if (_stage is not null)
        {
            await _stage.DisposeAsync();
        }
        await _services.DisposeAsync();
    }
}

public sealed class ExecutionLanesTests : IAsyncDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly List<BatchingStage<int, int>> _stages = [];
    private readonly ManualResetEventSlim _release = new();
    private readonly SemaphoreSlim _entered = new(0);
    private int _running;
    private int _mostAtOnce;

    /// <summary>A stage whose batches hold their lane until <see cref="_release"/> is set, counting how many run at once.</summary>
    private BatchingStage<int, int> Stage(string name, ExecutionLanes? lanes, int maxBatch = 1)
    {
        var metrics = new EngineMetrics(_services.GetRequiredService<IMeterFactory>());
        var stage = new BatchingStage<int, int>(name, (inputs, stopping) =>
        {
            int now = Interlocked.Increment(ref _running);
            InterlockedMax(ref _mostAtOnce, now);
            _entered.Release();
            _release.Wait(TimeSpan.FromSeconds(10), stopping);
            Interlocked.Decrement(ref _running);
            return inputs.Select(i => i * 10).ToList();
        }, new BatchingOptions { MaxBatchSize = maxBatch, MaxQueueDelay = TimeSpan.Zero }, TimeProvider.System, metrics, NullLogger.Instance, lanes: lanes);
        _stages.Add(stage);
        return stage;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen = Volatile.Read(ref target);
        while (value > seen && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
            seen = Volatile.Read(ref target);
        }
    }

    [Theory]
    [InlineData(1, 8)]
    [InlineData(2, 4)]
    [InlineData(4, 2)]
    public void Each_lane_gets_an_equal_share_of_the_cores_and_at_least_one_thread(int lanes, int expected) =>
        Assert.Equal(expected, new ExecutionLanes(lanes).ThreadsPerRun(8));

    [Fact]
    public void A_lane_handed_back_that_was_never_taken_is_a_bug_not_a_new_lane() =>
        Assert.Throws<InvalidOperationException>(() => new ExecutionLanes(2).Release());

    [Fact]
    public async Task With_two_lanes_two_batches_of_one_stage_run_at_once_and_each_request_gets_its_own_result()
    {
        BatchingStage<int, int> stage = Stage("lanes", new ExecutionLanes(2));
        Task<int> first = stage.SubmitAsync(1, CancellationToken.None);
        Task<int> second = stage.SubmitAsync(2, CancellationToken.None);
        // Both batches are inside the model at the same moment: the second did not wait for the first to finish.
        Assert.True(await _entered.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await _entered.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, Volatile.Read(ref _running));
        _release.Set();
        Assert.Equal(new[] { 10, 20 }, await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Stages_sharing_lanes_never_run_more_batches_than_there_are_lanes_and_a_waiting_batch_takes_all_that_queued()
    {
        var lanes = new ExecutionLanes(2);
        BatchingStage<int, int> vision = Stage("vision", lanes, maxBatch: 8);
        BatchingStage<int, int> text = Stage("text", lanes, maxBatch: 8);
        Task<int> a = vision.SubmitAsync(1, CancellationToken.None);
        Assert.True(await _entered.WaitAsync(TimeSpan.FromSeconds(10)));
        Task<int> b = text.SubmitAsync(2, CancellationToken.None);
        Assert.True(await _entered.WaitAsync(TimeSpan.FromSeconds(10)));
        // Both lanes are taken: these wait in the vision queue, and run as one batch once a lane is free.
        Task<int>[] waiting = [.. Enumerable.Range(3, 3).Select(i => vision.SubmitAsync(i, CancellationToken.None))];
        Assert.False(await _entered.WaitAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(3, vision.QueueDepth);
        _release.Set();
        Assert.Equal(new[] { 10, 20, 30, 40, 50 }, await Task.WhenAll([a, b, .. waiting]).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, _mostAtOnce);
        Assert.True(await _entered.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(await _entered.WaitAsync(TimeSpan.FromMilliseconds(100)), "the three waiting requests ran as more than one batch");
    }

    [Fact]
    public async Task A_stage_with_lanes_shuts_down_with_batches_running_and_fails_what_never_ran()
    {
        BatchingStage<int, int> stage = Stage("closing", new ExecutionLanes(1));
        Task<int> running = stage.SubmitAsync(1, CancellationToken.None);
        Assert.True(await _entered.WaitAsync(TimeSpan.FromSeconds(10)));
        Task<int> queued = stage.SubmitAsync(2, CancellationToken.None);
        _stages.Remove(stage);
        // Disposal stops the running batch (its token is cancelled) and waits for the lane thread to finish it.
        await stage.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<Exception>(() => running);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => queued);
    }

    public async ValueTask DisposeAsync()
    {
        _release.Set();
        foreach (BatchingStage<int, int> stage in _stages)
        {
            await stage.DisposeAsync();
        }
        await _services.DisposeAsync();
        _release.Dispose();
        _entered.Dispose();
    }
}

public sealed class AdmissionTests : IAsyncDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    [Fact]
    public async Task A_full_queue_is_refused_before_any_preparation_with_a_retry_hint()
    {
        using var release = new ManualResetEventSlim();
        using var entered = new SemaphoreSlim(0);
        var metrics = new EngineMetrics(_services.GetRequiredService<IMeterFactory>());
        await using var stage = new BatchingStage<int, int>("admission", (inputs, stopping) =>
        {
            entered.Release();
            release.Wait(TimeSpan.FromSeconds(10), stopping);
            return inputs;
        }, new BatchingOptions { MaxBatchSize = 1, MaxQueueDelay = TimeSpan.Zero, QueueCapacity = 1 }, TimeProvider.System, metrics, NullLogger.Instance);
        stage.EnsureCapacity();
        Task<int> running = stage.SubmitAsync(1, CancellationToken.None);
        Assert.True(await entered.WaitAsync(TimeSpan.FromSeconds(10)));
        stage.EnsureCapacity();
        Task<int> queued = stage.SubmitAsync(2, CancellationToken.None);
        var refused = Assert.Throws<QueueFullException>(stage.EnsureCapacity);
        Assert.Equal("admission", refused.Stage);
        release.Set();
        Assert.Equal(new[] { 1, 2 }, await Task.WhenAll(running, queued).WaitAsync(TimeSpan.FromSeconds(10)));
        stage.EnsureCapacity();
    }

    [Fact]
    public async Task Beyond_the_prepare_ahead_bound_requests_wait_in_the_queue_unprepared_and_a_cancelled_one_never_prepares()
    {
        using var release = new ManualResetEventSlim();
        using var entered = new SemaphoreSlim(0);
        var prepared = new ConcurrentQueue<int>();
        var metrics = new EngineMetrics(_services.GetRequiredService<IMeterFactory>());
        await using var stage = new BatchingStage<int, int>("ahead", (inputs, stopping) =>
        {
            entered.Release();
            release.Wait(TimeSpan.FromSeconds(10), stopping);
            return inputs.Select(i => i * 10).ToList();
        }, new BatchingOptions { MaxBatchSize = 1, MaxQueueDelay = TimeSpan.Zero, QueueCapacity = 3 }, TimeProvider.System, metrics, NullLogger.Instance,
            prepareAhead: 2);
        Task<int> Submit(int input, CancellationToken cancellationToken) => stage.SubmitAsync(() =>
        {
            prepared.Enqueue(input);
            return Task.FromResult(input);
        }, cancellationToken);

        Task<int> running = Submit(1, CancellationToken.None);
        Assert.True(await entered.WaitAsync(TimeSpan.FromSeconds(10)));
        Task<int> queued = Submit(2, CancellationToken.None);
        using var leaving = new CancellationTokenSource();
        Task<int> cancelled = Submit(3, leaving.Token);
        Task<int> waiting = Submit(4, CancellationToken.None);
        Assert.Equal([1, 2], prepared);
        Assert.Equal(3, stage.QueueDepth);
        Assert.Throws<QueueFullException>(stage.EnsureCapacity);

        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(2, stage.QueueDepth);
        release.Set();
        Assert.Equal(new[] { 10, 20, 40 }, await Task.WhenAll(running, queued, waiting).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal([1, 2, 4], prepared);
        Assert.Equal(0, stage.QueueDepth);
    }

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();
}
