using System.Text.Json.Nodes;

namespace VlmService.Text;

/// <summary>Adds the special tokens a tokenizer wraps each sequence in (when special tokens are requested).</summary>
internal delegate List<string> PostProcessor(List<string> tokens, bool addSpecialTokens);

internal static class PostProcessors
{
    public static PostProcessor? Create(JsonNode? config)
    {
        if (config is null)
        {
            return null;
        }
        string type = config["type"]!.GetValue<string>();
        return type switch
        {
            "TemplateProcessing" => Template(config),
            "RobertaProcessing" or "BertProcessing" => Wrap(config["cls"]![0]!.GetValue<string>(), config["sep"]![0]!.GetValue<string>()),
            "ByteLevel" => (tokens, _) => tokens,
            "Sequence" => Sequence(config["processors"]!.AsArray().Select(Create).Where(p => p is not null).Cast<PostProcessor>().ToList()),
            _ => throw new NotSupportedException($"Post-processor '{type}' is not supported."),
        };
    }

    private static PostProcessor Wrap(string cls, string sep) =>
        (tokens, add) => add ? [cls, .. tokens, sep] : tokens;

    private static PostProcessor Template(JsonNode config)
    {
        var template = config["single"]!.AsArray().Select(item => item!["SpecialToken"] is JsonNode special
            ? special["id"]!.GetValue<string>()
            : null).ToList();
        return (tokens, add) =>
        {
            if (!add)
            {
                return tokens;
            }
            var result = new List<string>(tokens.Count + template.Count);
            foreach (string? special in template)
            {
                if (special is null)
                {
                    result.AddRange(tokens);
                }
                else
                {
                    result.Add(special);
                }
            }
            return result;
        };
    }

    private static PostProcessor Sequence(List<PostProcessor> steps) => (tokens, add) =>
    {
        foreach (PostProcessor step in steps)
        {
            tokens = step(tokens, add);
        }
        return tokens;
    };
}
