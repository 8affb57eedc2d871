using VlmService.Engine.Generation;
using VlmService.ModelKit;
using VlmService.ModelKit.Families;
using VlmService.ModelKit.Onnx;
using VlmService.Onnx;

namespace VlmService.Tests.Generation;

/// <summary>Decode steps that write each layer's present over the previous layer's past, and the check that allows it.</summary>
[Collection(ModelFoldersCollection.Name)]
public sealed class CacheReuseTests(ModelFolders folders)
{
    private static readonly SessionSettings Cpu = new() { Provider = ExecutionProviderKind.Cpu };

    [Fact]
    public void Steps_over_a_reused_cache_give_the_same_logits_and_cache_as_steps_into_fresh_buffers()
    {
        using DecoderSessions sessions = DecoderSessions.Open(folders.SmolVlm, Cpu);
        Assert.True(sessions.WritesPresentOverPreviousPast);
        var pool = new KvBufferPool();
        using KvCache prompt = Prefill(sessions, out long[] tokens);
        KvCache fresh = sessions.LeftPad([prompt, prompt], prompt.Length);
        KvCache reused = sessions.LeftPad([prompt, prompt], prompt.Length);
        // Enough steps for the reused buffers (an eighth of headroom) to be outgrown, and grown in place, several times.
        for (int step = 0; step < 40; step++)
        {
            int length = fresh.Length;
            long[] mask = Enumerable.Repeat(1L, 2 * (length + 1)).ToArray();
            long[] positions = [length, length];
            Tensor<float> embeds = sessions.EmbedTokens(tokens, 2, 1, CancellationToken.None);
            (Tensor<float> expectedLogits, KvCache next) = sessions.Decode(embeds, mask, positions, fresh, CancellationToken.None);
            fresh.Dispose();
            fresh = next;
            (Tensor<float> logits, reused) = sessions.DecodeTakingPast(embeds, mask, positions, reused, pool, CancellationToken.None);
            Assert.Equal(expectedLogits.Data, logits.Data.AsSpan(0, expectedLogits.Data.Length).ToArray());
            AssertSameEntries(fresh, reused, 2 * sessions.KeyValueHeads * fresh.Length * sessions.HeadDim);
            tokens = [ArgMax(expectedLogits.Data.AsSpan(0, expectedLogits.Data.Length / 2)), ArgMax(expectedLogits.Data.AsSpan(expectedLogits.Data.Length / 2))];
        }
        fresh.Dispose();
        reused.Dispose();
        pool.Clear();
    }

    [Fact]
    public void A_decoder_that_reads_a_past_after_a_later_layer_has_begun_keeps_its_presents_apart()
    {
        string folder = Path.Combine(folders.Root, "smolvlm-late-past-read");
        Directory.CreateDirectory(Path.Combine(folder, "onnx"));
        foreach (string file in Directory.GetFiles(folders.SmolVlm, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(folder, Path.GetRelativePath(folders.SmolVlm, file)), overwrite: true);
        }
        (_, DecoderSpec text) = GenerativeSpecs.SmolVlm("tiny", vocabSize: 100);
        ModelFolderWriter.WriteGraph(folder, "decoder_model_merged.onnx", WithLateFirstPastRead(GenerativeGraphs.Decoder(text, new WeightSource(7))));

        using DecoderSessions sessions = DecoderSessions.Open(folder, Cpu);
        Assert.False(sessions.WritesPresentOverPreviousPast);
        var pool = new KvBufferPool();
        using KvCache past = Prefill(sessions, out long[] tokens);
        KvCache taken = sessions.LeftPad([past], past.Length);
        long[] mask = Enumerable.Repeat(1L, past.Length + 1).ToArray();
        Tensor<float> embeds = sessions.EmbedTokens(tokens[..1], 1, 1, CancellationToken.None);
        (Tensor<float> expectedLogits, KvCache expected) = sessions.Decode(embeds, mask, [past.Length], past, CancellationToken.None);
        (Tensor<float> logits, KvCache present) = sessions.DecodeTakingPast(embeds, mask, [past.Length], taken, pool, CancellationToken.None);
        Assert.Equal(expectedLogits.Data, logits.Data.AsSpan(0, expectedLogits.Data.Length).ToArray());
        AssertSameEntries(expected, present, sessions.KeyValueHeads * expected.Length * sessions.HeadDim);
        expected.Dispose();
        present.Dispose();
        pool.Clear();
    }

    /// <summary>The logits plus a mean that reads past_key_values.0.key only once the last layer is done.</summary>
    private static GraphBuilder WithLateFirstPastRead(GraphBuilder decoder)
    {
        int head = decoder.Nodes.FindIndex(n => n.Outputs.Contains("logits"));
        decoder.Nodes[head] = decoder.Nodes[head] with { Outputs = ["logits_before_late_read"] };
        string logitsMean = decoder.Node("ReduceMean", ["logits_before_late_read"], ("keepdims", 0L));
        string late = decoder.Node("ReduceMean", [decoder.Node("Add", ["past_key_values.0.key", logitsMean])], ("keepdims", 0L));
        decoder.Node("Add", ["logits_before_late_read", late], ["logits"]);
        return decoder;
    }

    /// <summary>A two-token prompt (ids 1, 2) through the decoder; the greedy next token of it.</summary>
    private static KvCache Prefill(DecoderSessions sessions, out long[] next)
    {
        Tensor<float> embeds = sessions.EmbedTokens([1, 2], 1, 2, CancellationToken.None);
        (Tensor<float> logits, KvCache cache) = sessions.Decode(embeds, [1, 1], [0, 1], KvCache.Empty(sessions.Layers), CancellationToken.None);
        int vocabulary = (int)logits.Shape[2];
        long token = ArgMax(logits.Data.AsSpan(vocabulary, vocabulary));
        next = [token, token];
        return cache;
    }

    private static void AssertSameEntries(KvCache expected, KvCache actual, int elements)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int layer = 0; layer < expected.Keys.Length; layer++)
        {
            Assert.Equal(expected.Keys[layer].Span[..elements].ToArray(), actual.Keys[layer].Span[..elements].ToArray());
            Assert.Equal(expected.Values[layer].Span[..elements].ToArray(), actual.Values[layer].Span[..elements].ToArray());
        }
    }

    /// <summary>The engine's greedy choice.</summary>
    internal static long ArgMax(ReadOnlySpan<float> logits) => new TokenSelector(new SamplingOptions(), []).Select(logits);
}
