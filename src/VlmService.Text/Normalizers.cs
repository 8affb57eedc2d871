using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace VlmService.Text;

/// <summary>tokenizer.json normalizers, composed into one function.</summary>
internal static class Normalizers
{
    private static readonly Regex PrecompiledRemoved = new("[\u0001-\u0008\u000B\u000E-\u001F\u007F\u008F\u009F]", RegexOptions.CultureInvariant);
    private static readonly Regex PrecompiledToSpace = new("[\u0009\u000A\u000C\u000D\u00A0\u1680\u2000-\u200F\u2028\u2029\u202F\u205F\u2581\u3000\uFEFF\uFFFD]", RegexOptions.CultureInvariant);

    public static Func<string, string>? Create(JsonNode? config)
    {
        if (config is null)
        {
            return null;
        }
        string type = config["type"]!.GetValue<string>();
        return type switch
        {
            "Sequence" => Compose(config["normalizers"]!.AsArray().Select(Create).Where(n => n is not null).Cast<Func<string, string>>().ToList()),
            "NFC" => s => s.Normalize(NormalizationForm.FormC),
            "NFD" => s => s.Normalize(NormalizationForm.FormD),
            "NFKC" => s => s.Normalize(NormalizationForm.FormKC),
            "NFKD" => s => s.Normalize(NormalizationForm.FormKD),
            "Lowercase" => s => s.ToLowerInvariant(),
            "Strip" => Strip(config),
            "StripAccents" => s => new string(s.Normalize(NormalizationForm.FormD).Where(c => CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark).ToArray()),
            "Prepend" => s => config["prepend"]!.GetValue<string>() + s,
            "Replace" => Replace(config),
            // The reference approximates SentencePiece's precompiled charsmap with these rules and NFKC.
            "Precompiled" => Precompiled,
            _ => throw new NotSupportedException($"Normalizer '{type}' is not supported."),
        };
    }

    private static Func<string, string> Compose(List<Func<string, string>> steps) => s =>
    {
        foreach (var step in steps)
        {
            s = step(s);
        }
        return s;
    };

    private static Func<string, string> Strip(JsonNode config)
    {
        bool left = config["strip_left"]?.GetValue<bool>() ?? false;
        bool right = config["strip_right"]?.GetValue<bool>() ?? false;
        return s =>
        {
            if (left)
            {
                s = JsText.TrimStart(s);
            }
            return right ? JsText.TrimEnd(s) : s;
        };
    }

    internal static Func<string, string> Replace(JsonNode config)
    {
        string content = config["content"]?.GetValue<string>() ?? string.Empty;
        JsonNode pattern = config["pattern"]!;
        if (pattern["Regex"] is JsonNode regex)
        {
            Regex compiled = JsText.TokenizerPattern(regex.GetValue<string>());
            return s => compiled.Replace(s, content.Replace("$", "$$"));
        }
        string literal = pattern["String"]!.GetValue<string>();
        return s => s.Replace(literal, content, StringComparison.Ordinal);
    }

    private static string Precompiled(string text)
    {
        text = PrecompiledRemoved.Replace(text, string.Empty);
        text = PrecompiledToSpace.Replace(text, " ");
        if (text.Contains('\uFF5E'))
        {
            return string.Join('\uFF5E', text.Split('\uFF5E').Select(part => part.Normalize(NormalizationForm.FormKC)));
        }
        return text.Normalize(NormalizationForm.FormKC);
    }
}
