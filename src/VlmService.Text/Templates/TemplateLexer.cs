using System.Text;
using System.Text.RegularExpressions;

namespace VlmService.Text.Templates;

internal enum TokenKind
{
    Text,
    ExpressionStart,
    ExpressionEnd,
    StatementStart,
    StatementEnd,
    Name,
    String,
    Number,
    Operator,
    End,
}

internal readonly record struct TemplateToken(TokenKind Kind, string Value);

/// <summary>
/// Splits a chat template into text and tag tokens, after the same preprocessing the reference applies
/// (final newline dropped, lstrip_blocks and trim_blocks, generation tags removed) and honouring <c>-</c> trimming.
/// </summary>
internal static partial class TemplateLexer
{
    private static readonly string[] Operators = ["==", "!=", "<=", ">=", "//", "**", "+", "-", "*", "/", "%", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "~"];

    [GeneratedRegex(@"^[ \t]*({[#%-])", RegexOptions.Multiline)]
    private static partial Regex LeadingBlockWhitespace();

    [GeneratedRegex(@"([#%-]})\n")]
    private static partial Regex NewlineAfterBlock();

    [GeneratedRegex(@"(\s*){%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)", RegexOptions.Singleline)]
    private static partial Regex GenerationTags();

    public static string Preprocess(string template)
    {
        if (template.EndsWith('\n'))
        {
            template = template[..^1];
        }
        template = LeadingBlockWhitespace().Replace(template, "$1");
        template = NewlineAfterBlock().Replace(template, "$1");
        return GenerationTags().Replace(template, m =>
            (m.Groups[2].Value.Length > 0 ? string.Empty : m.Groups[1].Value) + (m.Groups[3].Value.Length > 0 ? string.Empty : m.Groups[4].Value));
    }

    public static List<TemplateToken> Tokenize(string template)
    {
        string source = Preprocess(template);
        var tokens = new List<TemplateToken>();
        int i = 0;
        bool trimNextText = false;
        while (i < source.Length)
        {
            int open = NextTag(source, i);
            string text = source[i..(open < 0 ? source.Length : open)];
            if (trimNextText)
            {
                text = text.TrimStart();
            }
            if (open >= 0 && source.Length > open + 2 && source[open + 2] == '-')
            {
                text = text.TrimEnd();
            }
            if (text.Length > 0)
            {
                tokens.Add(new TemplateToken(TokenKind.Text, text));
            }
            if (open < 0)
            {
                break;
            }
            char kind = source[open + 1];
            i = open + 2;
            if (kind == '#')
            {
                int close = source.IndexOf("#}", i, StringComparison.Ordinal);
                trimNextText = close > 0 && source[close - 1] == '-';
                i = close < 0 ? source.Length : close + 2;
                continue;
            }
            if (i < source.Length && source[i] == '-')
            {
                i++;
            }
            tokens.Add(new TemplateToken(kind == '{' ? TokenKind.ExpressionStart : TokenKind.StatementStart, string.Empty));
            string closer = kind == '{' ? "}}" : "%}";
            i = LexTag(source, i, closer, tokens, out trimNextText);
            tokens.Add(new TemplateToken(kind == '{' ? TokenKind.ExpressionEnd : TokenKind.StatementEnd, string.Empty));
        }
        tokens.Add(new TemplateToken(TokenKind.End, string.Empty));
        return tokens;
    }

    private static int NextTag(string source, int from)
    {
        for (int i = from; i < source.Length - 1; i++)
        {
            if (source[i] == '{' && source[i + 1] is '{' or '%' or '#')
            {
                return i;
            }
        }
        return -1;
    }

    private static int LexTag(string source, int i, string closer, List<TemplateToken> tokens, out bool trimAfter)
    {
        int depth = 0;
        while (i < source.Length)
        {
            char c = source[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }
            if (depth == 0 && c == '-' && string.CompareOrdinal(source, i + 1, closer, 0, 2) == 0)
            {
                trimAfter = true;
                return i + 3;
            }
            if (depth == 0 && string.CompareOrdinal(source, i, closer, 0, 2) == 0)
            {
                trimAfter = false;
                return i + 2;
            }
            if (c is '\'' or '"')
            {
                i = LexString(source, i, tokens);
                continue;
            }
            if (char.IsDigit(c))
            {
                int start = i;
                while (i < source.Length && (char.IsDigit(source[i]) || (source[i] == '.' && i + 1 < source.Length && char.IsDigit(source[i + 1]))))
                {
                    i++;
                }
                tokens.Add(new TemplateToken(TokenKind.Number, source[start..i]));
                continue;
            }
            if (char.IsLetter(c) || c == '_')
            {
                int start = i;
                while (i < source.Length && (char.IsLetterOrDigit(source[i]) || source[i] == '_'))
                {
                    i++;
                }
                tokens.Add(new TemplateToken(TokenKind.Name, source[start..i]));
                continue;
            }
            string op = Operators.FirstOrDefault(o => string.CompareOrdinal(source, i, o, 0, o.Length) == 0)
                ?? throw new TemplateException($"Unexpected character '{c}' in template tag.");
            depth += op is "(" or "[" or "{" ? 1 : op is ")" or "]" or "}" ? -1 : 0;
            tokens.Add(new TemplateToken(TokenKind.Operator, op));
            i += op.Length;
        }
        throw new TemplateException($"Unclosed template tag (expected '{closer}').");
    }

    private static int LexString(string source, int i, List<TemplateToken> tokens)
    {
        char quote = source[i++];
        var sb = new StringBuilder();
        while (i < source.Length && source[i] != quote)
        {
            if (source[i] == '\\' && i + 1 < source.Length)
            {
                i++;
                sb.Append(source[i] switch
                {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\b',
                    'f' => '\f',
                    'v' => '\v',
                    char other => other,
                });
            }
            else
            {
                sb.Append(source[i]);
            }
            i++;
        }
        tokens.Add(new TemplateToken(TokenKind.String, sb.ToString()));
        return i + 1;
    }
}

public sealed class TemplateException : Exception
{
    public TemplateException(string message) : base(message) { }

    public TemplateException() : base("Template error") { }

    public TemplateException(string message, Exception innerException) : base(message, innerException) { }
}
