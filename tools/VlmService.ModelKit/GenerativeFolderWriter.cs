using System.Text.Json.Nodes;
using VlmService.ModelKit.Families;
using VlmService.ModelKit.Onnx;
using VlmService.Text;

namespace VlmService.ModelKit;

/// <summary>SmolVLM (Idefics3) and LLaVA folders: embed_tokens, vision_encoder, decoder_model_merged and their configs.</summary>
internal static class GenerativeFolderWriter
{
    public static readonly IReadOnlyList<string> Families = ["smolvlm", "llava"];

    public static void Write(ModelKitRequest request, string root, int vocabSize)
    {
        var tokenizer = Tokenizer.FromFolder(root);
        JsonNode? tokenizerConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "tokenizer_config.json")));
        int imageToken = tokenizer.TokenToId("<image>") ?? throw new InvalidDataException("The tokenizer has no <image> token.");
        int eos = IdOf(tokenizer, tokenizerConfig?["eos_token"]) ?? throw new InvalidDataException("tokenizer_config.json names no eos_token.");
        int pad = IdOf(tokenizer, tokenizerConfig?["pad_token"]) ?? eos;
        int bos = IdOf(tokenizer, tokenizerConfig?["bos_token"]) ?? 0;
        var weights = new WeightSource(request.Seed);
        (VisionTowerSpec vision, DecoderSpec text) = request.Family == "smolvlm"
            ? GenerativeSpecs.SmolVlm(request.Preset, vocabSize)
            : GenerativeSpecs.Llava(request.Preset, vocabSize);
        if (request.Family == "smolvlm")
        {
            ModelFolderWriter.WriteJson(root, "config.json", GenerativeConfigs.SmolVlm(vision, text, imageToken));
            ModelFolderWriter.WriteJson(root, "preprocessor_config.json", GenerativeConfigs.SmolVlmPreprocessor(vision));
            ModelFolderWriter.WriteJson(root, "processor_config.json", GenerativeConfigs.SmolVlmProcessor(vision));
            ModelFolderWriter.WriteGraph(root, "vision_encoder.onnx", GenerativeGraphs.Idefics3VisionEncoder(vision, text, weights));
        }
        else
        {
            ModelFolderWriter.WriteJson(root, "config.json", GenerativeConfigs.Llava(vision, text, imageToken, eos, pad));
            ModelFolderWriter.WriteJson(root, "preprocessor_config.json", GenerativeConfigs.LlavaPreprocessor(vision));
            ModelFolderWriter.WriteJson(root, "processor_config.json", GenerativeConfigs.LlavaProcessor(vision));
            ModelFolderWriter.WriteGraph(root, "vision_encoder.onnx", GenerativeGraphs.LlavaVisionEncoder(vision, text, weights));
        }
        ModelFolderWriter.WriteJson(root, "generation_config.json", GenerativeConfigs.GenerationConfig(bos, eos, pad));
        ModelFolderWriter.WriteGraph(root, "embed_tokens.onnx", GenerativeGraphs.EmbedTokens(text, weights));
        ModelFolderWriter.WriteGraph(root, "decoder_model_merged.onnx", GenerativeGraphs.Decoder(text, weights));
    }

    private static int? IdOf(Tokenizer tokenizer, JsonNode? token) => token switch
    {
        JsonValue value => tokenizer.TokenToId(value.GetValue<string>()),
        JsonObject obj when obj["content"] is JsonNode content => tokenizer.TokenToId(content.GetValue<string>()),
        _ => null,
    };
}
