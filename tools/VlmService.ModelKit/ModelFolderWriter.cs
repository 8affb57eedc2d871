using System.Text.Json;
using System.Text.Json.Nodes;
using VlmService.ModelKit.Families;
using VlmService.ModelKit.Onnx;
using VlmService.ModelKit.Tokenizers;

namespace VlmService.ModelKit;

/// <summary>What to build: a family, a size preset, a seed, and optionally a folder whose tokenizer files to copy.</summary>
public sealed record ModelKitRequest(string Family, string Preset, int Seed, string OutputDirectory, string? TokenizerDirectory = null);

/// <summary>Writes a complete model folder in the Hugging Face / transformers.js ONNX layout.</summary>
public static class ModelFolderWriter
{
    public static readonly IReadOnlyList<string> Families = ["clip", "siglip"];

    public static readonly IReadOnlyList<string> Presets = ["tiny", "base"];

    private static readonly string[] TokenizerFiles =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "added_tokens.json"];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Write(ModelKitRequest request)
    {
        if (!Families.Contains(request.Family))
        {
            throw new ArgumentException($"Unknown family '{request.Family}' ({string.Join(", ", Families)}).");
        }
        if (!Presets.Contains(request.Preset))
        {
            throw new ArgumentException($"Unknown preset '{request.Preset}' ({string.Join(", ", Presets)}).");
        }
        string root = Path.GetFullPath(request.OutputDirectory);
        Directory.CreateDirectory(Path.Combine(root, "onnx"));
        WriteTokenizer(request, root);
        int vocabSize = VlmService.Text.Tokenizer.FromFolder(root).VocabularySize;
        var weights = new WeightSource(request.Seed);
        switch (request.Family)
        {
            case "clip":
                {
                    var spec = DualEncoderSpec.Clip(request.Preset, vocabSize);
                    WriteJson(root, "config.json", DualEncoderConfigs.Clip(spec));
                    WriteJson(root, "preprocessor_config.json", DualEncoderConfigs.ClipPreprocessor(spec));
                    WriteGraph(root, "text_model.onnx", ClipGraphs.TextModel(spec, weights));
                    WriteGraph(root, "vision_model.onnx", ClipGraphs.VisionModel(spec, weights));
                    WriteGraph(root, "model.onnx", ClipGraphs.FullModel(spec, weights));
                    break;
                }
            case "siglip":
                {
                    var spec = DualEncoderSpec.Siglip(request.Preset, vocabSize);
                    WriteJson(root, "config.json", DualEncoderConfigs.Siglip(spec));
                    WriteJson(root, "preprocessor_config.json", DualEncoderConfigs.SiglipPreprocessor(spec));
                    WriteGraph(root, "text_model.onnx", SiglipGraphs.TextModel(spec, weights));
                    WriteGraph(root, "vision_model.onnx", SiglipGraphs.VisionModel(spec, weights));
                    WriteGraph(root, "model.onnx", SiglipGraphs.FullModel(spec, weights));
                    break;
                }
        }
    }

    private static void WriteTokenizer(ModelKitRequest request, string root)
    {
        if (request.TokenizerDirectory is { } source)
        {
            bool copied = false;
            foreach (string file in TokenizerFiles)
            {
                string from = Path.Combine(source, file);
                if (File.Exists(from))
                {
                    File.Copy(from, Path.Combine(root, file), overwrite: true);
                    copied = true;
                }
            }
            if (!copied)
            {
                throw new FileNotFoundException($"No tokenizer files in {source}.");
            }
            return;
        }
        (JsonObject tokenizer, JsonObject config) = request.Family == "clip" ? GeneratedTokenizers.Clip() : GeneratedTokenizers.Siglip();
        WriteJson(root, "tokenizer.json", tokenizer);
        WriteJson(root, "tokenizer_config.json", config);
    }

    private static void WriteJson(string root, string name, JsonNode node) =>
        File.WriteAllText(Path.Combine(root, name), node.ToJsonString(Indented));

    private static void WriteGraph(string root, string name, GraphBuilder graph) =>
        File.WriteAllBytes(Path.Combine(root, "onnx", name), graph.Serialize());
}
