using System.Diagnostics;
using System.Threading.Channels;
using VlmService.Engine.Diagnostics;
using VlmService.Onnx;

namespace VlmService.Engine.Generation;

/// <summary>
/// Iteration-level batching for one model. A single loop, each turn: admits waiting sequences while the limits on
/// sequences and on KV-cache bytes allow; runs one prefill chunk of the oldest sequence still reading its prompt
/// (so a long prompt delays the running batch by one chunk per step, never by its whole length); then runs every
/// decoding sequence's next token in one decoder call. Caches of different lengths are left-padded and the padding
/// masked out. While the batch keeps its members, each step's output cache is the next step's input as it is;
/// only a join or a leave re-lays the rows out. The batch's cache arrays come from a pool and go back to it once
/// read, so steady decoding allocates no cache memory; they are native memory, freed the moment the pool lets them
/// go. A step and a re-layout write each layer over memory the previous layer has finished with, so the batch holds
/// its cache about once, not twice. Finished or abandoned sequences leave at once and their caches and reservations
/// are dropped.
/// Prompts are always cut into the same chunks, so a sequence's output never depends on what else is running.
/// While requests for this model are still having their images encoded and the batch is narrower than
/// <see cref="DecoderLimits.JoinWaitUntilWidth"/>, decode steps pause (at most <see cref="DecoderLimits.MaxJoinWait"/>
/// between two steps) so that they join a wider batch sooner.
/// </summary>
internal sealed class BatchDecoder : IAsyncDisposable
{
    private readonly GenerativeModel _model;
    private readonly DecoderLimits _limits;
    private readonly EngineMetrics _metrics;
    private readonly string _stage;
    private readonly long _bytesPerToken;
    private readonly Channel<ActiveSequence> _incoming = Channel.CreateUnbounded<ActiveSequence>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<ActiveSequence> _prefilling = [];
    private readonly List<ActiveSequence> _active = [];
    /// <summary>Arrays of the decoding batch's cache; prefill caches have their own pool, so neither takes the other's sizes.</summary>
    private readonly KvBufferPool _batchPool;
    private readonly KvBufferPool _prefillPool;

    /// <summary>The decoding sequences' cache: row b belongs to _active[b]. Null exactly when _active is empty.</summary>
    private KvCache? _batch;
    private readonly Task _loop;
    private int _waiting;
    private int _joining;
    /// <summary>When the running batch began pausing for joiners since its last step; null while it is not pausing.</summary>
    private long? _pausedSince;
    private int _activeCount;
    private long _reservedBytes;

