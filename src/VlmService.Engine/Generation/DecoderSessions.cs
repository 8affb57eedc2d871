using VlmService.Native;
using VlmService.Onnx;

namespace VlmService.Engine.Generation;

/// <summary>
/// The three sessions of an image-text-to-text export and the decoder's cache geometry, read from the
/// decoder's declared inputs (past_key_values.{i}.key: [batch, kvHeads, past, headDim]). On a GPU the KV cache lives
/// in the decoder's device memory from the pass that writes it to the pass that reads it: each pass reads its past and
/// writes its present there, re-layouts move rows there (<see cref="DeviceCaches"/>), and only the logits and the
/// step's small inputs cross to and from the host.
/// </summary>
internal sealed class DecoderSessions : IDisposable
{
    private readonly string[] _pastNames;
    private readonly string[] _outputNames;

    /// <summary>The logits' last dimension; -1 when the export leaves it symbolic (then ORT allocates logits itself).</summary>
    private readonly int _vocabulary;

    /// <summary>KV caches in the decoder's device memory; null keeps them on the C heap (CPU).</summary>
    private readonly DeviceCaches? _deviceCaches;

    private DecoderSessions(InferenceSession embed, InferenceSession vision, InferenceSession decoder, bool cacheOnDevice, int visionArenaKeptViews)
    {
        _deviceCaches = cacheOnDevice ? new DeviceCaches(decoder) : null;
        VisionArenaKeptViews = visionArenaKeptViews;
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

    /// <summary>
    /// Views a vision run may hold and still leave the encoder's CPU arena at its size (<see cref="GenerationOptions.VisionArenaKeptViews"/>).
    /// </summary>
    public int VisionArenaKeptViews { get; }

    /// <summary>Idefics3's pixel_values is [batch, views, 3, h, w]; LLaVA's is [batch, 3, h, w].</summary>
    public bool PixelsHaveViewAxis { get; }

    public string Provider => Decoder.Provider;

    /// <summary>Where KV caches live: the decoder's device ("Cuda:0"), or null for the C heap.</summary>
    public string? CacheMemory => _deviceCaches?.Memory;

    /// <param name="cacheOnDevice">
    /// Whether KV caches live in the decoder's device memory; null: exactly when the decoder runs on CUDA. On a CPU
    /// session the same path runs over ONNX Runtime's host allocator, which is how it is tested without a GPU.
    /// </param>
    /// <param name="visionArenaKeptViews">As <see cref="GenerationOptions.VisionArenaKeptViews"/>.</param>
    public static DecoderSessions Open(string folder, SessionSettings settings, bool? cacheOnDevice = null,
        int visionArenaKeptViews = GenerationOptions.DefaultVisionArenaKeptViews)
    {
        string onnx = Path.Combine(folder, "onnx");
        var opened = new List<InferenceSession>();
        try
        {
            // Decoder steps change shape every time (the batch widens and narrows, the cache lengthens): per-shape
            // memory plans would fragment the arena into far more than a step's live tensors.
            SessionSettings stepping = settings with { MemoryPattern = false };
            opened.Add(InferenceSession.Open(Path.Combine(onnx, "embed_tokens.onnx"), stepping));
            opened.Add(InferenceSession.Open(Path.Combine(onnx, "vision_encoder.onnx"), settings));
            opened.Add(InferenceSession.Open(Path.Combine(onnx, "decoder_model_merged.onnx"), stepping));
            var sessions = new DecoderSessions(opened[0], opened[1], opened[2], cacheOnDevice ?? opened[2].Provider == ExecutionProviders.Cuda,
                visionArenaKeptViews);
            // The check compares entries on the host; device caches give each present buffers of its own instead.
            sessions.WritesPresentOverPreviousPast = sessions._deviceCaches is null && sessions.PresentOverPreviousPastGivesTheSameStep();
            return sessions;
        }
        catch
        {
            opened.ForEach(s => s.Dispose());
            throw;
        }
    }

    /// <summary>A buffer of <paramref name="elements"/> for a KV cache, where this model's caches live.</summary>
    public NativeBuffer<float> NewCacheBuffer(int elements) =>
        _deviceCaches?.Allocate(elements) ?? new NativeBuffer<float>(elements);

    /// <summary><see cref="CacheLayout.Gather"/> for this model's caches, on the device when they live there.</summary>
    public KvCache Gather(IReadOnlyList<CacheRow> rows, int length, Func<int, NativeBuffer<float>> allocate, Action<int>? layerCopied = null) =>
        _deviceCaches?.Gather(rows, length, KeyValueHeads, HeadDim, allocate, layerCopied)
        ?? CacheLayout.Gather(rows, length, KeyValueHeads, HeadDim, allocate, layerCopied);

    /// <summary>[caches.Count, kvHeads, length, headDim]: each sequence's own cache right-aligned, zeros on the left.</summary>
    public KvCache LeftPad(IReadOnlyList<KvCache> caches, int length) =>
        Gather(caches.Select(c => new CacheRow(c, 0, c.Length)).ToList(), length, NewCacheBuffer);

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
        // A run of more views than are kept gives its activations back (a split image's 13 views hold over 1 GB), so
        // that its peak does not stay resident; smaller runs keep the arena's pages for the next one.
        var encoded = Vision.Run(inputs, ["image_features"], null, shrinkCpuArena: views > VisionArenaKeptViews, cancellationToken);
        float[] features = ((Tensor<float>)encoded["image_features"]).Data;
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
    /// next pass. <paramref name="past"/> stays the caller's, untouched.
    /// </summary>
    public (Tensor<float> Logits, KvCache Present) Decode(
        Tensor<float> embeds, long[] attentionMask, long[] positionIds, KvCache past, KvBufferPool? presentPool, CancellationToken cancellationToken)
    {
        int elements = PresentElements(embeds, past);
        KvCache present = NewCache(past.Length + (int)embeds.Shape[1], (_, _) => presentPool?.Rent(elements) ?? NewCacheBuffer(elements));
        try
        {
            return (Run(embeds, attentionMask, positionIds, past, present, presentPool, cancellationToken), present);
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

    /// <summary>
    /// Like <see cref="Decode(Tensor{float}, long[], long[], KvCache, KvBufferPool?, CancellationToken)"/> with a pool,
    /// but the pass takes <paramref name="past"/>: where <see cref="WritesPresentOverPreviousPast"/> holds, layer i's
    /// present is written into the buffers of layer i − 1's past, so a step holds one cache and one layer instead of
    /// two caches. Past buffers the cache has outgrown grow in place on the C heap (<see cref="KvBufferPool.TryFit"/>);
    /// elsewhere the present gets new ones and the outgrown are freed. The last layer's past goes back to the pool
    /// (the next pass's first layer takes it). If the run fails, everything goes back to the pool: the past is partly
    /// overwritten by then.
    /// </summary>
    public (Tensor<float> Logits, KvCache Present) DecodeTakingPast(
        Tensor<float> embeds, long[] attentionMask, long[] positionIds, KvCache past, KvBufferPool pool, CancellationToken cancellationToken) =>
        DecodeTakingPast(embeds, attentionMask, positionIds, past, pool, WritesPresentOverPreviousPast, cancellationToken);

    private (Tensor<float> Logits, KvCache Present) DecodeTakingPast(
        Tensor<float> embeds, long[] attentionMask, long[] positionIds, KvCache past, KvBufferPool pool, bool overPreviousPast, CancellationToken cancellationToken)
    {
        int elements = PresentElements(embeds, past);
        // taken[layer] holds for a layer whose past buffers the next layer's present took.
        var taken = new bool[Layers];
        KvCache present = NewCache(past.Length + (int)embeds.Shape[1], (layer, isKey) =>
        {
            // Too small, the previous layer's past grows in place with its entries kept: the run still reads them.
            if (overPreviousPast && layer > 0
                && KvBufferPool.TryFit(ref past.Keys[layer - 1], elements) && KvBufferPool.TryFit(ref past.Values[layer - 1], elements))
            {
                taken[layer - 1] = true;
                return isKey ? past.Keys[layer - 1] : past.Values[layer - 1];
            }
            return pool.Rent(elements);
        });
        try
        {
            Tensor<float> logits = Run(embeds, attentionMask, positionIds, past, present, pool, cancellationToken);
            // Writing over, the earlier layers' buffers left over are too small for this batch from now on; the last
            // layer's serve the next pass's first.
            HandBackUntaken(layer => !overPreviousPast || layer == Layers - 1);
            return (logits, present);
        }
        catch
        {
            pool.Return(present);
            HandBackUntaken(_ => true);
            throw;
        }

        void HandBackUntaken(Func<int, bool> keep)
        {
            for (int layer = 0; layer < Layers; layer++)
            {
                if (taken[layer])
                {
                    continue;
                }
                if (keep(layer))
                {
                    pool.Return(past, layer);
                }
                else
                {
                    past.Keys[layer].Dispose();
                    past.Values[layer].Dispose();
                }
            }
        }
    }

    /// <summary>
    /// Whether a present may be written over the previous layer's past during the run that reads it. True for a decoder
    /// whose layers run in order and read their own past before the next layer starts, as every layer's input depends
    /// on the layer before. Checked once per model by running one step both ways and comparing every output.
    /// </summary>
    public bool WritesPresentOverPreviousPast { get; private set; }

    /// <summary>
    /// One token over a two-position cache of made-up entries, decoded into separate buffers and then with each
    /// present written over the previous layer's past: the same logits and cache, bit for bit, or the export reads a
    /// past after a later layer has begun and must not share.
    /// </summary>
    private bool PresentOverPreviousPastGivesTheSameStep()
    {
        const int pastLength = 2;
        int rowElements = KeyValueHeads * (pastLength + 1) * HeadDim;
        KvCache MadeUpPast() => new(
            Enumerable.Range(0, Layers).Select(layer => MadeUp(rowElements, layer)).ToArray(),
            Enumerable.Range(0, Layers).Select(layer => MadeUp(rowElements, -1 - layer)).ToArray(),
            pastLength);
        Tensor<float> embeds = EmbedTokens([0], 1, 1, CancellationToken.None);
        long[] mask = [1, 1, 1];
        long[] position = [pastLength];
        using KvCache separatePast = MadeUpPast();
        (Tensor<float> separateLogits, KvCache separate) = Decode(embeds, mask, position, separatePast, CancellationToken.None);
        var pool = new KvBufferPool();
        try
        {
            using (separate)
            {
                (Tensor<float> sharedLogits, KvCache shared) = DecodeTakingPast(embeds, mask, position, MadeUpPast(), pool, overPreviousPast: true, CancellationToken.None);
                using (shared)
                {
                    int used = separateLogits.Data.Length;
                    return separateLogits.Data.AsSpan().SequenceEqual(sharedLogits.Data.AsSpan(0, used))
                        && Enumerable.Range(0, Layers).All(layer =>
                            separate.Keys[layer].Span[..rowElements].SequenceEqual(shared.Keys[layer].Span[..rowElements])
                            && separate.Values[layer].Span[..rowElements].SequenceEqual(shared.Values[layer].Span[..rowElements]));
                }
            }
        }
        finally
        {
            pool.Clear();
        }
    }

    /// <summary>Deterministic values in [-0.5, 0.5], different for every <paramref name="seed"/>.</summary>
    private static NativeBuffer<float> MadeUp(int elements, int seed)
    {
        var buffer = new NativeBuffer<float>(elements);
        Span<float> span = buffer.Span;
        for (int i = 0; i < span.Length; i++)
        {
            span[i] = 0.5f * MathF.Sin((0.37f * i) + (1.3f * seed));
        }
        return buffer;
    }

    private int PresentElements(Tensor<float> embeds, KvCache past) =>
        (int)embeds.Shape[0] * KeyValueHeads * (past.Length + (int)embeds.Shape[1]) * HeadDim;

    private KvCache NewCache(int length, Func<int, bool, NativeBuffer<float>> buffer)
    {
        var keys = new NativeBuffer<float>[Layers];
        var values = new NativeBuffer<float>[Layers];
        for (int layer = 0; layer < Layers; layer++)
        {
            keys[layer] = buffer(layer, true);
            values[layer] = buffer(layer, false);
        }
        return new KvCache(keys, values, length);
    }

    /// <summary>Runs the decoder over <paramref name="past"/>, writing the present into <paramref name="present"/>'s buffers.</summary>
    private Tensor<float> Run(Tensor<float> embeds, long[] attentionMask, long[] positionIds, KvCache past, KvCache present, KvBufferPool? pool, CancellationToken cancellationToken)
    {
        int batch = (int)embeds.Shape[0];
        int length = (int)embeds.Shape[1];
        int total = present.Length;
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
        var buffers = new ITensor?[_outputNames.Length];
        if (_vocabulary > 0)
        {
            int logits = batch * length * _vocabulary;
            buffers[0] = Tensor.OverPrefix(pool?.Logits(logits) ?? new float[logits], batch, length, _vocabulary);
        }
        for (int layer = 0; layer < Layers; layer++)
        {
            buffers[1 + (2 * layer)] = Tensor.OverPrefix(present.Keys[layer], batch, KeyValueHeads, total, HeadDim);
            buffers[2 + (2 * layer)] = Tensor.OverPrefix(present.Values[layer], batch, KeyValueHeads, total, HeadDim);
        }
        return (Tensor<float>)Decoder.Run(inputs, _outputNames, buffers, cancellationToken)["logits"];
    }

    public void Dispose()
    {
        _deviceCaches?.Dispose();
        Embed.Dispose();
        Vision.Dispose();
        Decoder.Dispose();
    }
}
