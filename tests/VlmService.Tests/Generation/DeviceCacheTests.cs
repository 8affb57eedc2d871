using VlmService.Engine.Generation;
using VlmService.Native;
using VlmService.Onnx;

namespace VlmService.Tests.Generation;

/// <summary>
/// KV caches kept in the decoder's device memory, as on a GPU. Here the device is ONNX Runtime's host allocator behind
/// the same path: host code cannot read those buffers, so anything that would only work on host memory fails.
/// </summary>
[Collection(ModelFoldersCollection.Name)]
public sealed class DeviceCacheTests(ModelFolders folders)
{
    private static readonly SessionSettings Cpu = new() { Provider = ExecutionProviderKind.Cpu };

    [Fact]
    public void Device_caches_come_from_the_decoders_allocator_and_host_code_cannot_touch_them()
    {
        using DecoderSessions device = DecoderSessions.Open(folders.SmolVlm, Cpu, cacheOnDevice: true);
        using DecoderSessions host = DecoderSessions.Open(folders.SmolVlm, Cpu);

        Assert.Equal("Cpu:0", device.CacheMemory);
        Assert.Null(host.CacheMemory);
        Assert.False(device.WritesPresentOverPreviousPast);
        using NativeBuffer<float> buffer = device.NewCacheBuffer(64);
        Assert.NotNull(buffer.Allocator);
        Assert.Throws<InvalidOperationException>(() => buffer.Span.Length);
    }

    [Fact]
    public void Moving_rows_with_the_graph_gives_the_host_layout_and_zeros_whatever_the_padding_held()
    {
        using DecoderSessions sessions = DecoderSessions.Open(folders.SmolVlm, Cpu, cacheOnDevice: true);
        using var device = new DeviceCaches(sessions.Decoder);
        const int kvHeads = 2;
        const int headDim = 3;
        // Three caches: a batch of three rows (length 6), one of one row (length 4) and one of two rows (length 9). The
        // positions left of each row's entries hold NaN, which the new layout must not carry over.
        using KvCache wide = MadeUp(rows: 3, length: 6, entries: [6, 2, 5], kvHeads, headDim, seed: 1);
        using KvCache single = MadeUp(rows: 1, length: 4, entries: [4], kvHeads, headDim, seed: 2);
        using KvCache longer = MadeUp(rows: 2, length: 9, entries: [3, 9], kvHeads, headDim, seed: 3);
        CacheRow[][] cases =
        [
            // Rows dropped, one joins from another cache: consecutive rows of one cache move in one run.
            [new(wide, 0, 6), new(wide, 2, 5), new(single, 0, 4)],
            // The longest leaves: the layout shortens and the kept rows are cut on the left.
            [new(wide, 1, 2), new(wide, 2, 5)],
            // A longer joiner: rows of the shorter cache are widened with zeros; rows out of order.
            [new(wide, 2, 5), new(longer, 1, 9), new(wide, 0, 6), new(longer, 0, 3)],
        ];
        foreach (CacheRow[] rows in cases)
        {
            int length = rows.Max(r => r.Length);
            using KvCache expected = CacheLayout.Gather(rows, length, kvHeads, headDim, n => new NativeBuffer<float>(n));
            using KvCache actual = device.Gather(rows, length, kvHeads, headDim, n => new NativeBuffer<float>(n));
            int elements = rows.Length * kvHeads * length * headDim;
            Assert.Equal(length, actual.Length);
            for (int layer = 0; layer < expected.Keys.Length; layer++)
            {
                Assert.Equal(expected.Keys[layer].Span[..elements].ToArray(), actual.Keys[layer].Span[..elements].ToArray());
                Assert.Equal(expected.Values[layer].Span[..elements].ToArray(), actual.Values[layer].Span[..elements].ToArray());
            }
        }
    }

    [Fact]
    public void Decoding_over_device_caches_gives_the_same_logits_as_host_caches_through_joins_and_leaves()
    {
        using DecoderSessions host = DecoderSessions.Open(folders.SmolVlm, Cpu);
        using DecoderSessions device = DecoderSessions.Open(folders.SmolVlm, Cpu, cacheOnDevice: true);

        List<float[]> expected = JoinStepLeave(host);
        List<float[]> actual = JoinStepLeave(device);

        Assert.Equal(10, expected.Count);
        Assert.Equal(expected.Count, actual.Count);
        for (int step = 0; step < expected.Count; step++)
        {
            Assert.Equal(expected[step], actual[step]);
        }
    }

