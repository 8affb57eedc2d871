using VlmService.Onnx;

namespace VlmService.Engine.Generation;

/// <summary>One piece of output: new text, and on the last update the finish reason and token counts.</summary>
public sealed record GenerationUpdate(string Delta, string? FinishReason, int CompletionTokens);

/// <summary>
/// Generation for one prompt: embed → merge image features at the image-token positions → prefill the decoder →
/// step with the KV cache (attention mask of ones, position = cache length), as the reference does.
/// </summary>
internal static class SequenceGenerator
{
    public static IEnumerable<GenerationUpdate> Run(GenerativeModel model, PreparedPrompt prompt, SamplingOptions options, CancellationToken cancellationToken)
    {
        DecoderSessions sessions = model.Sessions;
        int length = prompt.Ids.Length;
        Tensor<float> embeds = sessions.EmbedTokens(prompt.Ids.Select(i => (long)i).ToArray(), 1, length, cancellationToken);
        MergeImageFeatures(model, prompt, embeds, sessions.EncodeImage(prompt, cancellationToken));

        long[] mask = Enumerable.Repeat(1L, length).ToArray();
        long[] positions = Enumerable.Range(0, length).Select(i => (long)i).ToArray();
        (Tensor<float> logits, KvCache cache) = sessions.Decode(embeds, mask, positions, KvCache.Empty(sessions.Layers, 1), cancellationToken);
        int vocabulary = (int)logits.Shape[2];
        ReadOnlyMemory<float> last = logits.Data.AsMemory((length - 1) * vocabulary, vocabulary);

        var selector = new TokenSelector(options, options.IgnoreEos ? model.Generation.EosTokenIds : []);
        var detokenizer = new IncrementalDetokenizer(model.Tokenizer, options.Stop);
        for (int generated = 1; ; generated++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int token = selector.Select(last.Span);
            string delta = detokenizer.Add(token);
            string? finish = detokenizer.Stopped || (!options.IgnoreEos && model.Generation.EosTokenIds.Contains(token)) ? "stop"
                : generated >= options.MaxTokens ? "length"
                : null;
            if (finish is not null)
            {
                yield return new GenerationUpdate(delta + detokenizer.Flush(), finish, generated);
                yield break;
            }
            if (delta.Length > 0)
            {
                yield return new GenerationUpdate(delta, null, generated);
            }
            Tensor<float> next = sessions.EmbedTokens([token], 1, 1, cancellationToken);
            int past = cache.Length;
            (logits, cache) = sessions.Decode(next, Enumerable.Repeat(1L, past + 1).ToArray(), [past], cache, cancellationToken);
            last = logits.Data.AsMemory(0, vocabulary);
        }
    }

    /// <summary>Overwrites the embeddings at image-token positions with the image features, in order.</summary>
    private static void MergeImageFeatures(GenerativeModel model, PreparedPrompt prompt, Tensor<float> embeds, Tensor<float> features)
    {
        int hidden = (int)embeds.Shape[2];
        int rows = features.Data.Length / hidden;
        int[] positions = prompt.Ids.Select((id, index) => (id, index)).Where(p => p.id == model.ImageTokenId).Select(p => p.index).ToArray();
        if (positions.Length != rows)
        {
            throw new InvalidOperationException($"The prompt has {positions.Length} image tokens but the vision encoder gave {rows} features.");
        }
        for (int r = 0; r < rows; r++)
        {
            Array.Copy(features.Data, r * hidden, embeds.Data, positions[r] * hidden, hidden);
        }
    }
}
