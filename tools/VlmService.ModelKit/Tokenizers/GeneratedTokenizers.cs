using System.Text.Json.Nodes;
using VlmService.Text;

namespace VlmService.ModelKit.Tokenizers;

/// <summary>
/// Small but real tokenizers for folders built without <c>--tokenizer</c>: a CLIP-style byte-level BPE
/// learned from a built-in word list, and a SigLIP-style SentencePiece Unigram over the same words.
/// </summary>
internal static class GeneratedTokenizers
{
    private const string Corpus =
        "a photo of a cat dog bird car truck boat plane horse person people man woman child street city road " +
        "tree flower grass field mountain river lake sea beach sky cloud sun snow rain house building room " +
        "table chair bed kitchen food pizza apple orange banana cake coffee cup plate phone computer book " +
        "red green blue yellow black white small large two three many sitting standing walking running " +
        "playing holding looking with on in at the and near next to front behind picture image of this is";

    private static IEnumerable<string> Words => Corpus.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public static (JsonObject Tokenizer, JsonObject Config) Clip(int mergeCount = 400)
    {
        var vocab = new JsonObject();
        int next = 0;
        foreach (char c in ByteLevelAlphabet.All)
        {
            vocab[c.ToString()] = next++;
        }
        foreach (char c in ByteLevelAlphabet.All)
        {
            vocab[c + "</w>"] = next++;
        }
        var merges = new JsonArray();
        foreach ((string left, string right) in LearnMerges(Words.Select(w => ByteLevelAlphabet.Encode(w)), mergeCount, "</w>"))
        {
            merges.Add($"{left} {right}");
            string merged = left + right;
            if (!vocab.ContainsKey(merged))
            {
                vocab[merged] = next++;
            }
        }
        int bos = next++;
        int eos = next;
        vocab["<|startoftext|>"] = bos;
        vocab["<|endoftext|>"] = eos;
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(
                AddedToken(bos, "<|startoftext|>", normalized: true),
                AddedToken(eos, "<|endoftext|>", normalized: false)),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "NFC" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["Regex"] = "\\s+" }, ["content"] = " " },
                    new JsonObject { ["type"] = "Lowercase" }),
            },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = new JsonObject { ["Regex"] = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
                        ["behavior"] = "Removed",
                        ["invert"] = true,
                    },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true }),
            },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "RobertaProcessing",
                ["sep"] = new JsonArray("<|endoftext|>", eos),
                ["cls"] = new JsonArray("<|startoftext|>", bos),
                ["trim_offsets"] = false,
                ["add_prefix_space"] = false,
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["unk_token"] = "<|endoftext|>",
                ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "</w>",
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        };
        var config = new JsonObject
        {
            ["tokenizer_class"] = "CLIPTokenizer",
            ["model_max_length"] = 77,
            ["bos_token"] = "<|startoftext|>",
            ["eos_token"] = "<|endoftext|>",
            ["unk_token"] = "<|endoftext|>",
            ["pad_token"] = "<|endoftext|>",
            ["do_lower_case"] = true,
        };
        return (tokenizer, config);
    }

    public static (JsonObject Tokenizer, JsonObject Config) Siglip()
    {
        var pieces = new List<(string, double)> { ("<pad>", 0), ("</s>", 0), ("<unk>", 0), ("\u2581", -3) };
        var seen = new HashSet<string>(pieces.Select(p => p.Item1));
        foreach (char c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-:;()\"")
        {
            if (seen.Add(c.ToString()))
            {
                pieces.Add((c.ToString(), -8 - (c % 7) * 0.1));
            }
        }
        foreach (IGrouping<string, string> word in Words.GroupBy(w => w))
        {
            string piece = "\u2581" + word.Key;
            if (seen.Add(piece))
            {
                pieces.Add((piece, -4 - (word.Key.Length * 0.05) + (word.Count() * 0.2)));
            }
        }
        var vocab = new JsonArray(pieces.Select(p => (JsonNode)new JsonArray(p.Item1, p.Item2)).ToArray());
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(
                AddedToken(1, "</s>", normalized: true, strip: true),
                AddedToken(2, "<unk>", normalized: true, strip: true)),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "NFKC" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["Regex"] = " {2,}" }, ["content"] = " " }),
            },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["add_prefix_space"] = true, ["prepend_scheme"] = "always" },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "</s>", ["type_id"] = 0 } }),
                ["pair"] = new JsonArray(),
                ["special_tokens"] = new JsonObject
                {
                    ["</s>"] = new JsonObject { ["id"] = "</s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("</s>") },
                },
            },
            ["decoder"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["add_prefix_space"] = true, ["prepend_scheme"] = "always" },
            ["model"] = new JsonObject { ["type"] = "Unigram", ["unk_id"] = 2, ["vocab"] = vocab, ["byte_fallback"] = false },
        };
        var config = new JsonObject
        {
            ["tokenizer_class"] = "SiglipTokenizer",
            ["model_max_length"] = 64,
            ["eos_token"] = "</s>",
            ["pad_token"] = "</s>",
            ["unk_token"] = "<unk>",
            ["model_input_names"] = new JsonArray("input_ids"),
        };
        return (tokenizer, config);
    }

    /// <summary>SmolVLM's chat template, as shipped in its tokenizer_config.json.</summary>
    public const string SmolVlmChatTemplate =
        "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}" +
        "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}" +
        "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

    /// <summary>
    /// A SmolLM2-style byte-level BPE with the image and chat special tokens SmolVLM's processor and template use.
    /// </summary>
    public static (JsonObject Tokenizer, JsonObject Config) Chat(int mergeCount = 400)
    {
        var vocab = new JsonObject();
        int next = 0;
        foreach (char c in ByteLevelAlphabet.All)
        {
            vocab[c.ToString()] = next++;
        }
        var merges = new JsonArray();
        var pieces = Words.SelectMany(w => new[] { ByteLevelAlphabet.Encode(w), ByteLevelAlphabet.Encode(" " + w) });
        foreach ((string left, string right) in LearnMerges(pieces, mergeCount, string.Empty))
        {
            merges.Add($"{left} {right}");
            string merged = left + right;
            if (!vocab.ContainsKey(merged))
            {
                vocab[merged] = next++;
            }
        }
        string[] specials =
        [
            "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<end_of_utterance>", "<image>", "<fake_token_around_image>", "<global-img>",
            .. Enumerable.Range(1, 6).SelectMany(r => Enumerable.Range(1, 6).Select(c => $"<row_{r}_col_{c}>")),
        ];
        var added = new JsonArray();
        foreach (string special in specials)
        {
            vocab[special] = next;
            added.Add(AddedToken(next++, special, normalized: false));
        }
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Digits", ["individual_digits"] = true },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true }),
            },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["unk_token"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        };
        var config = new JsonObject
        {
            ["tokenizer_class"] = "GPT2Tokenizer",
            ["model_max_length"] = 8192,
            ["bos_token"] = "<|im_start|>",
            ["eos_token"] = "<end_of_utterance>",
            ["pad_token"] = "<|im_end|>",
            ["unk_token"] = "<|endoftext|>",
            ["additional_special_tokens"] = new JsonArray("<fake_token_around_image>", "<image>", "<end_of_utterance>"),
            ["chat_template"] = SmolVlmChatTemplate,
        };
        return (tokenizer, config);
    }

    private static JsonObject AddedToken(int id, string content, bool normalized, bool strip = false) => new()
    {
        ["id"] = id,
        ["content"] = content,
        ["single_word"] = false,
        ["lstrip"] = strip,
        ["rstrip"] = strip,
        ["normalized"] = normalized,
        ["special"] = true,
    };

    /// <summary>Plain BPE training: merge the most frequent adjacent pair (ties by first appearance).</summary>
    private static List<(string, string)> LearnMerges(IEnumerable<string> words, int count, string endOfWord)
    {
        var corpus = words.Select(w =>
        {
            var symbols = w.Select(c => c.ToString()).ToList();
            symbols[^1] += endOfWord;
            return symbols;
        }).ToList();
        var merges = new List<(string, string)>();
        for (int m = 0; m < count; m++)
        {
            var frequencies = new Dictionary<(string, string), int>();
            var order = new List<(string, string)>();
            foreach (List<string> word in corpus)
            {
                for (int i = 0; i < word.Count - 1; i++)
                {
                    var pair = (word[i], word[i + 1]);
                    if (!frequencies.TryAdd(pair, 1))
                    {
                        frequencies[pair]++;
                    }
                    else
                    {
                        order.Add(pair);
                    }
                }
            }
            if (order.Count == 0)
            {
                break;
            }
            var best = order.OrderByDescending(p => frequencies[p]).First();
            merges.Add(best);
            foreach (List<string> word in corpus)
            {
                for (int i = 0; i < word.Count - 1; i++)
                {
                    if (word[i] == best.Item1 && word[i + 1] == best.Item2)
                    {
                        word[i] += word[i + 1];
                        word.RemoveAt(i + 1);
                    }
                }
            }
        }
        return merges;
    }
}
