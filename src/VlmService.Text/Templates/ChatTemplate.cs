using System.Text.Json;
using System.Text.Json.Nodes;

namespace VlmService.Text.Templates;

/// <summary>
/// A model's chat template (tokenizer_config.json <c>chat_template</c>, or chat_template.json), rendered as the
/// reference renders it: messages, <c>add_generation_prompt</c> and the tokenizer's special tokens in the context.
/// </summary>
public sealed class ChatTemplate
{
    private readonly List<Node> _nodes;
    private readonly Dictionary<string, object?> _specialTokens;

    public ChatTemplate(string source, IReadOnlyDictionary<string, string>? specialTokens = null)
    {
        Source = source;
        _nodes = TemplateParser.Parse(source);
        _specialTokens = (specialTokens ?? new Dictionary<string, string>()).ToDictionary(p => p.Key, p => (object?)p.Value, StringComparer.Ordinal);
    }

    public string Source { get; }

    /// <summary>Reads the template the reference would use: tokenizer_config.json first, then chat_template.json.</summary>
    public static ChatTemplate? FromFolder(string folder)
    {
        JsonNode? config = ReadJson(Path.Combine(folder, "tokenizer_config.json"));
        string? source = config?["chat_template"] switch
        {
            JsonValue value => value.GetValue<string>(),
            JsonArray named => named.FirstOrDefault(t => t?["name"]?.GetValue<string>() == "default")?["template"]?.GetValue<string>(),
            _ => ReadJson(Path.Combine(folder, "chat_template.json"))?["chat_template"]?.GetValue<string>(),
        };
        if (source is null)
        {
            return null;
        }
        var specials = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string key in new[] { "bos_token", "eos_token", "pad_token", "unk_token" })
        {
            string? token = config?[key] switch
            {
                JsonValue v => v.GetValue<string>(),
                JsonObject o => o["content"]?.GetValue<string>(),
                _ => null,
            };
            if (token is not null)
            {
                specials[key] = token;
            }
        }
        return new ChatTemplate(source, specials);
    }

    /// <summary>Renders <paramref name="messages"/> (a JSON array of {role, content}).</summary>
    public string Render(JsonArray messages, bool addGenerationPrompt)
    {
        var context = new Dictionary<string, object?>(_specialTokens, StringComparer.Ordinal)
        {
            ["messages"] = ToValue(messages),
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        return new TemplateInterpreter(context).Run(_nodes);
    }

    private static JsonNode? ReadJson(string path) => File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) : null;

    private static object? ToValue(JsonNode? node) => node switch
    {
        null => null,
        JsonArray array => array.Select(ToValue).ToList(),
        JsonObject obj => obj.ToDictionary(p => p.Key, p => ToValue(p.Value), StringComparer.Ordinal),
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => value.TryGetValue(out long l) ? l : value.GetValue<double>(),
            _ => null,
        },
        _ => null,
    };
}
