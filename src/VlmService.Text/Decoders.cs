using System.Text;
using System.Text.Json.Nodes;

namespace VlmService.Text;

/// <summary>Turns token strings back into text.</summary>
internal delegate string Decoder(IReadOnlyList<string> tokens);

internal static class Decoders
{
    public static Decoder Create(JsonNode? config) => config is null
        ? tokens => string.Join(' ', tokens)
        : config["type"]!.GetValue<string>() switch
        {
            "ByteLevel" => tokens => Encoding.UTF8.GetString(ByteLevelAlphabet.DecodeToBytes(string.Concat(tokens))),
            "Metaspace" => Metaspace(config),
            "BPEDecoder" => tokens => string.Concat(tokens).Replace(config["suffix"]?.GetValue<string>() ?? "</w>", " ", StringComparison.Ordinal).TrimEnd(),
            "Sequence" => Sequence(config["decoders"]!.AsArray().Select(Create).ToList()),
            string type => throw new NotSupportedException($"Decoder '{type}' is not supported."),
        };

    private static Decoder Metaspace(JsonNode config)
    {
        string replacement = config["replacement"]?.GetValue<string>() ?? "\u2581";
        bool prepends = (config["prepend_scheme"]?.GetValue<string>() ?? "always") != "never";
        return tokens =>
        {
            var sb = new StringBuilder();
            for (int i = 0; i < tokens.Count; i++)
            {
                string piece = tokens[i].Replace(replacement, " ", StringComparison.Ordinal);
                if (i == 0 && prepends && piece.StartsWith(' '))
                {
                    piece = piece[1..];
                }
                sb.Append(piece);
            }
            return sb.ToString();
        };
    }

    private static Decoder Sequence(List<Decoder> steps) => tokens =>
    {
        string text = string.Concat(tokens);
        foreach (Decoder step in steps)
        {
            text = step([text]);
        }
        return text;
    };
}