    public BatchDecoder(GenerativeModel model, DecoderLimits limits, EngineMetrics metrics)
    {
        _model = model;
        _limits = limits;
        _metrics = metrics;
        _stage = $"{model.Id}/decoder";
        DecoderSessions sessions = model.Sessions;
        _batchPool = new KvBufferPool(sessions.NewCacheBuffer);
        _prefillPool = new KvBufferPool(sessions.NewCacheBuffer);
        _bytesPerToken = 2L * sessions.Layers * sessions.KeyValueHeads * sessions.HeadDim * sizeof(float);
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Sequences holding a cache (prefilling or decoding) right now.</summary>
    public int ActiveCount => Volatile.Read(ref _activeCount);

    /// <summary>KV-cache bytes reserved by admitted sequences for their prompt and every token they may still generate.</summary>
    public long ReservedBytes => Interlocked.Read(ref _reservedBytes);

    /// <summary>Throws <see cref="Batching.QueueFullException"/> (503) when too many sequences already wait to join.</summary>
    public void EnsureCapacity()
    {
        if (Volatile.Read(ref _waiting) >= _limits.MaxWaiting)
        {
            _metrics.Rejected("queue_full");
            throw new Batching.QueueFullException(_stage, TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Bytes of KV cache a prompt of <paramref name="promptTokens"/> needs to generate <paramref name="maxTokens"/> more.</summary>
    public long CacheBytes(int promptTokens, int maxTokens) => _bytesPerToken * (promptTokens + maxTokens);

    /// <summary>
    /// Throws <see cref="CacheBudgetExceededException"/> (422) when a prompt of <paramref name="promptTokens"/> and
    /// <paramref name="maxTokens"/> new tokens could never fit the KV-cache budget, even alone. Checked with a lower
    /// bound of the prompt before any image work, and with the real prompt at submission.
    /// </summary>
    public long EnsureFits(int promptTokens, int maxTokens)
    {
        long bytes = CacheBytes(promptTokens, maxTokens);
        if (bytes > _limits.MaxCacheBytes)
        {
            _metrics.Rejected("cache_budget");
            throw new CacheBudgetExceededException(
                $"A {promptTokens}-token prompt with max_tokens {maxTokens} needs {bytes >> 20} MiB of KV cache; " +
                $"this model's budget (Generation:MaxKvCacheBytes) is {_limits.MaxCacheBytes >> 20} MiB. Lower max_tokens or send a smaller image.");
        }
        return bytes;
    }

    /// <summary>
    /// Counts a request whose image is being encoded for this model until <see cref="JoinerReady"/>; the running
    /// batch may pause for it.
    /// </summary>
    public void JoinerEncoding() => Interlocked.Increment(ref _joining);

    /// <summary>The request counted by <see cref="JoinerEncoding"/> has its features, or failed, or went away.</summary>
    public void JoinerReady() => Interlocked.Decrement(ref _joining);

    public ChannelReader<GenerationUpdate> Submit(PreparedPrompt prompt, SamplingOptions options, CancellationToken cancellationToken)
    {
        long bytes = EnsureFits(prompt.Ids.Length, options.MaxTokens);
        var sequence = new ActiveSequence(prompt, options, _model, bytes, cancellationToken);
        Interlocked.Increment(ref _waiting);
        if (!_incoming.Writer.TryWrite(sequence))
        {
            sequence.Fail(new ObjectDisposedException(nameof(BatchDecoder), "The service is shutting down."));
        }
        return sequence.Output.Reader;
    }

    private async Task RunAsync()
    {
        ChannelReader<ActiveSequence> incoming = _incoming.Reader;
        try
        {
            while (true)
            {
                if (_active.Count == 0 && _prefilling.Count == 0)
                {
                    // Idle: the pools' arrays go to the GC instead of holding the last burst's peak.
                    _batchPool.Clear();
                    _prefillPool.Clear();
                    if (!await incoming.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
                    {
                        return;
                    }
                }
                Admit(incoming);
                DropAbandonedPrefilling();
                DropAbandonedDecoding();
                if (_prefilling.Count > 0)
                {
                    PrefillChunk(_prefilling[0]);
                }
                if (_active.Count > 0 && !PausesForJoiners())
                {
                    Step();
                    _pausedSince = null;
                }
                else if (_active.Count > 0 && _prefilling.Count == 0)
                {
                    // Paused with nothing to prefill meanwhile: sleep instead of spinning.
                    await WaitForJoinerAsync(incoming).ConfigureAwait(false);
                }
                Volatile.Write(ref _activeCount, _active.Count + _prefilling.Count);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        finally
        {
            var shutdown = new ObjectDisposedException(nameof(BatchDecoder), "The service is shutting down.");
            _prefilling.ForEach(s => s.Fail(shutdown));
            _prefilling.ForEach(ReleaseOwnCache);
            _active.ForEach(s => s.Fail(shutdown));
            // The caches are native memory: nothing else would free them.
            _batch?.Dispose();
            _batch = null;
            _batchPool.Clear();
            _prefillPool.Clear();
            _metrics.ActiveSequencesChanged(-_active.Count);
            while (incoming.TryRead(out ActiveSequence? left))
            {
                left.Fail(shutdown);
            }
        }
    }

    /// <summary>
    /// True while requests for this model are having their images encoded, the batch is narrower than
    /// <see cref="DecoderLimits.JoinWaitUntilWidth"/> counting those already waiting to join, and the batch has paused
    /// less than <see cref="DecoderLimits.MaxJoinWait"/> since its last step.
    /// </summary>
    private bool PausesForJoiners()
    {
        int room = _limits.JoinWaitUntilWidth - _active.Count - _prefilling.Count - Volatile.Read(ref _waiting);
        if (Volatile.Read(ref _joining) == 0 || room <= 0 || _limits.MaxJoinWait <= TimeSpan.Zero)
        {
            _pausedSince = null;
            return false;
        }
        _pausedSince ??= Stopwatch.GetTimestamp();
        return Stopwatch.GetElapsedTime(_pausedSince.Value) < _limits.MaxJoinWait;
    }

    /// <summary>
    /// Sleeps until a sequence is submitted or a short poll ends: a joiner that fails or goes away submits nothing,
    /// and the pause must end then too.
    /// </summary>
    private async Task WaitForJoinerAsync(ChannelReader<ActiveSequence> incoming)
    {
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        poll.CancelAfter(JoinerPoll);
        try
        {
            await incoming.WaitToReadAsync(poll.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
        }
    }

    private static readonly TimeSpan JoinerPoll = TimeSpan.FromMilliseconds(10);

    /// <summary>Oldest first; a sequence that does not fit yet waits (and holds back the ones behind it, so none starves).</summary>
    private void Admit(ChannelReader<ActiveSequence> incoming)
    {
        while (_active.Count + _prefilling.Count < _limits.MaxActive && incoming.TryPeek(out ActiveSequence? next)
            && ReservedBytes + next.ReservedBytes <= _limits.MaxCacheBytes)
        {
            incoming.TryRead(out _);
            Interlocked.Decrement(ref _waiting);
            if (next.CancellationToken.IsCancellationRequested)
            {
                next.Fail(new OperationCanceledException(next.CancellationToken));
                _metrics.Rejected("cancelled");
                continue;
            }
            Interlocked.Add(ref _reservedBytes, next.ReservedBytes);
            _metrics.KvCacheReservedChanged(next.ReservedBytes);
            _prefilling.Add(next);
        }
    }

    private void Leave(ActiveSequence sequence)
    {
        Interlocked.Add(ref _reservedBytes, -sequence.ReservedBytes);
        _metrics.KvCacheReservedChanged(-sequence.ReservedBytes);
    }

    /// <summary>Fails and removes the prefilling sequences whose caller went away.</summary>
    private void DropAbandonedPrefilling()
    {
        for (int i = _prefilling.Count - 1; i >= 0; i--)
        {
            if (_prefilling[i].CancellationToken.IsCancellationRequested)
            {
                Abandon(_prefilling[i]);
                _prefilling.RemoveAt(i);
            }
        }
    }

    /// <summary>Fails the decoding sequences whose caller went away and lays the batch out without their rows.</summary>
    private void DropAbandonedDecoding()
    {
        if (!_active.Any(s => s.CancellationToken.IsCancellationRequested))
        {
            return;
        }
        var staying = new List<int>(_active.Count);
        for (int b = 0; b < _active.Count; b++)
        {
            if (_active[b].CancellationToken.IsCancellationRequested)
            {
                Abandon(_active[b]);
                _metrics.ActiveSequencesChanged(-1);
            }
            else
            {
                staying.Add(b);
            }
        }
        Relayout(staying, joining: null);
    }

    private void Abandon(ActiveSequence sequence)
    {
        ReleaseOwnCache(sequence);
        sequence.Fail(new OperationCanceledException(sequence.CancellationToken));
        Leave(sequence);
        _metrics.Rejected("cancelled");
    }

    /// <summary>
    /// The next <see cref="DecoderLimits.PrefillChunkTokens"/> prompt tokens through embed → merge of their image
    /// features → decoder over the sequence's cache so far. After the last chunk the first token is chosen and the
    /// sequence joins the decoding batch.
    /// </summary>
    private void PrefillChunk(ActiveSequence sequence)
    {
        try
        {
            DecoderSessions sessions = _model.Sessions;
            int[] ids = sequence.Prompt.Ids;
            int start = sequence.PrefillOffset;
            int count = Math.Min(_limits.PrefillChunkTokens, ids.Length - start);
            long[] chunk = ids.AsSpan(start, count).ToArray().Select(i => (long)i).ToArray();
            Tensor<float> embeds = sessions.EmbedTokens(chunk, 1, count, sequence.CancellationToken);
            ImageFeatures.Merge(_model.ImageTokenId, ids, start, embeds, sequence.Prompt.Image.Features);
            long[] mask = Enumerable.Repeat(1L, start + count).ToArray();
            long[] positions = Enumerable.Range(start, count).Select(i => (long)i).ToArray();
            _metrics.BatchExecuted($"{_model.Id}/prefill", 1);
            // The pass takes the sequence's cache so far (its buffers become the new cache's or go back to the pool).
            KvCache past = sequence.Cache ?? KvCache.Empty(sessions.Layers);
            sequence.Cache = null;
            (Tensor<float> logits, KvCache cache) = sessions.DecodeTakingPast(embeds, mask, positions, past, _prefillPool, sequence.CancellationToken);
            sequence.Cache = cache;
            sequence.CacheLength = cache.Length;
            sequence.PrefillOffset = start + count;
            if (sequence.PrefillOffset < ids.Length)
            {
                return;
            }
            _prefilling.Remove(sequence);
            int vocabulary = (int)logits.Shape[2];
            _metrics.FirstToken(Stopwatch.GetElapsedTime(sequence.LastTokenAt));
            sequence.LastTokenAt = Stopwatch.GetTimestamp();
            if (sequence.Advance(logits.Data.AsSpan((count - 1) * vocabulary, vocabulary), _model.Generation.EosTokenIds))
            {
                ReleaseOwnCache(sequence);
                Leave(sequence);
                return;
            }
            Relayout(Enumerable.Range(0, _active.Count).ToList(), joining: sequence);
            _metrics.ActiveSequencesChanged(1);
        }
        catch (Exception ex)
        {
            _prefilling.Remove(sequence);
            ReleaseOwnCache(sequence);
            Leave(sequence);
            sequence.Fail(ex);
        }
    }

    /// <summary>Hands a sequence's own (prefill) cache back to its pool.</summary>
    private void ReleaseOwnCache(ActiveSequence sequence)
    {
        if (sequence.Cache is { } cache)
        {
            _prefillPool.Return(cache);
            sequence.Cache = null;
        }
    }

    /// <summary>One token for every decoding sequence in a single decoder call.</summary>
    private void Step()
    {
        DecoderSessions sessions = _model.Sessions;
        int batch = _active.Count;
        int longest = _batch!.Length;
        long[] tokens = _active.Select(s => (long)s.LastToken).ToArray();
        long[] positions = _active.Select(s => (long)s.CacheLength).ToArray();
        var mask = new long[batch * (longest + 1)];
        for (int b = 0; b < batch; b++)
        {
            int padding = longest - _active[b].CacheLength;
            Array.Fill(mask, 1L, (b * (longest + 1)) + padding, longest + 1 - padding);
        }
        _metrics.BatchExecuted(_stage, batch);
        Tensor<float> logits;
        try
        {
            Tensor<float> embeds = sessions.EmbedTokens(tokens, batch, 1, _stopping.Token);
            KvCache past = _batch!;
            // The pass takes the batch's cache: whatever happens, it is not the batch's any more.
            _batch = null;
            (logits, _batch) = sessions.DecodeTakingPast(embeds, mask, positions, past, _batchPool, _stopping.Token);
        }
        catch (Exception ex) when (!_stopping.IsCancellationRequested)
        {
            // A failed step fails the sequences in it; the loop goes on serving new ones.
            foreach (ActiveSequence sequence in _active)
            {
                sequence.Fail(ex);
                Leave(sequence);
            }
            _metrics.ActiveSequencesChanged(-_active.Count);
            Relayout([], joining: null);
            return;
        }
        int vocabulary = (int)logits.Shape[2];
        var staying = new List<int>(batch);
        for (int b = 0; b < batch; b++)
        {
            ActiveSequence sequence = _active[b];
            sequence.CacheLength++;
            _metrics.NextToken(Stopwatch.GetElapsedTime(sequence.LastTokenAt));
            sequence.LastTokenAt = Stopwatch.GetTimestamp();
            if (sequence.Advance(logits.Data.AsSpan(b * vocabulary, vocabulary), _model.Generation.EosTokenIds))
            {
                Leave(sequence);
                _metrics.ActiveSequencesChanged(-1);
            }
            else
            {
                staying.Add(b);
            }
        }
        if (staying.Count < batch)
        {
            Relayout(staying, joining: null);
        }
    }

    /// <summary>
    /// Changes the batch's membership: the rows of <paramref name="staying"/> (indices into the current batch) keep
    /// their order and <paramref name="joining"/>, with its own cache from prefill, comes last. The rows are copied
    /// into pooled arrays only as long as the longest member needs.
    /// </summary>
    private void Relayout(List<int> staying, ActiveSequence? joining)
    {
        DecoderSessions sessions = _model.Sessions;
        var rows = staying.Select(b => new CacheRow(_batch!, b, _active[b].CacheLength)).ToList();
        var members = staying.Select(b => _active[b]).ToList();
        if (joining is not null)
        {
            rows.Add(new CacheRow(joining.Cache!, 0, joining.CacheLength));
            members.Add(joining);
        }
        KvCache? previous = _batch;
        if (rows.Count == 0)
        {
            _batch = null;
            if (previous is not null)
            {
                _batchPool.Return(previous);
            }
        }
        else
        {
            // Each layer of the old batch goes back to the pool once copied, so the next layer's rows can land in it:
            // a re-layout holds one cache and one layer, not two caches.
            _batch = sessions.Gather(rows, rows.Max(r => r.Length), _batchPool.Rent,
                previous is null ? null : layer => _batchPool.Return(previous, layer));
        }
        if (joining is not null)
        {
            ReleaseOwnCache(joining);
        }
        _active.Clear();
        _active.AddRange(members);
    }

    public async ValueTask DisposeAsync()
    {
        _incoming.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}

/// <summary>
/// A batch decoder's limits: sequences holding a cache, sequences waiting, KV-cache bytes, prefill chunk length, the
/// longest pause of the running batch for joiners, and the width below which it pauses.
/// </summary>
internal sealed record DecoderLimits(int MaxActive, int MaxWaiting, long MaxCacheBytes, int PrefillChunkTokens, TimeSpan MaxJoinWait, int JoinWaitUntilWidth)
{
    public static DecoderLimits From(GenerationOptions options) =>
        new(options.MaxConcurrentSequences, options.MaxWaitingSequences, options.MaxKvCacheBytes, options.PrefillChunkTokens, options.MaxJoinWait,
            options.JoinWaitUntilWidth > 0 ? Math.Min(options.JoinWaitUntilWidth, options.MaxConcurrentSequences) : options.MaxConcurrentSequences);
}

/// <summary>A request whose prompt and max_tokens could never fit the model's KV-cache budget (422).</summary>
public sealed class CacheBudgetExceededException : Exception
{
    public CacheBudgetExceededException(string message) : base(message) { }

    public CacheBudgetExceededException() : base("The request needs more KV cache than the model's budget.") { }

    public CacheBudgetExceededException(string message, Exception innerException) : base(message, innerException) { }
}
