namespace VlmService.Contracts;

/// <summary>POST /classify.</summary>
public sealed record ClassifyRequest
{
    public string? Model { get; init; }

    /// <summary>"zero-shot" (CLIP-family models) or "describe" (generative models); by default the one the model supports.</summary>
    public string? Mode { get; init; }

    public ImageField? Image { get; init; }

    public List<string>? Labels { get; init; }

    /// <summary>Prompt per label; the first "{}" is replaced by the label. Default "a photo of a {}.".</summary>
    public string? Template { get; init; }

    public int? TopK { get; init; }

    /// <summary>describe: the instruction for the description (default Generation:DescribePrompt).</summary>
    public string? Prompt { get; init; }

    /// <summary>describe: the longest description, in tokens.</summary>
    public int? MaxTokens { get; init; }
}

public sealed record ClassifyResponse(string Model, string Mode, IReadOnlyList<PredictionData> Predictions, string? Description = null);

public sealed record PredictionData(string Label, double Score);
