using System.Text.Json.Nodes;

namespace VlmService.Engine.Generation;

/// <summary>
/// End-of-sequence ids and defaults, merged as the reference merges them: config.json, overlaid by its
/// text_config, overlaid by generation_config.json.
/// </summary>
public sealed record GenerationConfig(IReadOnlyList<int> EosTokenIds, int? PadTokenId)
{
    public static GenerationConfig FromFolder(string folder)
    {
        JsonNode config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        string generationPath = Path.Combine(folder, "generation_config.json");
        JsonNode? generation = File.Exists(generationPath) ? JsonNode.Parse(File.ReadAllText(generationPath)) : null;
        JsonNode? eos = generation?["eos_token_id"] ?? config["text_config"]?["eos_token_id"] ?? config["eos_token_id"];
        JsonNode? pad = generation?["pad_token_id"] ?? config["text_config"]?["pad_token_id"] ?? config["pad_token_id"];
        IReadOnlyList<int> eosIds = eos switch
        {
            JsonArray array => array.Select(x => x!.GetValue<int>()).ToList(),
            JsonValue value => [value.GetValue<int>()],
            _ => [],
        };
        return new GenerationConfig(eosIds, pad?.GetValue<int>());
    }
}
