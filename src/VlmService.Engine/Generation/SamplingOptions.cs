namespace VlmService.Engine.Generation;

/// <summary>How to pick tokens and when to stop.</summary>
public sealed record SamplingOptions
{
    public int MaxTokens { get; init; } = 64;

    /// <summary>0 (or unset) = greedy.</summary>
    public double Temperature { get; init; }

    public double TopP { get; init; } = 1.0;

    public int TopK { get; init; }

    public int? Seed { get; init; }

    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Generate exactly <see cref="MaxTokens"/>: end-of-sequence ids are masked out, as min_new_tokens does.</summary>
    public bool IgnoreEos { get; init; }

    public bool IsGreedy => Temperature <= 0;
}
