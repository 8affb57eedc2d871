using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;

namespace VlmService.Text;

/// <summary>
/// Byte-pair encoding: repeatedly merges the adjacent pair of lowest rank (leftmost first on ties),
/// with CLIP's end-of-word suffix and optional byte fallback.
/// </summary>
internal sealed class BpeModel : ITokenizerModel
{
    private const int MaxCachedLength = 256;
    private const int CacheCapacity = 10_000;

    private readonly Dictionary<(string, string), int> _ranks;
    private readonly string? _continuingSubwordSuffix;
    private readonly bool _byteFallback;
    private readonly bool _ignoreMerges;
    private readonly string? _unknownToken;
    private readonly ConcurrentDictionary<string, string[]> _cache = new();

    public BpeModel(Dictionary<string, int> vocab, IEnumerable<(string Left, string Right)> merges, string? unknownToken, string? endOfWordSuffix,
        string? continuingSubwordSuffix, bool byteFallback, bool ignoreMerges, bool fuseUnknown = false)
    {
        FuseUnknown = fuseUnknown;
        TokensToIds = vocab;
        Vocab = new List<string?>(new string?[vocab.Count == 0 ? 0 : vocab.Values.Max() + 1]);
        foreach ((string token, int id) in vocab)
        {
            Vocab[id] = token;
        }
        _ranks = [];
        int rank = 0;
        foreach (var merge in merges)
        {
            _ranks.TryAdd(merge, rank++);
        }
        _unknownToken = unknownToken;
        UnknownId = unknownToken is not null && vocab.TryGetValue(unknownToken, out int unk) ? unk : null;
        EndOfWordSuffix = string.IsNullOrEmpty(endOfWordSuffix) ? null : endOfWordSuffix;
        _continuingSubwordSuffix = string.IsNullOrEmpty(continuingSubwordSuffix) ? null : continuingSubwordSuffix;
        _byteFallback = byteFallback;
        _ignoreMerges = ignoreMerges;
    }

    public static BpeModel FromJson(JsonNode model)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach ((string token, JsonNode? id) in model["vocab"]!.AsObject())
        {
            vocab[token] = id!.GetValue<int>();
        }
        var merges = model["merges"]!.AsArray().Select(m => m is JsonArray pair
            ? (pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>())
            : SplitMerge(m!.GetValue<string>()));
        return new BpeModel(vocab, merges, model["unk_token"]?.GetValue<string>(), model["end_of_word_suffix"]?.GetValue<string>(),
            model["continuing_subword_suffix"]?.GetValue<string>(), model["byte_fallback"]?.GetValue<bool>() ?? false,
            model["ignore_merges"]?.GetValue<bool>() ?? false, model["fuse_unk"]?.GetValue<bool>() ?? false);
    }

    /// <summary>A merges.txt line "a b" (split at the first space, as the reference does).</summary>
    public static (string, string) SplitMerge(string line)
    {
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        string[] parts = line.Split(' ');
        return space < 0 ? (line, string.Empty) : (parts[0], parts.Length > 1 ? parts[1] : string.Empty);
    }

    public Dictionary<string, int> TokensToIds { get; }

    public List<string?> Vocab { get; }

    public int? UnknownId { get; }

    public string? EndOfWordSuffix { get; }

    public bool FuseUnknown { get; }

    public IEnumerable<string> Encode(IEnumerable<string> pieces)
    {
        foreach (string piece in pieces)
        {
            if (_ignoreMerges && TokensToIds.ContainsKey(piece))
            {
                yield return piece;
                continue;
            }
            foreach (string token in Merge(piece))
            {
                if (TokensToIds.ContainsKey(token))
                {
                    yield return token;
                }
                else if (_byteFallback && ByteTokens(token) is { } bytes)
                {
                    foreach (string b in bytes)
                    {
                        yield return b;
                    }
                }
                else if (_unknownToken is not null)
                {
                    yield return _unknownToken;
                }
            }
        }
    }

    private string[]? ByteTokens(string token)
    {
        string[] bytes = Encoding.UTF8.GetBytes(token).Select(b => $"<0x{b:X2}>").ToArray();
        return bytes.All(TokensToIds.ContainsKey) ? bytes : null;
    }

    private string[] Merge(string piece)
    {
        if (piece.Length == 0)
        {
            return [];
        }
        if (_cache.TryGetValue(piece, out string[]? cached))
        {
            return cached;
        }
        List<string> word = JsText.CodePoints(piece);
        if (EndOfWordSuffix is not null)
        {
            word[^1] += EndOfWordSuffix;
        }
        while (word.Count > 1)
        {
            int bestRank = int.MaxValue;
            int bestIndex = -1;
            for (int i = 0; i < word.Count - 1; i++)
            {
                if (_ranks.TryGetValue((word[i], word[i + 1]), out int rank) && rank < bestRank)
                {
                    bestRank = rank;
                    bestIndex = i;
                }
            }
            if (bestIndex < 0)
            {
                break;
            }
            word[bestIndex] += word[bestIndex + 1];
            word.RemoveAt(bestIndex + 1);
        }
        if (_continuingSubwordSuffix is not null)
        {
            for (int i = 0; i < word.Count - 1; i++)
            {
                word[i] += _continuingSubwordSuffix;
            }
        }
        string[] result = [.. word];
        if (piece.Length < MaxCachedLength && _cache.Count < CacheCapacity)
        {
            _cache[piece] = result;
        }
        return result;
    }
}
