namespace VlmService.Engine.Generation;

/// <summary>Defaults and limits for /caption, /vqa and describe-then-classify.</summary>
public sealed record GenerationOptions
{
    public const string Section = "Generation";

    /// <summary>The instruction /caption sends when the request has no prompt.</summary>
    public string DefaultCaptionPrompt { get; set; } = "Describe this image in one sentence.";

    /// <summary>Per-model caption instructions, by model id, overriding <see cref="DefaultCaptionPrompt"/>.</summary>
    public Dictionary<string, string> CaptionPrompts { get; set; } = [];

    /// <summary>The instruction describe-then-classify uses to get the description.</summary>
    public string DescribePrompt { get; set; } = "Describe this image in detail.";

    public int DefaultMaxTokens { get; set; } = 64;

    public int MaxTokensLimit { get; set; } = 1024;

    /// <summary>Sequences decoded together per model in one batch; more wait to join.</summary>
    public int MaxConcurrentSequences { get; set; } = 16;

    /// <summary>Sequences waiting to join a model's batch before new requests get 503.</summary>
    public int MaxWaitingSequences { get; set; } = 64;

    public string CaptionPromptFor(string modelId) => CaptionPrompts.GetValueOrDefault(modelId) ?? DefaultCaptionPrompt;
}
