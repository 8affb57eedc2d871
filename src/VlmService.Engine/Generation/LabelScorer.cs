using System.Text.Json.Nodes;
using VlmService.Onnx;

namespace VlmService.Engine.Generation;

/// <summary>
/// Describe-then-classify scoring: the LLM reads a prompt holding the image description and the candidate
/// labels, and each label is scored by the log-likelihood of its tokens as the answer. The prompt runs once;
/// all labels continue from its KV cache together in one decoder call (right-padded, masked).
/// </summary>
internal static class LabelScorer
{
    public static string Question(string description, IReadOnlyList<string> labels) =>
        $"Image description: {description.Trim()}\nWhich of these labels fits the image best? Options: {string.Join(", ", labels)}.\nAnswer with one label.";

    /// <summary>The scoring prompt's ids and each label's continuation ids.</summary>
    public static (int[] Prompt, int[][] Labels) Tokenize(GenerativeModel model, string description, IReadOnlyList<string> labels)
    {
        var messages = new JsonArray(new JsonObject
        {
            ["role"] = "user",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = Question(description, labels) }),
        });
        int[] prompt = [.. model.Tokenizer.Encode(model.Template.Render(messages, addGenerationPrompt: true)).Ids];
        int[][] continuations = labels.Select(label => model.Tokenizer.Encode(" " + label, addSpecialTokens: false).Ids.ToArray()).ToArray();
        return (prompt, continuations);
    }

    /// <summary>Sum of log-probabilities of each label's tokens after the prompt.</summary>
    public static double[] LogLikelihoods(GenerativeModel model, int[] prompt, int[][] labels, CancellationToken cancellationToken)
    {
        DecoderSessions sessions = model.Sessions;
        int p = prompt.Length;
        Tensor<float> promptEmbeds = sessions.EmbedTokens(prompt.Select(i => (long)i).ToArray(), 1, p, cancellationToken);
        (Tensor<float> promptLogits, KvCache promptCache) = sessions.Decode(promptEmbeds, Ones(p), Range(0, p), KvCache.Empty(sessions.Layers), cancellationToken);
        using KvCache ownedPromptCache = promptCache;
        int vocabulary = (int)promptLogits.Shape[2];
        float[] lastPromptLogits = promptLogits.Data.AsSpan((p - 1) * vocabulary, vocabulary).ToArray();

        int batch = labels.Length;
        int longest = labels.Max(l => l.Length);
        var ids = new long[batch * longest];
        var mask = new long[batch * (p + longest)];
        var positions = new long[batch * longest];
        for (int b = 0; b < batch; b++)
        {
            Array.Fill(mask, 1L, b * (p + longest), p + labels[b].Length);
            for (int j = 0; j < longest; j++)
            {
                ids[(b * longest) + j] = j < labels[b].Length ? labels[b][j] : labels[b][^1];
                positions[(b * longest) + j] = p + j;
            }
        }
        using KvCache shared = sessions.LeftPad(Enumerable.Repeat(promptCache, batch).ToList(), p);
        Tensor<float> embeds = sessions.EmbedTokens(ids, batch, longest, cancellationToken);
        (Tensor<float> logits, KvCache labelsCache) = sessions.Decode(embeds, mask, positions, shared, cancellationToken);
        labelsCache.Dispose();

        var scores = new double[batch];
        for (int b = 0; b < batch; b++)
        {
            double total = LogSoftmaxAt(lastPromptLogits, labels[b][0]);
            for (int j = 1; j < labels[b].Length; j++)
            {
                total += LogSoftmaxAt(logits.Data.AsSpan(((b * longest) + j - 1) * vocabulary, vocabulary), labels[b][j]);
            }
            scores[b] = total;
        }
        return scores;
    }

    internal static double LogSoftmaxAt(ReadOnlySpan<float> logits, int index)
    {
        double max = double.NegativeInfinity;
        foreach (float v in logits)
        {
            max = Math.Max(max, v);
        }
        double sum = 0;
        foreach (float v in logits)
        {
            sum += Math.Exp(v - max);
        }
        return logits[index] - max - Math.Log(sum);
    }

    private static long[] Ones(int count) => Enumerable.Repeat(1L, count).ToArray();

    private static long[] Range(int start, int count) => Enumerable.Range(start, count).Select(i => (long)i).ToArray();
}
