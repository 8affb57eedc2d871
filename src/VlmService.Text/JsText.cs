using System.Text;
using System.Text.RegularExpressions;

namespace VlmService.Text;

/// <summary>
/// The JavaScript string semantics that tokenizer.json pipelines are defined against in the reference:
/// JS whitespace for trimming, code-point iteration, and translation of the regexes the reference compiles.
/// </summary>
internal static class JsText
{
    /// <summary>JS <c>\s</c> (what String.prototype.trim removes): it has U+FEFF and lacks U+0085.</summary>
    private const string JsWhitespaceChars = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";

    public static bool IsJsWhitespace(char c) =>
        c is '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u00a0' or '\u1680' or '\u2028' or '\u2029' or '\u202f' or '\u205f' or '\u3000' or '\ufeff'
        || (c >= '\u2000' && c <= '\u200a');

    public static string TrimEnd(string s)
    {
        int end = s.Length;
        while (end > 0 && IsJsWhitespace(s[end - 1]))
        {
            end--;
        }
        return s[..end];
    }

    public static string TrimStart(string s)
    {
        int start = 0;
        while (start < s.Length && IsJsWhitespace(s[start]))
        {
            start++;
        }
        return s[start..];
    }

    public static string Trim(string s) => TrimStart(TrimEnd(s));

    /// <summary>Splits into code points, as <c>Array.from(string)</c> does.</summary>
    public static List<string> CodePoints(string s)
    {
        var result = new List<string>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                result.Add(s.Substring(i, 2));
                i++;
            }
            else
            {
                result.Add(s[i].ToString());
            }
        }
        return result;
    }

    /// <summary>
    /// A regex written for a JS engine with the <c>u</c> flag, as the reference's built-in patterns are:
    /// <c>\s</c> is JS whitespace and <c>\d</c> is ASCII only.
    /// </summary>
    public static Regex JsPattern(string pattern)
    {
        var sb = new StringBuilder(pattern.Length * 2);
        bool inClass = false;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                char next = pattern[i + 1];
                i++;
                switch (next)
                {
                    case 's':
                        sb.Append(inClass ? JsWhitespaceChars : $"[{JsWhitespaceChars}]");
                        break;
                    case 'S':
                        sb.Append($"[^{JsWhitespaceChars}]");
                        break;
                    case 'd':
                        sb.Append(inClass ? "0-9" : "[0-9]");
                        break;
                    case 'D':
                        sb.Append("[^0-9]");
                        break;
                    default:
                        sb.Append('\\').Append(next);
                        break;
                }
                continue;
            }
            if (c == '[' && !inClass)
            {
                inClass = true;
            }
            else if (c == ']' && inClass)
            {
                inClass = false;
            }
            sb.Append(c);
        }
        return new Regex(sb.ToString(), RegexOptions.CultureInvariant);
    }

    /// <summary>
    /// A regex from tokenizer.json (Oniguruma syntax); the reference maps <c>\s</c> to White_Space
    /// and <c>\d</c> to Nd, which are .NET's own meanings.
    /// </summary>
    public static Regex TokenizerPattern(string pattern) => new(pattern, RegexOptions.CultureInvariant);
}
