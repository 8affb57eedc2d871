using System.Globalization;

namespace VlmService.Text.Templates;

/// <summary>Filters, tests and string/dict methods available to templates.</summary>
internal static class TemplateFilters
{
    public static object? Apply(string name, object? value, List<object?> args) => name switch
    {
        "capitalize" => TemplateValues.Render(value) is { Length: > 0 } s ? char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant() : string.Empty,
        "upper" => TemplateValues.Render(value).ToUpperInvariant(),
        "lower" => TemplateValues.Render(value).ToLowerInvariant(),
        "title" => CultureInfo.InvariantCulture.TextInfo.ToTitleCase(TemplateValues.Render(value).ToLowerInvariant()),
        "trim" => JsText.Trim(TemplateValues.Render(value)),
        "length" or "count" => value switch
        {
            string s => (long)s.Length,
            List<object?> l => (long)l.Count,
            Dictionary<string, object?> d => (long)d.Count,
            _ => 0L,
        },
        "first" => TemplateValues.Iterate(value).FirstOrDefault(Undefined.Value),
        "last" => TemplateValues.Iterate(value).LastOrDefault(Undefined.Value),
        "list" => TemplateValues.Iterate(value),
        "reverse" => value is string rs ? new string(rs.Reverse().ToArray()) : Enumerable.Reverse(TemplateValues.Iterate(value)).ToList(),
        "join" => string.Join(args.Count > 0 ? TemplateValues.Render(args[0]) : string.Empty, TemplateValues.Iterate(value).Select(TemplateValues.Render)),
        "default" or "d" => value is Undefined || (args.Count > 1 && TemplateValues.Truthy(args[1]) && !TemplateValues.Truthy(value)) ? args.FirstOrDefault() : value,
        "string" => TemplateValues.Render(value),
        "int" => value is string si && long.TryParse(si, NumberStyles.Integer, CultureInfo.InvariantCulture, out long parsed) ? parsed : (long)TemplateValues.Number(value),
        "float" => value is string sf && double.TryParse(sf, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) ? f : TemplateValues.Number(value),
        "tojson" => TemplateValues.ToJson(value, args.Count > 0 && args[0] is long indent ? (int)indent : null),
        "items" => value is Dictionary<string, object?> dict ? dict.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList() : [],
        "replace" => TemplateValues.Render(value).Replace(TemplateValues.Render(args[0]), TemplateValues.Render(args[1]), StringComparison.Ordinal),
        "safe" or "e" or "escape" => value,
        _ => throw new TemplateException($"Unsupported filter '{name}'."),
    };

    public static bool Test(string name, object? value) => name switch
    {
        "defined" => value is not Undefined,
        "undefined" => value is Undefined,
        "none" => value is null,
        "string" => value is string,
        "number" => value is long or double,
        "integer" => value is long,
        "float" => value is double,
        "boolean" => value is bool,
        "true" => value is true,
        "false" => value is false,
        "mapping" => value is Dictionary<string, object?>,
        "iterable" => value is List<object?> or string or Dictionary<string, object?>,
        "sequence" => value is List<object?> or string,
        "odd" => value is long o && o % 2 != 0,
        "even" => value is long e && e % 2 == 0,
        "lower" => value is string l && string.Equals(l, l.ToLowerInvariant(), StringComparison.Ordinal),
        "upper" => value is string u && string.Equals(u, u.ToUpperInvariant(), StringComparison.Ordinal),
        _ => throw new TemplateException($"Unsupported test '{name}'."),
    };
}

internal static class TemplateMethods
{
    /// <summary>A bound method of a string or dict (e.g. <c>message.content.strip()</c>), or undefined.</summary>
    public static object? Bind(object? target, string name) => (target, name) switch
    {
        (string s, "strip") => Fn(args => args.Count > 0 ? s.Trim(TemplateValues.Render(args[0]).ToCharArray()) : JsText.Trim(s)),
        (string s, "lstrip") => Fn(args => args.Count > 0 ? s.TrimStart(TemplateValues.Render(args[0]).ToCharArray()) : JsText.TrimStart(s)),
        (string s, "rstrip") => Fn(args => args.Count > 0 ? s.TrimEnd(TemplateValues.Render(args[0]).ToCharArray()) : JsText.TrimEnd(s)),
        (string s, "upper") => Fn(_ => s.ToUpperInvariant()),
        (string s, "lower") => Fn(_ => s.ToLowerInvariant()),
        (string s, "title") => Fn(_ => CultureInfo.InvariantCulture.TextInfo.ToTitleCase(s.ToLowerInvariant())),
        (string s, "capitalize") => Fn(_ => TemplateFilters.Apply("capitalize", s, [])),
        (string s, "startswith") => Fn(args => s.StartsWith(TemplateValues.Render(args[0]), StringComparison.Ordinal)),
        (string s, "endswith") => Fn(args => s.EndsWith(TemplateValues.Render(args[0]), StringComparison.Ordinal)),
        (string s, "split") => Fn(args => (args.Count > 0 ? s.Split(TemplateValues.Render(args[0])) : s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).Cast<object?>().ToList()),
        (string s, "replace") => Fn(args => s.Replace(TemplateValues.Render(args[0]), TemplateValues.Render(args[1]), StringComparison.Ordinal)),
        (Dictionary<string, object?> d, "items") => Fn(_ => TemplateFilters.Apply("items", d, [])),
        (Dictionary<string, object?> d, "keys") => Fn(_ => d.Keys.Cast<object?>().ToList()),
        (Dictionary<string, object?> d, "values") => Fn(_ => d.Values.ToList()),
        (Dictionary<string, object?> d, "get") => Fn(args => d.TryGetValue(TemplateValues.Render(args[0]), out object? v) ? v : args.Count > 1 ? args[1] : null),
        _ => Undefined.Value,
    };

    private static TemplateFunction Fn(Func<List<object?>, object?> body) => (args, _) => body(args);
}