    /// <summary>
    /// What the batch decoder does to a cache, step by step: a 3-token prompt decodes alone for 3 steps, a 7-token one
    /// joins, both decode for 3 steps, the first leaves (the layout shortens), the second decodes 2 more. Returns each
    /// pass's logits, greedy tokens fed back.
    /// </summary>
    private static List<float[]> JoinStepLeave(DecoderSessions sessions)
    {
        var pool = new KvBufferPool(sessions.NewCacheBuffer);
        var logits = new List<float[]>();
        try
        {
            (KvCache first, long firstToken) = Prefill(sessions, [1, 2, 3], logits);
            KvCache batch = sessions.Gather([new CacheRow(first, 0, first.Length)], first.Length, pool.Rent);
            first.Dispose();
            int[] lengths = [batch.Length];
            long[] tokens = [firstToken];
            batch = Steps(sessions, batch, pool, lengths, ref tokens, 3, logits);

            (KvCache second, long secondToken) = Prefill(sessions, [4, 5, 6, 7, 8, 9, 10], logits);
            KvCache joined = sessions.Gather([new CacheRow(batch, 0, lengths[0]), new CacheRow(second, 0, second.Length)],
                Math.Max(lengths[0], second.Length), pool.Rent, layer => pool.Return(batch, layer));
            lengths = [lengths[0], second.Length];
            second.Dispose();
            tokens = [tokens[0], secondToken];
            batch = Steps(sessions, joined, pool, lengths, ref tokens, 3, logits);

            KvCache left = sessions.Gather([new CacheRow(batch, 1, lengths[1])], lengths[1], pool.Rent, layer => pool.Return(batch, layer));
            lengths = [lengths[1]];
            tokens = [tokens[1]];
            batch = Steps(sessions, left, pool, lengths, ref tokens, 2, logits);
            pool.Return(batch);
            return logits;
        }
        finally
        {
            pool.Clear();
        }
    }

    private static (KvCache Cache, long Next) Prefill(DecoderSessions sessions, long[] prompt, List<float[]> logits)
    {
        Tensor<float> embeds = sessions.EmbedTokens(prompt, 1, prompt.Length, CancellationToken.None);
        long[] mask = Enumerable.Repeat(1L, prompt.Length).ToArray();
        long[] positions = Enumerable.Range(0, prompt.Length).Select(i => (long)i).ToArray();
        (Tensor<float> result, KvCache cache) = sessions.Decode(embeds, mask, positions, KvCache.Empty(sessions.Layers), CancellationToken.None);
        int vocabulary = (int)result.Shape[2];
        float[] last = result.Data.AsSpan((prompt.Length - 1) * vocabulary, vocabulary).ToArray();
        logits.Add(last);
        return (cache, CacheReuseTests.ArgMax(last));
    }

    private static KvCache Steps(DecoderSessions sessions, KvCache batch, KvBufferPool pool, int[] lengths, ref long[] tokens, int count, List<float[]> logits)
    {
        for (int step = 0; step < count; step++)
        {
            int rows = lengths.Length;
            int longest = batch.Length;
            var mask = new long[rows * (longest + 1)];
            for (int b = 0; b < rows; b++)
            {
                Array.Fill(mask, 1L, (b * (longest + 1)) + longest - lengths[b], lengths[b] + 1);
            }
            long[] positions = lengths.Select(l => (long)l).ToArray();
            Tensor<float> embeds = sessions.EmbedTokens(tokens, rows, 1, CancellationToken.None);
            (Tensor<float> result, batch) = sessions.DecodeTakingPast(embeds, mask, positions, batch, pool, CancellationToken.None);
            int vocabulary = (int)result.Shape[2];
            float[] all = result.Data.AsSpan(0, rows * vocabulary).ToArray();
            logits.Add(all);
            tokens = Enumerable.Range(0, rows).Select(b => CacheReuseTests.ArgMax(all.AsSpan(b * vocabulary, vocabulary))).ToArray();
            for (int b = 0; b < rows; b++)
            {
                lengths[b]++;
            }
        }
        return batch;
    }

    /// <summary>
    /// A host cache [rows, kvHeads, length, headDim] whose row b holds made-up entries in its last entries[b] positions
    /// and NaN before them; two layers.
    /// </summary>
    private static KvCache MadeUp(int rows, int length, int[] entries, int kvHeads, int headDim, int seed)
    {
        NativeBuffer<float> Layer(int salt)
        {
            var buffer = new NativeBuffer<float>(rows * kvHeads * length * headDim);
            Span<float> span = buffer.Span;
            for (int i = 0; i < span.Length; i++)
            {
                int row = i / (kvHeads * length * headDim);
                int position = i / headDim % length;
                span[i] = position < length - entries[row] ? float.NaN : MathF.Sin((0.41f * i) + seed + (7 * salt));
            }
            return buffer;
        }
        return new KvCache([Layer(0), Layer(1)], [Layer(2), Layer(3)], length);
    }

}
