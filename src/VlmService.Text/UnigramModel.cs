using System.Text.Json.Nodes;

namespace VlmService.Text;

/// <summary>SentencePiece Unigram: Viterbi over the lattice of vocabulary pieces, unknown characters scored min − 10.</summary>
internal sealed class UnigramModel : ITokenizerModel
{
    private readonly double[] _scores;
    private readonly Dictionary<string, int> _pieceIds;
    private readonly int _maxPieceLength;
    private readonly double _unknownScore;

    public UnigramModel(IReadOnlyList<(string Piece, double Score)> vocab, int unknownId)
    {
        TokensToIds = new Dictionary<string, int>(StringComparer.Ordinal);
        Vocab = [];
        _scores = new double[vocab.Count];
        for (int i = 0; i < vocab.Count; i++)
        {
            Vocab.Add(vocab[i].Piece);
            _scores[i] = vocab[i].Score;
            TokensToIds.TryAdd(vocab[i].Piece, i);
        }
        _pieceIds = new Dictionary<string, int>(TokensToIds, StringComparer.Ordinal);
        _maxPieceLength = vocab.Count == 0 ? 1 : vocab.Max(v => JsText.CodePoints(v.Piece).Count);
        UnknownId = unknownId;
        _unknownScore = _scores.Min() - 10;
        _scores[unknownId] = _unknownScore;
    }

    public static UnigramModel FromJson(JsonNode model)
    {
        var vocab = model["vocab"]!.AsArray().Select(entry => (entry![0]!.GetValue<string>(), entry[1]!.GetValue<double>())).ToList();
        return new UnigramModel(vocab, model["unk_id"]?.GetValue<int>() ?? 0);
    }

    public Dictionary<string, int> TokensToIds { get; }

    public List<string?> Vocab { get; }

    public int? UnknownId { get; }

    public string? EndOfWordSuffix => null;

    public bool FuseUnknown => true;

    public IEnumerable<string> Encode(IEnumerable<string> pieces) => pieces.SelectMany(Tokenize);

    /// <summary>
    /// Best segmentation; on equal scores the piece inserted first wins (shorter prefixes are inserted first),
    /// as in the reference lattice.
    /// </summary>
    private List<string> Tokenize(string text)
    {
        List<string> chars = JsText.CodePoints(text);
        int n = chars.Count;
        var best = new double[n + 1];
        var backLength = new int[n + 1];
        var reached = new bool[n + 1];
        reached[0] = true;
        // Candidates are appended start by start, shorter first: the reference lattice's insertion order, which breaks ties.
        var candidatesEndingAt = new List<(int Start, int Length, double Score)>[n + 1];
        for (int i = 0; i <= n; i++)
        {
            candidatesEndingAt[i] = [];
        }
        for (int start = 0; start < n; start++)
        {
            bool hasSingle = false;
            string prefix = string.Empty;
            for (int length = 1; length <= _maxPieceLength && start + length <= n; length++)
            {
                prefix += chars[start + length - 1];
                if (_pieceIds.TryGetValue(prefix, out int id))
                {
                    candidatesEndingAt[start + length].Add((start, length, _scores[id]));
                    hasSingle |= length == 1;
                }
            }
            if (!hasSingle)
            {
                candidatesEndingAt[start + 1].Add((start, 1, _unknownScore));
            }
        }
        for (int end = 1; end <= n; end++)
        {
            bool found = false;
            foreach ((int start, int length, double score) in candidatesEndingAt[end])
            {
                if (!reached[start])
                {
                    continue;
                }
                double total = best[start] + score;
                if (!found || total > best[end])
                {
                    best[end] = total;
                    backLength[end] = length;
                    found = true;
                }
            }
            reached[end] = found;
        }
        var result = new List<string>();
        if (!reached[n])
        {
            return result;
        }
        for (int end = n; end > 0; end -= backLength[end])
        {
            result.Add(string.Concat(chars.Skip(end - backLength[end]).Take(backLength[end])));
        }
        result.Reverse();
        return result;
    }
}
