using System.Text.Json.Nodes;
using VlmService.Engine.Models;
using VlmService.Imaging;
using VlmService.Onnx;
using VlmService.Text;
using VlmService.Text.Templates;

namespace VlmService.Engine.Generation;

/// <summary>A prompt ready for the decoder: token ids and the pixel tensor its image tokens stand for.</summary>
public sealed record PreparedPrompt(int[] Ids, ITensor Pixels, ITensor? PixelMask, int ImageTokens);

/// <summary>
/// An image-text-to-text model (Idefics3/SmolVLM or LLaVA): embed_tokens, vision_encoder and
/// decoder_model_merged sessions, its tokenizer and chat template, and its image processor.
/// </summary>
public sealed class GenerativeModel : ILoadedModel
{
    private readonly Idefics3ImageProcessor? _idefics3;
    private readonly DualEncoderImageProcessor? _llavaProcessor;
    private readonly int _imageSeqLen;
    private readonly string _llavaImageToken = PromptBuilder.ImageToken;
    private readonly int _llavaPatchSize;
    private readonly int _llavaAdditionalTokens;

    private GenerativeModel(string id, string family, string folder, bool isDemo, Tokenizer tokenizer, ChatTemplate template, DecoderSessions sessions,
        GenerationConfig generation, int imageTokenId, JsonNode processorConfig, ImageProcessorConfig imageConfig, ITensorResizer resizer)
    {
        Id = id;
        Family = family;
        Folder = folder;
        IsDemo = isDemo;
        Tokenizer = tokenizer;
        Template = template;
        Sessions = sessions;
        Generation = generation;
        ImageTokenId = imageTokenId;
        if (family == GenerativeFamilies.Idefics3)
        {
            _idefics3 = new Idefics3ImageProcessor(imageConfig, resizer);
            _imageSeqLen = processorConfig["image_seq_len"]?.GetValue<int>() ?? throw new InvalidDataException("processor_config.json has no image_seq_len.");
        }
        else
        {
            _llavaProcessor = new DualEncoderImageProcessor(imageConfig);
            _llavaImageToken = processorConfig["image_token"]?.GetValue<string>() ?? PromptBuilder.ImageToken;
            _llavaPatchSize = processorConfig["patch_size"]?.GetValue<int>() ?? throw new InvalidDataException("processor_config.json has no patch_size.");
            _llavaAdditionalTokens = processorConfig["num_additional_image_tokens"]?.GetValue<int>() ?? 0;
        }
    }

    public string Id { get; }

    public string Family { get; }

    public string Folder { get; }

    public bool IsDemo { get; }

    public IReadOnlyList<string> Capabilities { get; } =
        [Models.Capabilities.Caption, Models.Capabilities.Vqa, Models.Capabilities.Describe, Models.Capabilities.Tokenize];

    public Tokenizer Tokenizer { get; }

    public ChatTemplate Template { get; }

    public string Provider => Sessions.Provider;

    internal DecoderSessions Sessions { get; }

    public GenerationConfig Generation { get; }

    public int ImageTokenId { get; }

    public string ImageTokenText => Family == GenerativeFamilies.Idefics3 ? PromptBuilder.ImageToken : _llavaImageToken;

    public static GenerativeModel Load(string id, string family, string folder, bool isDemo, SessionSettings settings, ITensorResizer resizer)
    {
        JsonNode config = ReadJson(folder, "config.json")!;
        JsonNode processorConfig = ReadJson(folder, "processor_config.json")
            ?? throw new InvalidDataException("processor_config.json is missing (the processor needs it).");
        var tokenizer = Tokenizer.FromFolder(folder);
        ChatTemplate template = ChatTemplate.FromFolder(folder) ?? throw new InvalidDataException("No chat template in tokenizer_config.json or chat_template.json.");
        int imageTokenId = (config["image_token_index"] ?? config["image_token_id"])?.GetValue<int>()
            ?? throw new InvalidDataException("config.json has no image_token_id / image_token_index.");
        var imageConfig = ImageProcessorConfig.FromFile(Path.Combine(folder, "preprocessor_config.json"));
        var sessions = DecoderSessions.Open(folder, settings);
        return new GenerativeModel(id, family, folder, isDemo, tokenizer, template, sessions, GenerationConfig.FromFolder(folder), imageTokenId, processorConfig, imageConfig, resizer);
    }

    private static JsonNode? ReadJson(string folder, string name)
    {
        string path = Path.Combine(folder, name);
        return File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) : null;
    }

    /// <summary>Processes the image and builds the prompt around <paramref name="text"/> (CPU work, done off the decode loop).</summary>
    public PreparedPrompt Prepare(RgbImage image, string text, bool? doImageSplitting)
    {
        string prompt = PromptBuilder.Render(Template, text);
        if (_idefics3 is not null)
        {
            ImageTiles tiles = _idefics3.Process(image, doImageSplitting);
            string expanded = PromptBuilder.ExpandIdefics3(prompt, tiles, _imageSeqLen);
            int size = tiles.TileSize;
            var mask = new bool[tiles.Count * size * size];
            Array.Fill(mask, true);
            return new PreparedPrompt([.. Tokenizer.Encode(expanded).Ids], new Tensor<float>(tiles.Pixels, 1, tiles.Count, 3, size, size),
                new Tensor<bool>(mask, 1, tiles.Count, size, size), tiles.Count * _imageSeqLen);
        }
        float[] pixels = _llavaProcessor!.Process(image);
        (int height, int width) = _llavaProcessor.OutputSize;
        int count = ((height / _llavaPatchSize) * (width / _llavaPatchSize)) + _llavaAdditionalTokens;
        string llavaPrompt = PromptBuilder.ExpandLlava(prompt, _llavaImageToken, count);
        return new PreparedPrompt([.. Tokenizer.Encode(llavaPrompt).Ids], new Tensor<float>(pixels, 1, 3, height, width), null, count);
    }

    public ValueTask DisposeAsync()
    {
        Sessions.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>config.json model types served for generation.</summary>
public static class GenerativeFamilies
{
    public const string Idefics3 = "idefics3";
    public const string Llava = "llava";

    public static bool IsGenerative(string modelType) => modelType is Idefics3 or "smolvlm" or Llava;

    public static string Normalize(string modelType) => modelType == "smolvlm" ? Idefics3 : modelType;
}
