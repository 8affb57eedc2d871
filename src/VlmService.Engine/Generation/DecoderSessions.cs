using VlmService.Native;
using VlmService.Onnx;

namespace VlmService.Engine.Generation;

/// <summary>
/// The three sessions of an image-text-to-text export and the decoder's cache geometry, read from the
/// decoder's declared inputs (past_key_values.{i}.key: [batch, kvHeads, past, headDim]).
/// </summary>
internal sealed class DecoderSessions : IDisposable
{
    private readonly string[] _pastNames;
    private readonly string[] _outputNames;

    /// <summary>The logits' last dimension; -1 when the export leaves it symbolic (then ORT allocates logits itself).</summary>
    private readonly int _vocabulary;

    private DecoderSessions(InferenceSession embed, InferenceSession vision, InferenceSession decoder)
    {
        Embed = embed;
        Vision = vision;
        Decoder = decoder;
        Layers = decoder.Inputs.Count(i => i.Name.StartsWith("past_key_values.", StringComparison.Ordinal) && i.Name.EndsWith(".key", StringComparison.Ordinal));
        TensorInfo key = decoder.Input("past_key_values.0.key");
        KeyValueHeads = (int)key.Dimensions[1];
        HeadDim = (int)key.Dimensions[3];
        HasPositionIds = decoder.HasInput("position_ids");
        _pastNames = Enumerable.Range(0, Layers).SelectMany(i => new[] { $"past_key_values.{i}.key", $"past_key_values.{i}.value" }).ToArray();
        _outputNames = ["logits", .. Enumerable.Range(0, Layers).SelectMany(i => new[] { $"present.{i}.key", $"present.{i}.value" })];
        VisionTakesMask = vision.HasInput("pixel_attention_mask");
        PixelsHaveViewAxis = vision.Input("pixel_values").Dimensions.Length == 5;
        _vocabulary = (int)decoder.Outputs.First(o => o.Name == "logits").Dimensions[^1];
    }

    public InferenceSession Embed { get; }

    public InferenceSession Vision { get; }

    public InferenceSession Decoder { get; }

    public int Layers { get; }

    public int KeyValueHeads { get; }

    public int HeadDim { get; }

    public bool HasPositionIds { get; }

    public bool VisionTakesMask { get; }

    /// <summary>Idefics3's pixel_values is [batch, views, 3, h, w]; LLaVA's is [batch, 3, h, w].</summary>
    public bool PixelsHaveViewAxis { get; }

    public string Provider => Decoder.Provider;

    public static DecoderSessions Open(string folder, SessionSettings settings)
    {
        string onnx = Path.Combine(folder, "onnx");
        var opened = new List<InferenceSession>();
        try
        {
            // Decoder steps change shape every time (the batch widens and narrows, the cache lengthens): per-shape
            // memory plans would fragment the arena into far more than a step's live tensors.
            SessionSettings stepping = settings with { MemoryPattern = false };
            opened.Add(InferenceSession.Open(Path.Combine(onnx, "embed_tokens.onnx"), stepping));
            // The vision encoder's activations (a few hundred MB per batch of 512² views) would otherwise stay
            // resident after every burst of images.
            opened.Add(InferenceSession.Open(Path.Combine(onnx, "vision_encoder.onnx"), settings with { ShrinkArenaAfterRun = true }));
            opened.Add(InferenceSession.Open(Path.Combine(onnx, "decoder_model_merged.onnx"), stepping));
            return new DecoderSessions(opened[0], opened[1], opened[2]);
        }
        catch
        {
            opened.ForEach(s => s.Dispose());
            throw;
        }
    }

    /// <summary>inputs_embeds [batch, length, hidden] for token ids [batch, length].</summary>
    public Tensor<float> EmbedTokens(long[] ids, int batch, int length, CancellationToken cancellationToken) =>
        (Tensor<float>)Embed.Run([new("input_ids", new Tensor<long>(ids, batch, length))], ["inputs_embeds"], cancellationToken)["inputs_embeds"];

    /// <summary>
    /// Features for several images in one vision-encoder call. Idefics3 takes every view of every image as
    /// [1, views, 3, h, w] (each view is encoded on its own, so stacking requests changes nothing); LLaVA takes
    /// [images, 3, h, w]. The output rows come back in input order and are cut per image.
    /// </summary>
    public IReadOnlyList<float[]> EncodeImages(IReadOnlyList<ProcessedImage> images, CancellationToken cancellationToken)
    {
        ProcessedImage first = images[0];
        if (images.Any(i => i.Height != first.Height || i.Width != first.Width))
        {
            return images.SelectMany(i => EncodeImages([i], cancellationToken)).ToList();
        }
        int views = images.Sum(i => i.Views);
        // One image (the CPU default) goes in and comes out where it is: copies would be megabytes of large-object
        // garbage per request.
        float[] pixels = images.Count == 1 ? first.Pixels : Concatenate(images);
        long[] shape = PixelsHaveViewAxis
            ? [1, views, 3, first.Height, first.Width]
            : [views, 3, first.Height, first.Width];
        var inputs = new List<KeyValuePair<string, ITensor>> { new("pixel_values", new Tensor<float>(pixels, shape)) };
        if (VisionTakesMask)
        {
            var mask = new bool[views * first.Height * first.Width];
            Array.Fill(mask, true);
            inputs.Add(new("pixel_attention_mask", new Tensor<bool>(mask, 1, views, first.Height, first.Width)));
        }
        float[] features = ((Tensor<float>)Vision.Run(inputs, ["image_features"], cancellationToken)["image_features"]).Data;
        return images.Count == 1 ? [features] : CutPerImage(features, images);
    }

