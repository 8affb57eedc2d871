using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using VlmService.Engine.Diagnostics;
using VlmService.Engine.Models;
using VlmService.Engine.Pipelines;

namespace VlmService.Engine.Generation;

/// <summary>What a generation request needs: the model, the image, the user text and how to sample.</summary>
public sealed record GenerationRequest(string? Model, string Capability, byte[] Image, string Text, SamplingOptions Sampling, bool? DoImageSplitting);

/// <summary>Token counts of a finished generation.</summary>
public sealed record GenerationUsage(int PromptTokens, int ImageTokens, int CompletionTokens);

/// <summary>
/// Runs generation requests: the image's features come from the feature cache or from decoding on the decode
/// slots and the model's batched vision stage; then the model's batch decoder (up to
/// <see cref="GenerationOptions.MaxConcurrentSequences"/> sequences per step) streams text pieces as they form.
/// A caller that goes away leaves the batch at the next step.
/// </summary>
public sealed class GenerationService(ModelRegistry registry, ImageDecoding decoding, VisionFeatureCache features, EngineMetrics metrics,
    IOptions<GenerationOptions> options) : IAsyncDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<BatchDecoder>> _decoders = new(StringComparer.Ordinal);

    /// <summary>Sequences being decoded across all models.</summary>
    public int ActiveSequences => _decoders.Values.Where(d => d.IsValueCreated).Sum(d => d.Value.ActiveCount);

    /// <summary>KV-cache bytes reserved by admitted sequences across all models.</summary>
    public long ReservedCacheBytes => _decoders.Values.Where(d => d.IsValueCreated).Sum(d => d.Value.ReservedBytes);

    public GenerativeModel Resolve(string? modelId, string capability) => (GenerativeModel)registry.Resolve(modelId, capability);

    /// <summary>KV-cache bytes one token of one sequence takes in this model (what admission counts).</summary>
    public long CacheBytesPerToken(string modelId) => DecoderFor(Resolve(modelId, Capabilities.Vqa)).CacheBytes(1, 0);

    private BatchDecoder DecoderFor(GenerativeModel model) => _decoders.GetOrAdd(model.Id, _ => new Lazy<BatchDecoder>(() =>
        new BatchDecoder(model, DecoderLimits.From(options.Value), metrics))).Value;

    public async IAsyncEnumerable<(GenerationUpdate Update, GenerationUsage? Usage)> GenerateAsync(GenerationRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        GenerativeModel model = Resolve(request.Model, request.Capability);
        BatchDecoder decoder = DecoderFor(model);
        decoder.EnsureCapacity();
        decoder.EnsureFits(promptTokens: 1, request.Sampling.MaxTokens);
        decoding.Probe(request.Image);
        PreparedPrompt prompt;
        ChannelReader<GenerationUpdate> updates;
        decoder.JoinerEncoding();
        try
        {
            EncodedImage image = await EncodeImageAsync(model, request.Image, request.DoImageSplitting, cancellationToken).ConfigureAwait(false);
            prompt = new PreparedPrompt(model.BuildPrompt(request.Text, image.Layout), image);
            ImageFeatures.EnsureMatches(model.ImageTokenId, prompt.Ids, image);
            // Queued before it stops counting as a joiner: in between, the running batch would see neither and step
            // without it.
            updates = decoder.Submit(prompt, request.Sampling, cancellationToken);
        }
        finally
        {
            decoder.JoinerReady();
        }
        await foreach (GenerationUpdate update in updates.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            GenerationUsage? usage = update.FinishReason is null ? null
                : new GenerationUsage(prompt.Ids.Length, prompt.ImageTokens, update.CompletionTokens);
            yield return (update, usage);
        }
    }

    private async Task<EncodedImage> EncodeImageAsync(GenerativeModel model, byte[] bytes, bool? doImageSplitting, CancellationToken cancellationToken)
    {
        string? key = features.Enabled ? VisionFeatureCache.Key(model.Id, model.SplitsImage(doImageSplitting), bytes) : null;
        if (key is not null && features.TryGet(key, out EncodedImage cached))
        {
            return cached;
        }
        // Decoded and tiled only once the vision stage is nearly ready for it: until then the request holds its bytes.
        EncodedImage encoded = await model.VisionStage.SubmitAsync(
            () => decoding.DecodeAsync(bytes, rgb => model.ProcessImage(rgb, doImageSplitting), cancellationToken), cancellationToken).ConfigureAwait(false);
        if (key is not null)
        {
            features.Add(key, encoded);
        }
        return encoded;
    }

    /// <summary>Runs to the end and returns the whole text.</summary>
    public async Task<(string Text, string FinishReason, GenerationUsage Usage)> CompleteAsync(GenerationRequest request, CancellationToken cancellationToken)
    {
        var text = new System.Text.StringBuilder();
        await foreach ((GenerationUpdate update, GenerationUsage? usage) in GenerateAsync(request, cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.Delta);
            if (usage is not null)
            {
                return (text.ToString(), update.FinishReason!, usage);
            }
        }
        throw new InvalidOperationException("Generation ended without a finish reason.");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (Lazy<BatchDecoder> decoder in _decoders.Values.Where(d => d.IsValueCreated))
        {
            await decoder.Value.DisposeAsync().ConfigureAwait(false);
        }
    }
}
