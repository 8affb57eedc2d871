namespace VlmService.Text;

/// <summary>The vocabulary model: pre-tokenized pieces in, token strings out.</summary>
internal interface ITokenizerModel
{
    Dictionary<string, int> TokensToIds { get; }

    /// <summary>Id → token; grows when added tokens extend the vocabulary.</summary>
    List<string?> Vocab { get; }

    int? UnknownId { get; }

    string? EndOfWordSuffix { get; }

    /// <summary>Collapse runs of unknown tokens into the first of them (the reference always does for Unigram).</summary>
    bool FuseUnknown { get; }

    IEnumerable<string> Encode(IEnumerable<string> pieces);
}
