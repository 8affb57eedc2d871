using System.Diagnostics;
using VlmService.Engine.Generation;
using VlmService.Onnx;

namespace VlmService.Bench;

/// <summary>
/// One prompt prefilled and copied <c>width</c> times into a left-padded batch, then decoded greedily a step at a time
/// with the cache handed from step to step untouched, as the service's batch runs while no sequence joins or leaves.
/// </summary>
internal sealed class DecodingBatch : IDisposable
{
    private readonly DecoderSessions _sessions;
    private readonly KvBufferPool _pool;
    private long[] _tokens;
    private KvCache _cache;

    public DecodingBatch(GenerativeModel model, int[] ids, float[] features, int width)
    {
        _sessions = model.Sessions;
        (KvCache cache, int first) = Prefill(model, ids, features);
        using (cache)
        {
            _cache = _sessions.LeftPad(Enumerable.Repeat(cache, width).ToList(), cache.Length);
        }
        _tokens = Enumerable.Repeat((long)first, width).ToArray();
        _pool = new KvBufferPool(_sessions.NewCacheBuffer);
    }

    /// <summary>The tokens the last step chose, one per row.</summary>
    public IReadOnlyList<long> Tokens => _tokens;

    /// <summary>One decode step of the whole batch; returns how long it took.</summary>
    public TimeSpan Step()
    {
        long start = Stopwatch.GetTimestamp();
        int width = _tokens.Length;
        int length = _cache.Length;
        long[] mask = Enumerable.Repeat(1L, width * (length + 1)).ToArray();
        long[] positions = Enumerable.Repeat((long)length, width).ToArray();
        Tensor<float> embeds = _sessions.EmbedTokens(_tokens, width, 1, CancellationToken.None);
        (Tensor<float> logits, KvCache present) = _sessions.DecodeTakingPast(embeds, mask, positions, _cache, _pool, CancellationToken.None);
        _cache = present;
        int vocabulary = (int)logits.Shape[2];
        for (int b = 0; b < width; b++)
        {
            _tokens[b] = ArgMax(logits.Data.AsSpan(b * vocabulary, vocabulary));
        }
        return Stopwatch.GetElapsedTime(start);
    }

    /// <summary>
    /// Keeps only <paramref name="rows"/> of the batch, in that order, as when other sequences leave it: their cache
    /// rows move into a new batch where the caches live (on the GPU, through the model's row-moving graph).
    /// </summary>
    public void Keep(IReadOnlyList<int> rows)
    {
        KvCache kept = _sessions.Gather(rows.Select(r => new CacheRow(_cache, r, _cache.Length)).ToList(), _cache.Length, _sessions.NewCacheBuffer);
        _cache.Dispose();
        _cache = kept;
        _tokens = rows.Select(r => _tokens[r]).ToArray();
    }

    /// <summary>The prompt alone through the decoder: its cache and the first token it chooses.</summary>
    public static (KvCache Cache, int First) Prefill(GenerativeModel model, int[] ids, float[] features)
    {
        DecoderSessions sessions = model.Sessions;
        Tensor<float> embeds = sessions.EmbedTokens(ids.Select(i => (long)i).ToArray(), 1, ids.Length, CancellationToken.None);
        ImageFeatures.Merge(model.ImageTokenId, ids, 0, embeds, features);
        long[] mask = Enumerable.Repeat(1L, ids.Length).ToArray();
        long[] positions = Enumerable.Range(0, ids.Length).Select(i => (long)i).ToArray();
        (Tensor<float> logits, KvCache cache) = sessions.Decode(embeds, mask, positions, KvCache.Empty(sessions.Layers), CancellationToken.None);
        int vocabulary = (int)logits.Shape[2];
        return (cache, ArgMax(logits.Data.AsSpan((ids.Length - 1) * vocabulary, vocabulary)));
    }

    public void Dispose()
    {
        _cache.Dispose();
        _pool.Clear();
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }
}
