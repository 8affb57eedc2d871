namespace VlmService.Text;

/// <summary>Token ids and their token strings, in order.</summary>
public sealed record TokenEncoding(IReadOnlyList<int> Ids, IReadOnlyList<string> Tokens);

/// <summary>A padded batch: <c>[batch, length]</c> ids and attention mask, row-major.</summary>
public sealed record TokenBatch(long[] Ids, long[] AttentionMask, int BatchSize, int Length)
{
    /// <summary>Tokens that are not padding, summed over the batch.</summary>
    public int RealTokenCount => (int)AttentionMask.Sum();
}

public enum Padding
{
    None,
    Longest,
    MaxLength,
}
