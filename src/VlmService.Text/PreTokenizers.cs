using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace VlmService.Text;

/// <summary>tokenizer.json pre-tokenizers: each maps one piece of text to the pieces the model sees.</summary>
internal delegate List<string> PreTokenizer(string text, int sectionIndex);

internal static class PreTokenizers
{
    private static readonly Regex ByteLevelSplit = JsText.JsPattern(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+");
    private static readonly Regex WhitespaceSplit = new(@"\w+|[^\w\s]+", RegexOptions.CultureInvariant);

    public static PreTokenizer? Create(JsonNode? config)
    {
        if (config is null)
        {
            return null;
        }
        string type = config["type"]!.GetValue<string>();
        return type switch
        {
            "Sequence" => Sequence(config["pretokenizers"]!.AsArray().Select(Create).Where(p => p is not null).Cast<PreTokenizer>().ToList()),
            "ByteLevel" => ByteLevel(config),
            "Metaspace" => Metaspace(config),
            "Split" => Split(config),
            "Digits" => Digits(config),
            "Whitespace" => (text, _) => Matches(WhitespaceSplit, text),
            "WhitespaceSplit" => (text, _) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToList(),
            _ => throw new NotSupportedException($"Pre-tokenizer '{type}' is not supported."),
        };
    }

    private static PreTokenizer Sequence(List<PreTokenizer> steps) => (text, section) =>
    {
        List<string> pieces = [text];
        foreach (PreTokenizer step in steps)
        {
            pieces = pieces.SelectMany(p => step(p, section)).ToList();
        }
        return pieces;
    };

    private static PreTokenizer ByteLevel(JsonNode config)
    {
        bool addPrefixSpace = config["add_prefix_space"]?.GetValue<bool>() ?? false;
        bool useRegex = config["use_regex"]?.GetValue<bool>() ?? true;
        return (text, _) =>
        {
            if (addPrefixSpace && !text.StartsWith(' '))
            {
                text = " " + text;
            }
            List<string> pieces = useRegex ? Matches(ByteLevelSplit, text) : [text];
            return pieces.Select(ByteLevelAlphabet.Encode).ToList();
        };
    }

    private static PreTokenizer Metaspace(JsonNode config)
    {
        string replacement = config["replacement"]?.GetValue<string>() ?? "\u2581";
        string scheme = config["prepend_scheme"]?.GetValue<string>() ?? "always";
        return (text, section) =>
        {
            string normalized = text.Replace(" ", replacement, StringComparison.Ordinal);
            if (!normalized.StartsWith(replacement, StringComparison.Ordinal) && (scheme == "always" || (scheme == "first" && section == 0)))
            {
                normalized = replacement + normalized;
            }
            return [normalized];
        };
    }

    private static PreTokenizer Split(JsonNode config)
    {
        bool invert = config["invert"]?.GetValue<bool>() ?? true;
        string behavior = config["behavior"]?.GetValue<string>()?.ToLowerInvariant() ?? string.Empty;
        JsonNode pattern = config["pattern"]!;
        Regex regex = pattern["Regex"] is JsonNode r
            ? JsText.TokenizerPattern(r.GetValue<string>())
            : new Regex(invert ? Regex.Escape(pattern["String"]!.GetValue<string>()) : $"({Regex.Escape(pattern["String"]!.GetValue<string>())})", RegexOptions.CultureInvariant);
        return (text, _) =>
        {
            if (invert)
            {
                return Matches(regex, text).Where(x => x.Length > 0).ToList();
            }
            if (behavior == "removed")
            {
                return regex.Split(text).Where(x => x.Length > 0).ToList();
            }
            return SplitKeepingDelimiters(regex, text);
        };
    }

    private static PreTokenizer Digits(JsonNode config)
    {
        bool individual = config["individual_digits"]?.GetValue<bool>() ?? false;
        Regex regex = JsText.JsPattern(individual ? @"[^\d]+|\d" : @"[^\d]+|\d+");
        return (text, _) => Matches(regex, text);
    }

    private static List<string> Matches(Regex regex, string text) => regex.Matches(text).Select(m => m.Value).ToList();

    /// <summary>Like the reference's <c>regex_split</c>: the text between matches and the matches themselves.</summary>
    private static List<string> SplitKeepingDelimiters(Regex regex, string text)
    {
        var result = new List<string>();
        int previous = 0;
        foreach (Match match in regex.Matches(text))
        {
            if (previous < match.Index)
            {
                result.Add(text[previous..match.Index]);
            }
            if (match.Length > 0)
            {
                result.Add(match.Value);
            }
            previous = match.Index + match.Length;
        }
        if (previous < text.Length)
        {
            result.Add(text[previous..]);
        }
        return result;
    }
}
