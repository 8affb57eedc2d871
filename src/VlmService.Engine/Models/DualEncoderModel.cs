using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using VlmService.Engine.Batching;
using VlmService.Engine.Diagnostics;
using VlmService.Imaging;
using VlmService.Native;
using VlmService.Onnx;
using VlmService.Text;

namespace VlmService.Engine.Models;

/// <summary>
/// A CLIP-family model: a text encoder and a vision encoder, each behind its own batching stage, mapping
/// into one embedding space; plus the logit scale (and SigLIP's bias) measured from onnx/model.onnx.
/// </summary>
public sealed class DualEncoderModel : ILoadedModel
{
    private readonly InferenceSession _textSession;
    private readonly InferenceSession _visionSession;
    private readonly string _textOutput;
    private readonly string _visionOutput;
    private readonly PixelBuffers _pixels;

    private DualEncoderModel(string id, string family, string folder, bool isDemo, Tokenizer tokenizer, DualEncoderImageProcessor processor,
        InferenceSession text, InferenceSession vision, LogitCalibration calibration, BatchingOptions batching, int visionBatch, ExecutionLanes? lanes,
        TimeProvider time, EngineMetrics metrics, ILogger logger)
    {
        Id = id;
        Family = family;
        Folder = folder;
        IsDemo = isDemo;
        Tokenizer = tokenizer;
        ImageProcessor = processor;
        _textSession = text;
        _visionSession = vision;
        _textOutput = EmbeddingOutput(text, "text_embeds");
        _visionOutput = EmbeddingOutput(vision, "image_embeds");
        Calibration = calibration;
        Dimensions = (int)text.Outputs.First(o => o.Name == _textOutput).Dimensions[^1];
        TextStage = new BatchingStage<int[], float[]>($"{id}/text_encoder", RunText, batching, time, metrics, logger, lanes: lanes);
        (int height, int width) = processor.OutputSize;
        // Images held at once: a batch being filled and one running per lane; more than that are allocated as needed.
        _pixels = new PixelBuffers(3 * height * width, visionBatch, visionBatch * ((lanes?.Count ?? 1) + 1));
        VisionStage = new BatchingStage<float[], float[]>($"{id}/vision_encoder", RunVision, batching with { MaxBatchSize = visionBatch }, time, metrics,
            logger, lanes: lanes);
    }

    public string Id { get; }

    public string Family { get; }

    public string Folder { get; }

    public bool IsDemo { get; }

    public IReadOnlyList<string> Capabilities { get; } = [Models.Capabilities.Embed, Models.Capabilities.ZeroShot, Models.Capabilities.Tokenize];

    public Tokenizer Tokenizer { get; }

    public DualEncoderImageProcessor ImageProcessor { get; }

    public string Provider => _visionSession.Provider;

    public int Dimensions { get; }

    public LogitCalibration Calibration { get; }

    /// <summary>SigLIP is trained with a sigmoid per label; CLIP with a softmax across labels.</summary>
    public bool UsesSigmoid => Family == ModelFamilies.Siglip;

    /// <summary>SigLIP's text tower was trained on inputs padded to the maximum length.</summary>
    public Padding TextPadding => Family == ModelFamilies.Siglip ? Padding.MaxLength : Padding.Longest;

    public BatchingStage<int[], float[]> TextStage { get; }

    /// <summary>
    /// Token ids as the text encoder takes them (special tokens added, truncated, SigLIP padded to its maximum)
    /// and how many of them are real tokens rather than padding.
    /// </summary>
    public (int[] Ids, int Tokens) EncoderInput(string text)
    {
        TokenBatch batch = Tokenizer.EncodeBatch([text], TextPadding);
        return (batch.Ids.Select(id => (int)id).ToArray(), batch.RealTokenCount);
    }

    /// <summary>Takes the pixels of one image, as <see cref="RentPixels"/> gives them; the stage hands the array back once it is in a batch.</summary>
    public BatchingStage<float[], float[]> VisionStage { get; }

    /// <summary>An array for one image's processed pixels (3 × height × width), reused once a batch has taken it.</summary>
    public float[] RentPixels() => _pixels.RentImage();

