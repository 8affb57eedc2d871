namespace VlmService.Contracts;

/// <summary>POST /caption and POST /vqa (which also requires <see cref="Question"/>).</summary>
public sealed record GenerateRequest
{
    public string? Model { get; init; }

    public ImageField? Image { get; init; }

    /// <summary>/caption: the instruction (default per model, see the operation description).</summary>
    public string? Prompt { get; init; }

    /// <summary>/vqa: the question about the image.</summary>
    public string? Question { get; init; }

    public int? MaxTokens { get; init; }

    public double? Temperature { get; init; }

    public double? TopP { get; init; }

    public int? TopK { get; init; }

    public int? Seed { get; init; }

    public List<string>? Stop { get; init; }

    public bool? Stream { get; init; }

    /// <summary>Generate exactly max_tokens (for benchmarks).</summary>
    public bool? IgnoreEos { get; init; }

    /// <summary>SmolVLM: split large images into tiles (default from the model's preprocessor_config.json).</summary>
    public bool? DoImageSplitting { get; init; }
}

public sealed record GenerationUsageData(int PromptTokens, int ImageTokens, int CompletionTokens);

public sealed record CaptionResponse(string Model, string Caption, string FinishReason, GenerationUsageData Usage);

public sealed record VqaResponse(string Model, string Answer, string FinishReason, GenerationUsageData Usage);
