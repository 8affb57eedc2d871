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
    public static IReadOnlyList<string> Families => [.. Layouts.Keys, .. GenerativeFolderWriter.Families];

    public static readonly IReadOnlyList<string> Presets = ["tiny", "base"];

    private static readonly string[] TokenizerFiles =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "added_tokens.json", "chat_template.json"];

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
        if (GenerativeFolderWriter.Families.Contains(request.Family))
        {
            GenerativeFolderWriter.Write(request, root, vocabSize);
            return;
        }
        FamilyLayout family = Layouts[request.Family];
        DualEncoderSpec spec = family.Spec(request.Preset, vocabSize);
        var weights = new WeightSource(request.Seed);
        WriteJson(root, "config.json", family.Config(spec));
        WriteJson(root, "preprocessor_config.json", family.Preprocessor(spec));
        WriteGraph(root, "text_model.onnx", family.TextModel(spec, weights));
        WriteGraph(root, "vision_model.onnx", family.VisionModel(spec, weights));
        WriteGraph(root, "model.onnx", family.FullModel(spec, weights));
    }

    /// <summary>What differs between the dual-encoder families: sizes, configs and graphs.</summary>
    private sealed record FamilyLayout(
        Func<string, int, DualEncoderSpec> Spec,
        Func<DualEncoderSpec, JsonObject> Config,
        Func<DualEncoderSpec, JsonObject> Preprocessor,
        Func<DualEncoderSpec, WeightSource, GraphBuilder> TextModel,
        Func<DualEncoderSpec, WeightSource, GraphBuilder> VisionModel,
        Func<DualEncoderSpec, WeightSource, GraphBuilder> FullModel);

    private static readonly Dictionary<string, FamilyLayout> Layouts = new(StringComparer.Ordinal)
    {
        ["clip"] = new(DualEncoderSpec.Clip, DualEncoderConfigs.Clip, DualEncoderConfigs.ClipPreprocessor,
            ClipGraphs.TextModel, ClipGraphs.VisionModel, ClipGraphs.FullModel),
        ["siglip"] = new(DualEncoderSpec.Siglip, DualEncoderConfigs.Siglip, DualEncoderConfigs.SiglipPreprocessor,
            SiglipGraphs.TextModel, SiglipGraphs.VisionModel, SiglipGraphs.FullModel),
    };

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
                    string to = Path.Combine(root, file);
                    File.Copy(from, to, overwrite: true);
                    // Reference folders may be read-only; the model folder is ours to rewrite or delete.
                    File.SetAttributes(to, FileAttributes.Normal);
                    copied = true;
                }
            }
            if (!copied)
            {
                throw new FileNotFoundException($"No tokenizer files in {source}.");
            }
            return;
        }
        (JsonObject tokenizer, JsonObject config) = request.Family switch
        {
            "clip" => GeneratedTokenizers.Clip(),
            "siglip" => GeneratedTokenizers.Siglip(),
            _ => GeneratedTokenizers.Chat(),
        };
        WriteJson(root, "tokenizer.json", tokenizer);
        WriteJson(root, "tokenizer_config.json", config);
    }

    internal static void WriteJson(string root, string name, JsonNode node) =>
        File.WriteAllText(Path.Combine(root, name), node.ToJsonString(Indented));

    internal static void WriteGraph(string root, string name, GraphBuilder graph)
    {
        using FileStream file = File.Create(Path.Combine(root, "onnx", name));
        graph.WriteTo(file);
    }
}
