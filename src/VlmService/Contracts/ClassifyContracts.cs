namespace VlmService.Contracts;

/// <summary>POST /classify.</summary>
public sealed record ClassifyRequest
{
    public string? Model { get; init; }

    /// <summary>"zero-shot" (CLIP-family models; the default).</summary>
    public string? Mode { get; init; }

    public string? Image { get; init; }

    public List<string>? Labels { get; init; }

    /// <summary>Prompt per label; the first "{}" is replaced by the label. Default "a photo of a {}.".</summary>
    public string? Template { get; init; }

    public int? TopK { get; init; }
}

public sealed record ClassifyResponse(string Model, string Mode, IReadOnlyList<PredictionData> Predictions);

public sealed record PredictionData(string Label, double Score);
