using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace VlmService.Engine.Diagnostics;

/// <summary>
/// Engine instruments, after Triton's set: executions vs requests (their ratio is the batch size), queue
/// time apart from compute time, the pending gauge, rejections by reason, cache hits and misses.
/// </summary>
public sealed class EngineMetrics
{
    public const string MeterName = "VlmService.Engine";

    private readonly Histogram<double> _queueWait;
    private readonly Histogram<int> _batchSize;
    private readonly Counter<long> _executions;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _cacheHits;
    private readonly Counter<long> _cacheMisses;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _interTokenLatency;
    private readonly Counter<long> _generatedTokens;
    private readonly Counter<long> _nativeHeapTrims;
    private readonly ConcurrentDictionary<string, int> _depths = new();
    private int _activeSequences;
    private long _kvCacheReserved;

    public EngineMetrics(IMeterFactory meterFactory)
    {
        Meter meter = meterFactory.Create(MeterName);
        _queueWait = meter.CreateHistogram<double>("vlm_queue_wait_seconds", "s", "Time a request waited in a stage queue before its batch ran.");
        _batchSize = meter.CreateHistogram<int>("vlm_batch_size", "{request}", "Requests per executed batch.");
        _executions = meter.CreateCounter<long>("vlm_executions_total", "{batch}", "Batches executed per stage.");
        _rejected = meter.CreateCounter<long>("vlm_rejected_total", "{request}", "Requests refused or dropped before running, by reason.");
        _cacheHits = meter.CreateCounter<long>("vlm_cache_hits_total", "{lookup}", "Cache lookups that found an entry.");
        _cacheMisses = meter.CreateCounter<long>("vlm_cache_misses_total", "{lookup}", "Cache lookups that did not.");
        _timeToFirstToken = meter.CreateHistogram<double>("vlm_time_to_first_token_seconds", "s", "From the request reaching the decoder to its first new token.");
        _interTokenLatency = meter.CreateHistogram<double>("vlm_inter_token_latency_seconds", "s", "Time between consecutive new tokens of a sequence.");
        _generatedTokens = meter.CreateCounter<long>("vlm_generated_tokens_total", "{token}", "New tokens generated.");
        _nativeHeapTrims = meter.CreateCounter<long>("vlm_native_heap_trims_total", "{trim}", "Times the C heap's free memory was handed back to the OS.");
        meter.CreateObservableGauge("vlm_active_sequences", () => Volatile.Read(ref _activeSequences), "{sequence}", "Sequences in the running decode batches.");
        meter.CreateObservableGauge("vlm_kv_cache_reserved_bytes", () => Interlocked.Read(ref _kvCacheReserved), "By",
            "KV-cache bytes reserved by admitted sequences for their prompt and max_tokens.");
        meter.CreateObservableGauge("vlm_queue_depth", () => _depths.Select(d => new Measurement<int>(d.Value, new KeyValuePair<string, object?>("stage", d.Key))),
            "{request}", "Requests waiting per stage.");
    }

    public void QueueWait(string stage, TimeSpan waited) => _queueWait.Record(waited.TotalSeconds, new KeyValuePair<string, object?>("stage", stage));

    public void BatchExecuted(string stage, int size)
    {
        var tag = new KeyValuePair<string, object?>("stage", stage);
        _batchSize.Record(size, tag);
        _executions.Add(1, tag);
    }

    public void QueueDepthChanged(string stage, int depth) => _depths[stage] = depth;

    public void Rejected(string reason) => _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void FirstToken(TimeSpan sinceSubmit)
    {
        _timeToFirstToken.Record(sinceSubmit.TotalSeconds);
        _generatedTokens.Add(1);
    }

    public void NextToken(TimeSpan sincePrevious)
    {
        _interTokenLatency.Record(sincePrevious.TotalSeconds);
        _generatedTokens.Add(1);
    }

    public void ActiveSequencesChanged(int delta) => Interlocked.Add(ref _activeSequences, delta);

    public void KvCacheReservedChanged(long delta) => Interlocked.Add(ref _kvCacheReserved, delta);

    public void NativeHeapTrimmed() => _nativeHeapTrims.Add(1);

    public void CacheLookup(string cache, bool hit) =>
        (hit ? _cacheHits : _cacheMisses).Add(1, new KeyValuePair<string, object?>("cache", cache));
}
