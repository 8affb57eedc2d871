using System.Text.Json.Nodes;

namespace VlmService.Text;

/// <summary>
/// Folders that ship vocab.json + merges.txt instead of tokenizer.json (GPT-2 style, Qwen2): the same
/// byte-level BPE pipeline is assembled from those files and added_tokens.json.
/// </summary>
internal static class ByteLevelBpeFiles
{
    /// <summary>Qwen2's split: contractions, letters with one leading non-letter, single digits, punctuation runs, newlines.</summary>
    private const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public static JsonNode ToTokenizerJson(string folder, JsonNode? config)
    {
        string vocabPath = Path.Combine(folder, "vocab.json");
        string mergesPath = Path.Combine(folder, "merges.txt");
        if (!File.Exists(vocabPath) || !File.Exists(mergesPath))
        {
            throw new FileNotFoundException($"{folder} has neither tokenizer.json nor vocab.json + merges.txt.");
        }
        var merges = new JsonArray();
        foreach (string line in File.ReadLines(mergesPath))
        {
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal))
            {
                continue;
            }
            merges.Add(line);
        }
        bool isQwen2 = (config?["tokenizer_class"]?.GetValue<string>() ?? string.Empty).StartsWith("Qwen2", StringComparison.Ordinal);
        JsonNode preTokenizer = isQwen2
            ? new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = Qwen2Pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = false }),
            }
            : new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true };
        var added = new JsonArray();
        string addedPath = Path.Combine(folder, "added_tokens.json");
        if (File.Exists(addedPath))
        {
            foreach ((string content, JsonNode? id) in JsonNode.Parse(File.ReadAllText(addedPath))!.AsObject())
            {
                added.Add(new JsonObject { ["id"] = id!.GetValue<int>(), ["content"] = content, ["special"] = true, ["normalized"] = false });
            }
        }
        return new JsonObject
        {
            ["normalizer"] = isQwen2 ? new JsonObject { ["type"] = "NFC" } : null,
            ["pre_tokenizer"] = preTokenizer,
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["vocab"] = JsonNode.Parse(File.ReadAllText(vocabPath)),
                ["merges"] = merges,
            },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["added_tokens"] = added,
        };
    }
}
