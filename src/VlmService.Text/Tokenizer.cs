using System.Text.Json.Nodes;

namespace VlmService.Text;

/// <summary>
/// A tokenizer loaded from a model folder (tokenizer.json + tokenizer_config.json), producing the ids the
/// reference implementation produces: added tokens split out first, then normalizer → pre-tokenizer →
/// model on each remaining section, then the post-processor's special tokens.
/// </summary>
public sealed class Tokenizer
{
    private readonly Func<string, string>? _normalizer;
    private readonly PreTokenizer? _preTokenizer;
    private readonly ITokenizerModel _model;
    private readonly PostProcessor? _postProcessor;
    private readonly Decoder _decoder;
    private readonly Dictionary<string, AddedToken> _addedTokens = new(StringComparer.Ordinal);
    private readonly HashSet<string> _specialTokens = new(StringComparer.Ordinal);
    private readonly AddedTokenSplitter _rawSplitter;
    private readonly AddedTokenSplitter _normalizedSplitter;
    private readonly bool _removeSpace;
    private readonly bool _cleanUpTokenizationSpaces;

    internal Tokenizer(JsonNode tokenizer, JsonNode? config)
    {
        _normalizer = Normalizers.Create(tokenizer["normalizer"]);
        _preTokenizer = PreTokenizers.Create(tokenizer["pre_tokenizer"]);
        JsonNode model = tokenizer["model"]!;
        _model = (model["type"]?.GetValue<string>() ?? (model["merges"] is null ? "Unigram" : "BPE")) switch
        {
            "BPE" => BpeModel.FromJson(model),
            "Unigram" => UnigramModel.FromJson(model),
            string type => throw new NotSupportedException($"Tokenizer model '{type}' is not supported."),
        };
        _postProcessor = PostProcessors.Create(tokenizer["post_processor"]);
        _decoder = Decoders.Create(tokenizer["decoder"]);

        var raw = new List<string>();
        var normalized = new List<string>();
        foreach (JsonNode? entry in tokenizer["added_tokens"]?.AsArray() ?? [])
        {
            bool special = entry!["special"]?.GetValue<bool>() ?? false;
            var token = new AddedToken(entry["id"]!.GetValue<int>(), entry["content"]!.GetValue<string>(), special,
                entry["lstrip"]?.GetValue<bool>() ?? false, entry["rstrip"]?.GetValue<bool>() ?? false,
                entry["normalized"]?.GetValue<bool>() ?? !special);
            _model.TokensToIds[token.Content] = token.Id;
            while (_model.Vocab.Count <= token.Id)
            {
                _model.Vocab.Add(null);
            }
            _model.Vocab[token.Id] = token.Content;
            if (special)
            {
                _specialTokens.Add(token.Content);
            }
            _addedTokens[token.Content] = token;
            if (token.Normalized && _normalizer is not null)
            {
                string content = _normalizer(token.Content);
                normalized.Add(content);
                _addedTokens[content] = token;
            }
            else
            {
                raw.Add(token.Content);
            }
        }
        _rawSplitter = new AddedTokenSplitter(raw);
        _normalizedSplitter = new AddedTokenSplitter(normalized);

        ModelMaxLength = ReadMaxLength(config);
        _removeSpace = config?["remove_space"]?.GetValue<bool>() ?? false;
        _cleanUpTokenizationSpaces = config?["clean_up_tokenization_spaces"]?.GetValue<bool>() ?? true;
        PaddingRight = (config?["padding_side"]?.GetValue<string>() ?? "right") == "right";
        PadTokenId = TokenString(config?["pad_token"]) is { } pad ? TokenToId(pad) : null;
        foreach (JsonNode? extra in config?["additional_special_tokens"]?.AsArray() ?? [])
        {
            if (TokenString(extra) is { } text)
            {
                _specialTokens.Add(text);
            }
        }
    }

    /// <summary>Loads tokenizer.json (and tokenizer_config.json if present) from <paramref name="folder"/>.</summary>
    public static Tokenizer FromFolder(string folder)
    {
        string tokenizerPath = Path.Combine(folder, "tokenizer.json");
        JsonNode? config = ReadJson(Path.Combine(folder, "tokenizer_config.json"));
        JsonNode tokenizer = File.Exists(tokenizerPath)
            ? JsonNode.Parse(File.ReadAllText(tokenizerPath))!
            : ByteLevelBpeFiles.ToTokenizerJson(folder, config);
        return new Tokenizer(tokenizer, config);
    }

