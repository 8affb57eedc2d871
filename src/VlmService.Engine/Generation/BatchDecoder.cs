using System.Threading.Channels;
using VlmService.Engine.Diagnostics;
using VlmService.Onnx;

namespace VlmService.Engine.Generation;

/// <summary>
/// Iteration-level batching for one model: a single loop admits new sequences between steps (each prefilled on
/// its own, so its prompt never depends on the batch), then runs every active sequence's next token in one
/// decoder call. Caches of different lengths are left-padded and the padding masked out; finished or
/// abandoned sequences leave at once and their caches are dropped.
/// </summary>
internal sealed class BatchDecoder : IAsyncDisposable
{
    private readonly GenerativeModel _model;
    private readonly int _maxActive;
    private readonly int _maxWaiting;
    private int _waiting;
    private readonly EngineMetrics _metrics;
    private readonly string _stage;
    private readonly Channel<ActiveSequence> _incoming = Channel.CreateUnbounded<ActiveSequence>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<ActiveSequence> _active = [];
    private readonly Task _loop;
    private int _activeCount;

    public BatchDecoder(GenerativeModel model, int maxActive, int maxWaiting, EngineMetrics metrics)
    {
        _model = model;
        _maxActive = Math.Max(1, maxActive);
        _maxWaiting = Math.Max(1, maxWaiting);
        _metrics = metrics;
        _stage = $"{model.Id}/decoder";
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Sequences in the running batch (holding a cache) right now.</summary>
    public int ActiveCount => Volatile.Read(ref _activeCount);

    /// <summary>Throws <see cref="Batching.QueueFullException"/> (503) when too many sequences already wait to join.</summary>
    public void EnsureCapacity()
    {
        if (Volatile.Read(ref _waiting) >= _maxWaiting)
        {
            _metrics.Rejected("queue_full");
            throw new Batching.QueueFullException(_stage, TimeSpan.FromSeconds(1));
        }
    }

    public ChannelReader<GenerationUpdate> Submit(PreparedPrompt prompt, SamplingOptions options, CancellationToken cancellationToken)
    {
        var sequence = new ActiveSequence(prompt, options, _model, cancellationToken);
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
                if (_active.Count == 0 && !await incoming.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
                {
                    return;
                }
                while (_active.Count < _maxActive && incoming.TryRead(out ActiveSequence? sequence))
                {
                    Interlocked.Decrement(ref _waiting);
                    Prefill(sequence);
                }
                DropAbandoned();
                if (_active.Count > 0)
                {
                    Step();
                }
                Volatile.Write(ref _activeCount, _active.Count);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        finally
        {
            var shutdown = new ObjectDisposedException(nameof(BatchDecoder), "The service is shutting down.");
            _active.ForEach(s => s.Fail(shutdown));
            _metrics.ActiveSequencesChanged(-_active.Count);
            while (incoming.TryRead(out ActiveSequence? left))
            {
                left.Fail(shutdown);
            }
        }
    }

    private void DropAbandoned()
    {
        foreach (ActiveSequence sequence in _active.Where(s => s.CancellationToken.IsCancellationRequested).ToList())
        {
            sequence.Fail(new OperationCanceledException(sequence.CancellationToken));
            _active.Remove(sequence);
            _metrics.ActiveSequencesChanged(-1);
            _metrics.Rejected("cancelled");
        }
    }

    /// <summary>The prompt alone through embed → image merge → decoder; the first token is chosen here.</summary>
    private void Prefill(ActiveSequence sequence)
    {
        if (sequence.CancellationToken.IsCancellationRequested)
        {
            sequence.Fail(new OperationCanceledException(sequence.CancellationToken));
            return;
        }
        try
        {
            DecoderSessions sessions = _model.Sessions;
            int[] ids = sequence.Prompt.Ids;
            Tensor<float> embeds = sessions.EmbedTokens(ids.Select(i => (long)i).ToArray(), 1, ids.Length, sequence.CancellationToken);
            ImageFeatures.Merge(_model.ImageTokenId, ids, embeds, sessions.EncodeImage(sequence.Prompt, sequence.CancellationToken));
            long[] mask = Enumerable.Repeat(1L, ids.Length).ToArray();
            long[] positions = Enumerable.Range(0, ids.Length).Select(i => (long)i).ToArray();
            (Tensor<float> logits, KvCache cache) = sessions.Decode(embeds, mask, positions, KvCache.Empty(sessions.Layers), sequence.CancellationToken);
            int vocabulary = (int)logits.Shape[2];
            sequence.Cache = cache;
            _metrics.FirstToken(System.Diagnostics.Stopwatch.GetElapsedTime(sequence.LastTokenAt));
            sequence.LastTokenAt = System.Diagnostics.Stopwatch.GetTimestamp();
            if (!sequence.Advance(logits.Data.AsSpan((ids.Length - 1) * vocabulary, vocabulary), _model.Generation.EosTokenIds))
            {
                _active.Add(sequence);
                _metrics.ActiveSequencesChanged(1);
            }
        }
        catch (Exception ex)
        {
            sequence.Fail(ex);
        }
    }

    /// <summary>One token for every active sequence in a single decoder call.</summary>
    private void Step()
    {
        DecoderSessions sessions = _model.Sessions;
        int batch = _active.Count;
        int longest = _active.Max(s => s.Cache!.Length);
        long[] tokens = _active.Select(s => (long)s.LastToken).ToArray();
        long[] positions = _active.Select(s => (long)s.Cache!.Length).ToArray();
        var mask = new long[batch * (longest + 1)];
        for (int b = 0; b < batch; b++)
        {
            int padding = longest - _active[b].Cache!.Length;
            Array.Fill(mask, 1L, (b * (longest + 1)) + padding, longest + 1 - padding);
        }
        _metrics.BatchExecuted(_stage, batch);
        KvCache past = CacheLayout.LeftPad(_active.Select(s => s.Cache!).ToList(), longest, sessions.KeyValueHeads, sessions.HeadDim);
        Tensor<float> logits;
        KvCache present;
        try
        {
            Tensor<float> embeds = sessions.EmbedTokens(tokens, batch, 1, _stopping.Token);
            (logits, present) = sessions.Decode(embeds, mask, positions, past, _stopping.Token);
        }
        catch (Exception ex) when (!_stopping.IsCancellationRequested)
        {
            // A failed step fails the sequences in it; the loop goes on serving new ones.
            _active.ForEach(s => s.Fail(ex));
            _metrics.ActiveSequencesChanged(-_active.Count);
            _active.Clear();
            return;
        }
        int vocabulary = (int)logits.Shape[2];
        for (int b = batch - 1; b >= 0; b--)
        {
            ActiveSequence sequence = _active[b];
            int own = sequence.Cache!.Length + 1;
            _metrics.NextToken(System.Diagnostics.Stopwatch.GetElapsedTime(sequence.LastTokenAt));
            sequence.LastTokenAt = System.Diagnostics.Stopwatch.GetTimestamp();
            sequence.Cache = CacheLayout.Take(present, b, longest + 1 - own, own, sessions.KeyValueHeads, sessions.HeadDim);
            if (sequence.Advance(logits.Data.AsSpan(b * vocabulary, vocabulary), _model.Generation.EosTokenIds))
            {
                _active.RemoveAt(b);
                _metrics.ActiveSequencesChanged(-1);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _incoming.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
