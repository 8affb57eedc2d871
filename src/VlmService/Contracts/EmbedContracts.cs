namespace VlmService.Contracts;

/// <summary>POST /embed. Each input is an image (base64 or data: URL) or a text.</summary>
public sealed record EmbedRequest
{
    public string? Model { get; init; }

    public List<EmbedInputItem>? Inputs { get; init; }

    /// <summary>Scale each embedding to unit length (default true), so dot product = cosine similarity.</summary>
    public bool? Normalize { get; init; }
}

public sealed record EmbedInputItem
{
    public ImageField? Image { get; init; }

    public string? Text { get; init; }
}

public sealed record EmbedResponse(string Model, int Dimensions, IReadOnlyList<EmbeddingData> Data, EmbedUsage Usage);

public sealed record EmbeddingData(int Index, string Kind, float[] Embedding);

public sealed record EmbedUsage(int Images, int TextTokens);