    private static JsonNode? ReadJson(string path) => File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) : null;

    /// <summary>The longest sequence the model takes; inputs are truncated to it.</summary>
    public int? ModelMaxLength { get; }

    public int? PadTokenId { get; }

    public bool PaddingRight { get; }

    public int VocabularySize => _model.Vocab.Count;

    public int? TokenToId(string token) =>
        _addedTokens.TryGetValue(token, out AddedToken? added) ? added.Id
        : _model.TokensToIds.TryGetValue(token, out int id) ? id : null;

    public string? IdToToken(int id) => id >= 0 && id < _model.Vocab.Count ? _model.Vocab[id] : null;

    public bool IsSpecial(string token) => _specialTokens.Contains(token);

    public TokenEncoding Encode(string text, bool addSpecialTokens = true)
    {
        List<string> tokens = EncodeText(text);
        if (_postProcessor is not null)
        {
            tokens = _postProcessor(tokens, addSpecialTokens);
        }
        int[] ids = tokens.Select(t => TokenToId(t) ?? _model.UnknownId ?? 0).ToArray();
        return new TokenEncoding(ids, tokens);
    }

    /// <summary>Encodes several texts into one rectangular batch, truncating and padding as the model requires.</summary>
    public TokenBatch EncodeBatch(IReadOnlyList<string> texts, Padding padding, bool truncation = true, int? maxLength = null)
    {
        var rows = texts.Select(t => Encode(t).Ids).ToList();
        int limit = Math.Min(maxLength ?? ModelMaxLength ?? int.MaxValue, ModelMaxLength ?? int.MaxValue);
        int length = padding switch
        {
            Padding.MaxLength => limit,
            _ => Math.Min(rows.Max(r => r.Count), limit),
        };
        if (!truncation && rows.Any(r => r.Count > length))
        {
            length = rows.Max(r => r.Count);
        }
        if (padding == Padding.None && rows.Any(r => Math.Min(r.Count, length) != length))
        {
            throw new InvalidOperationException("Texts of different lengths need padding to form a batch.");
        }
        int pad = PadTokenId ?? 0;
        var ids = new long[rows.Count * length];
        var mask = new long[rows.Count * length];
        for (int b = 0; b < rows.Count; b++)
        {
            int count = Math.Min(rows[b].Count, length);
            int offset = PaddingRight ? 0 : length - count;
            Array.Fill(ids, pad, b * length, length);
            for (int i = 0; i < count; i++)
            {
                ids[(b * length) + offset + i] = rows[b][i];
                mask[(b * length) + offset + i] = 1;
            }
        }
        return new TokenBatch(ids, mask, rows.Count, length);
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var tokens = ids.Select(id => IdToToken(id) ?? string.Empty).Where(t => !(skipSpecialTokens && _specialTokens.Contains(t))).ToList();
        string text = _decoder(tokens);
        if (_model.EndOfWordSuffix is { } suffix)
        {
            text = text.Replace(suffix, " ", StringComparison.Ordinal);
            if (skipSpecialTokens)
            {
                text = JsText.Trim(text);
            }
        }
        return _cleanUpTokenizationSpaces ? CleanUpTokenizationSpaces(text) : text;
    }

    /// <summary>Removes the spaces a word-level tokenizer leaves before punctuation and contractions.</summary>
    private static string CleanUpTokenizationSpaces(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal).Replace(" ?", "?", StringComparison.Ordinal).Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal).Replace(" ' ", "'", StringComparison.Ordinal).Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal).Replace(" 's", "'s", StringComparison.Ordinal).Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);

    private List<string> EncodeText(string text)
    {
        List<string> sections = _rawSplitter.Split(text);
        StripAround(sections);
        var tokens = new List<string>();
        for (int sectionIndex = 0; sectionIndex < sections.Count; sectionIndex++)
        {
            string section = sections[sectionIndex];
            if (section.Length == 0)
            {
                continue;
            }
            if (_addedTokens.ContainsKey(section))
            {
                tokens.Add(section);
                continue;
            }
            if (_removeSpace)
            {
                section = string.Join(' ', JsText.Trim(section).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            }
            if (_normalizer is not null)
            {
                section = _normalizer(section);
            }
            if (section.Length == 0)
            {
                continue;
            }
            List<string> subsections = _normalizedSplitter.Split(section);
            StripAround(subsections);
            foreach (string subsection in subsections)
            {
                if (subsection.Length == 0)
                {
                    continue;
                }
                if (_addedTokens.ContainsKey(subsection))
                {
                    tokens.Add(subsection);
                    continue;
                }
                List<string> pieces = _preTokenizer is null ? [subsection] : _preTokenizer(subsection, sectionIndex);
                tokens.AddRange(_model.FuseUnknown ? FuseUnknownRuns(_model.Encode(pieces)) : _model.Encode(pieces));
            }
        }
        return tokens;
    }

    /// <summary>
    /// A run of unknown pieces becomes one token whose text is the run joined (its id is the unknown id),
    /// as the reference's fuse step produces.
    /// </summary>
    private List<string> FuseUnknownRuns(IEnumerable<string> tokens)
    {
        var fused = new List<string>();
        bool previousUnknown = false;
        foreach (string token in tokens)
        {
            bool unknown = !_model.TokensToIds.TryGetValue(token, out int id) || id == _model.UnknownId;
            if (unknown && previousUnknown)
            {
                if (TokenToId(fused[^1]) != _model.UnknownId)
                {
                    fused[^1] += token;
                }
            }
            else
            {
                fused.Add(token);
            }
            previousUnknown = unknown;
        }
        return fused;
    }

    /// <summary>Added tokens with lstrip/rstrip eat the whitespace beside them.</summary>
    private void StripAround(List<string> sections)
    {
        for (int i = 0; i < sections.Count; i++)
        {
            if (!_addedTokens.TryGetValue(sections[i], out AddedToken? token))
            {
                continue;
            }
            if (token.LeftStrip && i > 0)
            {
                sections[i - 1] = JsText.TrimEnd(sections[i - 1]);
            }
            if (token.RightStrip && i < sections.Count - 1)
            {
                sections[i + 1] = JsText.TrimStart(sections[i + 1]);
            }
        }
    }

    private static int? ReadMaxLength(JsonNode? config)
    {
        JsonNode? value = config?["model_max_length"];
        if (value is null)
        {
            return null;
        }
        double length = value.GetValue<double>();
        return length >= int.MaxValue ? null : (int)length;
    }

    private static string? TokenString(JsonNode? node) => node switch
    {
        null => null,
        JsonValue value => value.GetValue<string>(),
        JsonObject obj => obj["content"]?.GetValue<string>(),
        _ => null,
    };
}