    private static float[] Concatenate(IReadOnlyList<ProcessedImage> images)
    {
        var pixels = new float[images.Sum(i => i.Pixels.Length)];
        int offset = 0;
        foreach (ProcessedImage image in images)
        {
            image.Pixels.CopyTo(pixels, offset);
            offset += image.Pixels.Length;
        }
        return pixels;
    }

    private static List<float[]> CutPerImage(float[] features, IReadOnlyList<ProcessedImage> images)
    {
        int rowWidth = features.Length / images.Sum(i => i.Layout.FeatureRows);
        var result = new List<float[]>(images.Count);
        int offset = 0;
        foreach (ProcessedImage image in images)
        {
            result.Add(features.AsSpan(offset, image.Layout.FeatureRows * rowWidth).ToArray());
            offset += image.Layout.FeatureRows * rowWidth;
        }
        return result;
    }

    /// <summary>One decoder pass: logits for every input position and the grown cache (the caller's to dispose).</summary>
    public (Tensor<float> Logits, KvCache Present) Decode(Tensor<float> embeds, long[] attentionMask, long[] positionIds, KvCache past, CancellationToken cancellationToken) =>
        Decode(embeds, attentionMask, positionIds, past, null, cancellationToken);

    /// <summary>
    /// One decoder pass: logits for every input position and the grown cache, whose buffers come from
    /// <paramref name="presentPool"/> when one is given (they go back to it if the run fails); without a pool the
    /// caller owns the new cache and disposes it. The logits then live in the pool's reused array, valid until its
    /// next pass.
    /// </summary>
    public (Tensor<float> Logits, KvCache Present) Decode(
        Tensor<float> embeds, long[] attentionMask, long[] positionIds, KvCache past, KvBufferPool? presentPool, CancellationToken cancellationToken)
    {
        int batch = (int)embeds.Shape[0];
        int length = (int)embeds.Shape[1];
        int total = past.Length + length;
        var inputs = new List<KeyValuePair<string, ITensor>>(3 + (2 * Layers))
        {
            new("inputs_embeds", embeds),
            new("attention_mask", new Tensor<long>(attentionMask, batch, total)),
        };
        if (HasPositionIds)
        {
            inputs.Add(new("position_ids", new Tensor<long>(positionIds, batch, length)));
        }
        for (int layer = 0; layer < Layers; layer++)
        {
            inputs.Add(new(_pastNames[2 * layer], Tensor.OverPrefix(past.Keys[layer], batch, KeyValueHeads, past.Length, HeadDim)));
            inputs.Add(new(_pastNames[(2 * layer) + 1], Tensor.OverPrefix(past.Values[layer], batch, KeyValueHeads, past.Length, HeadDim)));
        }
        // The outputs' shapes are known before the run, so ONNX Runtime writes them straight into the buffers the
        // batch keeps: the step's new cache (the largest tensor it makes) is never copied a second time.
        int elements = batch * KeyValueHeads * total * HeadDim;
        Func<int, NativeBuffer<float>> allocate = presentPool is null ? n => new NativeBuffer<float>(n) : presentPool.Rent;
        var keys = new NativeBuffer<float>[Layers];
        var values = new NativeBuffer<float>[Layers];
        var buffers = new ITensor?[_outputNames.Length];
        if (_vocabulary > 0)
        {
            int logits = batch * length * _vocabulary;
            buffers[0] = Tensor.OverPrefix(presentPool?.Logits(logits) ?? new float[logits], batch, length, _vocabulary);
        }
        for (int layer = 0; layer < Layers; layer++)
        {
            keys[layer] = allocate(elements);
            values[layer] = allocate(elements);
            buffers[1 + (2 * layer)] = Tensor.OverPrefix(keys[layer], batch, KeyValueHeads, total, HeadDim);
            buffers[2 + (2 * layer)] = Tensor.OverPrefix(values[layer], batch, KeyValueHeads, total, HeadDim);
        }
        var present = new KvCache(keys, values, total);
        try
        {
            var outputs = Decoder.Run(inputs, _outputNames, buffers, cancellationToken);
            return ((Tensor<float>)outputs["logits"], present);
        }
        catch
        {
            if (presentPool is null)
            {
                present.Dispose();
            }
            else
            {
                presentPool.Return(present);
            }
            throw;
        }
    }

    public void Dispose()
    {
        Embed.Dispose();
        Vision.Dispose();
        Decoder.Dispose();
    }
}