    /// <param name="config">The folder's config.json, as the loader read it.</param>
    /// <param name="lanes">Lanes shared by every dual-encoder stage (<paramref name="settings"/> then give each run its share of threads), or null.</param>
    public static DualEncoderModel Load(string id, string family, string folder, JsonNode config, bool isDemo, SessionSettings settings,
        BatchingOptions batching, ExecutionLanes? lanes, TimeProvider time, EngineMetrics metrics, ILogger logger)
    {
        var tokenizer = Tokenizer.FromFolder(folder);
        var processor = new DualEncoderImageProcessor(ImageProcessorConfig.FromFile(Path.Combine(folder, "preprocessor_config.json")));
        InferenceSession text = InferenceSession.Open(Path.Combine(folder, "onnx", "text_model.onnx"), settings);
        InferenceSession? vision = null;
        try
        {
            vision = InferenceSession.Open(Path.Combine(folder, "onnx", "vision_model.onnx"), settings);
            if (vision.ProviderFallbackReason is { } reason)
            {
                EngineLog.CudaFallback(logger, id, reason);
            }
            string fullModel = Path.Combine(folder, "onnx", "model.onnx");
            LogitCalibration calibration;
            if (File.Exists(fullModel))
            {
                calibration = LogitCalibration.Measure(fullModel, settings, tokenizer, processor, family == ModelFamilies.Siglip ? Padding.MaxLength : Padding.Longest);
            }
            else
            {
                EngineLog.ScaleFromConfig(logger, id);
                calibration = LogitCalibration.FromConfig(config);
            }
            (int height, int width) = processor.OutputSize;
            int? tokensPerImage = config["vision_config"]?["patch_size"] is JsonValue patch && patch.TryGetValue(out int size) && size > 0
                ? (height / size) * (width / size)
                : null;
            int visionBatch = batching.EncoderBatchLimit(vision.Provider, settings.IntraOpThreads ?? InferenceSession.SharedThreads, tokensPerImage);
            return new DualEncoderModel(id, family, folder, isDemo, tokenizer, processor, text, vision, calibration, batching, visionBatch, lanes, time,
                metrics, logger);
        }
        catch
        {
            text.Dispose();
            vision?.Dispose();
            throw;
        }
    }

    /// <summary>The output an encoder's embeddings are read from: the projected one (CLIP), else pooler_output (SigLIP).</summary>
    public static string EmbeddingOutput(InferenceSession session, string projected) =>
        session.Outputs.Any(o => o.Name == projected) ? projected
        : session.Outputs.Any(o => o.Name == "pooler_output") ? "pooler_output"
        : throw new InvalidDataException($"{Path.GetFileName(session.ModelPath)} has neither '{projected}' nor 'pooler_output'.");

    private IReadOnlyList<float[]> RunText(IReadOnlyList<int[]> rows, CancellationToken cancellationToken)
    {
        int length = rows.Max(r => r.Length);
        long pad = Tokenizer.PadTokenId ?? 0;
        var ids = new long[rows.Count * length];
        var mask = new long[rows.Count * length];
        Array.Fill(ids, pad);
        for (int b = 0; b < rows.Count; b++)
        {
            int offset = Tokenizer.PaddingRight ? 0 : length - rows[b].Length;
            for (int i = 0; i < rows[b].Length; i++)
            {
                ids[(b * length) + offset + i] = rows[b][i];
                mask[(b * length) + offset + i] = 1;
            }
        }
        var inputs = new List<KeyValuePair<string, ITensor>> { new("input_ids", new Tensor<long>(ids, rows.Count, length)) };
        if (_textSession.HasInput("attention_mask"))
        {
            inputs.Add(new("attention_mask", new Tensor<long>(mask, rows.Count, length)));
        }
        var output = (Tensor<float>)_textSession.Run(inputs, [_textOutput], cancellationToken)[_textOutput];
        return Enumerable.Range(0, rows.Count).Select(output.Row).ToList();
    }

    private IReadOnlyList<float[]> RunVision(IReadOnlyList<float[]> images, CancellationToken cancellationToken)
    {
        (int height, int width) = ImageProcessor.OutputSize;
        if (images.Count == 1)
        {
            // A batch of one runs over the image's own array: a lone request (the usual case at low traffic, where its
            // latency is what counts) need not have its 0.6 MB copied into a batch tensor first.
            try
            {
                return EncodeImages(new Tensor<float>(images[0], 1, 3, height, width), 1, cancellationToken);
            }
            finally
            {
                _pixels.ReturnImage(images[0]);
            }
        }
        int plane = 3 * height * width;
        NativeBuffer<float> pixels = _pixels.RentBatch();
        try
        {
            for (int b = 0; b < images.Count; b++)
            {
                images[b].CopyTo(pixels.Span.Slice(b * plane, plane));
                _pixels.ReturnImage(images[b]);
            }
            return EncodeImages(Tensor.OverPrefix(pixels, images.Count, 3, height, width), images.Count, cancellationToken);
        }
        finally
        {
            _pixels.ReturnBatch(pixels);
        }
    }

    private IReadOnlyList<float[]> EncodeImages(ITensor pixelValues, int count, CancellationToken cancellationToken)
    {
        var output = (Tensor<float>)_visionSession.Run([new("pixel_values", pixelValues)], [_visionOutput], cancellationToken)[_visionOutput];
        return Enumerable.Range(0, count).Select(output.Row).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await TextStage.DisposeAsync().ConfigureAwait(false);
        await VisionStage.DisposeAsync().ConfigureAwait(false);
        _textSession.Dispose();
        _visionSession.Dispose();
        _pixels.Dispose();
    }
}
