using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VlmService.Text.Templates;

/// <summary>An undefined variable or missing attribute: renders empty, is falsy, fails <c>is defined</c>.</summary>
internal sealed class Undefined
{
    public static readonly Undefined Value = new();

    private Undefined() { }
}

/// <summary>A function callable from a template: positional and keyword arguments.</summary>
internal delegate object? TemplateFunction(List<object?> args, Dictionary<string, object?> keywords);

/// <summary>Conversions between template values and text, numbers and truth, with the reference engine's rules.</summary>
internal static class TemplateValues
{
    public static bool Truthy(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        Dictionary<string, object?> dict => dict.Count > 0,
        _ => true,
    };

    public static string Render(object? value) => value switch
    {
        null => "None",
        Undefined => string.Empty,
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d == Math.Floor(d) && Math.Abs(d) < 1e15 ? ((long)d).ToString(CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture),
        _ => ToJson(value, null),
    };

    public static bool AreEqual(object? a, object? b) => (a, b) switch
    {
        (null or Undefined, null or Undefined) => a?.GetType() == b?.GetType(),
        (long x, double y) => x == y,
        (double x, long y) => x == y,
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => AreEqual(p.First, p.Second)),
        _ => Equals(a, b),
    };

    public static double Number(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new TemplateException($"'{Render(value)}' is not a number."),
    };

    public static List<object?> Iterate(object? value) => value switch
    {
        List<object?> list => list,
        Dictionary<string, object?> dict => dict.Keys.Cast<object?>().ToList(),
        string s => JsText.CodePoints(s).Cast<object?>().ToList(),
        null or Undefined => [],
        _ => throw new TemplateException($"'{Render(value)}' is not iterable."),
    };

    public static string ToJson(object? value, int? indent)
    {
        var sb = new StringBuilder();
        WriteJson(sb, value, indent, 0);
        return sb.ToString();
    }

    private static void WriteJson(StringBuilder sb, object? value, int? indent, int depth)
    {
        switch (value)
        {
            case null or Undefined:
                sb.Append("null");
                break;
            case string s:
                sb.Append(JsonSerializer.Serialize(s, TemplateJson.Options));
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case long or double:
                sb.Append(Render(value));
                break;
            case List<object?> list:
                WriteContainer(sb, '[', ']', list.Count, indent, depth, i => WriteJson(sb, list[i], indent, depth + 1));
                break;
            case Dictionary<string, object?> dict:
                var entries = dict.ToList();
                WriteContainer(sb, '{', '}', entries.Count, indent, depth, i =>
                {
                    sb.Append(JsonSerializer.Serialize(entries[i].Key, TemplateJson.Options)).Append(": ");
                    WriteJson(sb, entries[i].Value, indent, depth + 1);
                });
                break;
            default:
                sb.Append("null");
                break;
        }
    }

    private static void WriteContainer(StringBuilder sb, char open, char close, int count, int? indent, int depth, Action<int> item)
    {
        sb.Append(open);
        for (int i = 0; i < count; i++)
        {
            if (indent is int n)
            {
                sb.Append('\n').Append(' ', n * (depth + 1));
            }
            item(i);
            if (i < count - 1)
            {
                sb.Append(indent is null ? ", " : ",");
            }
        }
        if (indent is int m && count > 0)
        {
            sb.Append('\n').Append(' ', m * depth);
        }
        sb.Append(close);
    }
}

internal static class TemplateJson
{
    public static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
