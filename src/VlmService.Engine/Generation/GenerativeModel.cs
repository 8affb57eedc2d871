using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using VlmService.Engine.Batching;
using VlmService.Engine.Diagnostics;
using VlmService.Engine.Models;
using VlmService.Imaging;
using VlmService.Onnx;
using VlmService.Text;
using VlmService.Text.Templates;

namespace VlmService.Engine.Generation;

/// <summary>A prompt ready for the decoder: token ids and the vision features its image tokens stand for.</summary>
public sealed record PreparedPrompt(int[] Ids, EncodedImage Image)
{
    public int ImageTokens => Image.Layout.FeatureRows;
}

/// <summary>
/// An image-text-to-text model (Idefics3/SmolVLM or LLaVA): embed_tokens, vision_encoder and
/// decoder_model_merged sessions, its tokenizer and chat template, and its image processor. Images of
/// concurrent requests are encoded together by the vision stage; text decoding is the batch decoder's.
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
        GenerationConfig generation, int imageTokenId, JsonNode processorConfig, ImageProcessorConfig imageConfig, ITensorResizer resizer,
        BatchingOptions batching, TimeProvider time, EngineMetrics metrics, ILogger logger)
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
        // Two batches' worth of images are prepared ahead: the next batch is ready when the encoder frees up, and the
        // requests behind it wait as JPEG bytes instead of holding their tiles (3 MB per 512² view, 13 views per
        // split photo).
        int visionBatch = batching.VisionBatchLimit(sessions.Vision.Provider);
        VisionStage = new BatchingStage<ProcessedImage, EncodedImage>($"{id}/vision_encoder", EncodeImages,
            batching with { MaxBatchSize = visionBatch }, time, metrics, logger, prepareAhead: 2 * visionBatch);
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

    /// <summary>The vision encoder behind its batching queue: processed images in, feature rows (and their layout) out.</summary>
    public BatchingStage<ProcessedImage, EncodedImage> VisionStage { get; }

    public string ImageTokenText => Family == GenerativeFamilies.Idefics3 ? PromptBuilder.ImageToken : _llavaImageToken;

    /// <param name="cacheOnDevice">Where KV caches live (<see cref="GenerationOptions.KvCacheOnDevice"/>).</param>
    /// <param name="visionArenaKeptViews">As <see cref="GenerationOptions.VisionArenaKeptViews"/>.</param>
    public static GenerativeModel Load(string id, string family, string folder, bool isDemo, SessionSettings settings, ITensorResizer resizer,
        BatchingOptions batching, bool? cacheOnDevice, int visionArenaKeptViews, TimeProvider time, EngineMetrics metrics, ILogger logger)
    {
        JsonNode config = ReadJson(folder, "config.json")!;
        JsonNode processorConfig = ReadJson(folder, "processor_config.json")
            ?? throw new InvalidDataException("processor_config.json is missing (the processor needs it).");
        var tokenizer = Tokenizer.FromFolder(folder);
        ChatTemplate template = ChatTemplate.FromFolder(folder) ?? throw new InvalidDataException("No chat template in tokenizer_config.json or chat_template.json.");
        int imageTokenId = (config["image_token_index"] ?? config["image_token_id"])?.GetValue<int>()
            ?? throw new InvalidDataException("config.json has no image_token_id / image_token_index.");
        var imageConfig = ImageProcessorConfig.FromFile(Path.Combine(folder, "preprocessor_config.json"));
        var sessions = DecoderSessions.Open(folder, settings, cacheOnDevice, visionArenaKeptViews);
        return new GenerativeModel(id, family, folder, isDemo, tokenizer, template, sessions, GenerationConfig.FromFolder(folder), imageTokenId, processorConfig, imageConfig, resizer,
            batching, time, metrics, logger);
    }

    private static JsonNode? ReadJson(string folder, string name)
    {
        string path = Path.Combine(folder, name);
        return File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) : null;
    }

    /// <summary>
    /// The splitting choice that actually applies: Idefics3 follows the request or the processor's default;
    /// LLaVA never splits. Part of the feature-cache key, so "unset" and its explicit default share entries.
    /// </summary>
    public bool SplitsImage(bool? requested) => _idefics3 is not null && (requested ?? _idefics3.Config.DoImageSplitting);

    /// <summary>Pixels for the vision encoder and the tile layout the prompt must describe (CPU work, off every loop).</summary>
    public ProcessedImage ProcessImage(RgbImage image, bool? doImageSplitting)
    {
        if (_idefics3 is not null)
        {
            ImageTiles tiles = _idefics3.Process(image, doImageSplitting);
            return new ProcessedImage(tiles.Pixels, tiles.Count, tiles.TileSize, tiles.TileSize,
                new ImageLayout(tiles.Rows, tiles.Cols, tiles.Count, tiles.Count * _imageSeqLen));
        }
        float[] pixels = _llavaProcessor!.Process(image);
        (int height, int width) = _llavaProcessor.OutputSize;
        int count = ((height / _llavaPatchSize) * (width / _llavaPatchSize)) + _llavaAdditionalTokens;
        return new ProcessedImage(pixels, 1, height, width, new ImageLayout(0, 0, 1, count));
    }

    private IReadOnlyList<EncodedImage> EncodeImages(IReadOnlyList<ProcessedImage> images, CancellationToken cancellationToken) =>
        Sessions.EncodeImages(images, cancellationToken).Select((rows, i) => new EncodedImage(images[i].Layout, rows)).ToList();

    /// <summary>The chat prompt around <paramref name="text"/> with the image expanded to its feature tokens.</summary>
    public int[] BuildPrompt(string text, ImageLayout layout)
    {
        string prompt = PromptBuilder.Render(Template, text);
        string expanded = _idefics3 is not null
            ? PromptBuilder.ExpandIdefics3(prompt, layout.Rows, layout.Cols, _imageSeqLen)
            : PromptBuilder.ExpandLlava(prompt, _llavaImageToken, layout.FeatureRows);
        return [.. Tokenizer.Encode(expanded).Ids];
    }

    public async ValueTask DisposeAsync()
    {
        await VisionStage.DisposeAsync().ConfigureAwait(false);
        Sessions.Dispose();
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
