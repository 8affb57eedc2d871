using System.Threading.Channels;

namespace VlmService.Engine.Generation;

/// <summary>One sequence in the decode batch: its own cache, prefill progress, sampler, text state and output channel.</summary>
internal sealed class ActiveSequence(PreparedPrompt prompt, SamplingOptions options, GenerativeModel model, long reservedBytes, CancellationToken cancellationToken)
{
    public PreparedPrompt Prompt { get; } = prompt;

    public SamplingOptions Options { get; } = options;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public Channel<GenerationUpdate> Output { get; } = Channel.CreateUnbounded<GenerationUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public TokenSelector Selector { get; } = new(options, options.IgnoreEos ? model.Generation.EosTokenIds : []);

    public IncrementalDetokenizer Detokenizer { get; } = new(model.Tokenizer, options.Stop);

    /// <summary>KV-cache bytes held for this sequence from admission until it leaves: prompt plus max_tokens.</summary>
    public long ReservedBytes { get; } = reservedBytes;

    /// <summary>Prompt tokens already through the decoder; the sequence decodes once this reaches the prompt's length.</summary>
    public int PrefillOffset { get; set; }

    /// <summary>
    /// Per-layer key/value of this sequence alone: [1, kvHeads, Length, headDim]. Null while the sequence's entries
    /// live in the decoding batch's shared layout.
    /// </summary>
    public KvCache? Cache { get; set; }

    /// <summary>Positions in this sequence's cache, wherever the cache lives.</summary>
    public int CacheLength { get; set; }

    public int Generated { get; set; }

    public int LastToken { get; set; }

    /// <summary>Timestamp of the last token (or of submission, before the first).</summary>
    public long LastTokenAt { get; set; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>Takes the next token from <paramref name="logits"/>, emits its text; true when the sequence is finished.</summary>
    public bool Advance(ReadOnlySpan<float> logits, IReadOnlyList<int> eosIds)
    {
        int token = Selector.Select(logits);
        Generated++;
        LastToken = token;
        string delta = Detokenizer.Add(token);
        string? finish = Detokenizer.Stopped || (!Options.IgnoreEos && eosIds.Contains(token)) ? "stop"
            : Generated >= Options.MaxTokens ? "length"
            : null;
        if (finish is not null)
        {
            Output.Writer.TryWrite(new GenerationUpdate(delta + Detokenizer.Flush(), finish, Generated));
            Output.Writer.TryComplete();
            return true;
        }
        if (delta.Length > 0)
        {
            Output.Writer.TryWrite(new GenerationUpdate(delta, null, Generated));
        }
        return false;
    }

    public void Fail(Exception error)
    {
        Output.Writer.TryComplete(error);
    }
}
