using System.Text;

namespace VlmService.Tests.Text;

/// <summary>
/// A deterministic corpus of varied strings: accents, CJK, emoji, digits, whitespace runs, code, special-token
/// look-alikes and very long inputs. Built from fragments with a seeded generator, so every run compares the same strings.
/// </summary>
internal static class TokenizerCorpus
{
    private static readonly string[] Fragments =
    [
        "a photo of a cat", "Hello, World!", "The QUICK brown fox", "don't", "I'm", "they'll", "we've", "she'd", "it's",
        "café", "naïve", "Ångström", "São Paulo", "Straße", "façade", "crème brûlée", "Œuvre", "ﬁne", "Ⅻ", "½", "x²",
        "東京タワー", "北京欢迎你", "한국어 텍스트", "日本語の文章です。", "Ελληνικά", "русский текст", "עברית", "العربية", "हिन्दी",
        "😀", "👍🏽", "🇫🇷", "👨‍👩‍👧", "❤️", "🚗💨", "✨ sparkle ✨",
        "12345", "3.14159", "1,000,000", "2026-11-22", "007", "0x1F", "-42", "+1 (555) 010-9999", "v1.2.3",
        "   leading spaces", "trailing spaces   ", "tab\tseparated", "new\nline", "cr\r\nlf", "many     spaces", "\u00a0nbsp\u00a0", "\u3000ideographic",
        "def f(x):\n    return x ** 2", "for (int i = 0; i < n; i++) { sum += a[i]; }", "<div class=\"a\">b</div>", "SELECT * FROM t WHERE id=1;",
        "https://example.test/path?q=1&r=2", "user@example.test", "#hashtag", "@mention", "C++", "C#", "node.js", "snake_case", "camelCase",
        "<|startoftext|>", "<|endoftext|>", "</s>", "<unk>", "<image>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>",
        "!!!", "???", "...", "—", "–", "«quotes»", "“curly”", "‘single’", "(parens)", "[brackets]", "{braces}", "~tilde~", "`backtick`",
        "ALL CAPS SENTENCE", "MiXeD CaSe", "word", "a", "I", "",
    ];

    private static readonly string[] Joiners = [" ", "", "  ", "\t", "\n", ", ", " - ", "   \n  "];

    public static IReadOnlyList<string> Build(int count = 2200, int seed = 20261122)
    {
        var random = new Random(seed);
        var result = new List<string>(count) { string.Empty, " ", "  ", "\n", "\t \t" };
        result.AddRange(Fragments);
        while (result.Count < count)
        {
            int pieces = random.Next(1, 8);
            var sb = new StringBuilder();
            for (int i = 0; i < pieces; i++)
            {
                if (i > 0)
                {
                    sb.Append(Joiners[random.Next(Joiners.Length)]);
                }
                string fragment = Fragments[random.Next(Fragments.Length)];
                sb.Append(random.Next(4) switch
                {
                    0 => fragment.ToUpperInvariant(),
                    1 => fragment.ToLowerInvariant(),
                    _ => fragment,
                });
            }
            if (random.Next(25) == 0)
            {
                // Long inputs: far past CLIP's 77 and SigLIP's 64 tokens, so truncation matters downstream.
                sb.Append(' ').Append(string.Join(' ', Enumerable.Repeat(sb.ToString(), random.Next(10, 40))));
            }
            result.Add(sb.ToString());
        }
        return result;
    }
}
