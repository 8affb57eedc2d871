namespace VlmService.Contracts;

/// <summary>POST /tokenize: the ids the model's tokenizer gives, with the special tokens it adds by default.</summary>
public sealed record TokenizeRequest
{
    public string? Model { get; init; }

    public string? Text { get; init; }
}

public sealed record TokenizeResponse(string Model, IReadOnlyList<int> Ids, IReadOnlyList<string> Tokens);
