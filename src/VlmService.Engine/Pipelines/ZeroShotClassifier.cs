using Microsoft.Extensions.Options;
using VlmService.Engine.Caching;
using VlmService.Engine.Diagnostics;
using VlmService.Engine.Models;

namespace VlmService.Engine.Pipelines;

public sealed record LabelScore(string Label, double Score);

public sealed record ClassificationResult(string Model, IReadOnlyList<LabelScore> Predictions);

/// <summary>
/// CLIP-style zero-shot classification: the image embedding against each label's prompt embedding,
/// scaled by the model's learned logit scale (and SigLIP's bias), then softmax (CLIP) or sigmoid (SigLIP).
/// Label embeddings are cached per (model, prompt), so a repeated label set only runs the vision encoder.
/// </summary>
public sealed class ZeroShotClassifier(ModelRegistry registry, EmbeddingService embeddings, EngineMetrics metrics, IOptions<ModelsOptions> options)
{
    public const string DefaultTemplate = "a photo of a {}.";
    private const string CacheName = "label_embeddings";

    private readonly LruCache<(string Model, string Prompt), float[]> _labels = new(options.Value.LabelCacheEntries);

    public async Task<ClassificationResult> ClassifyAsync(string? modelId, byte[] image, IReadOnlyList<string> labels, string? template, int? topK,
        CancellationToken cancellationToken)
    {
        var model = (DualEncoderModel)registry.Resolve(modelId, Capabilities.ZeroShot);
        model.VisionStage.EnsureCapacity();
        string prompt = template ?? DefaultTemplate;
        Task<float[]> imageEmbedding = embeddings.EmbedImageAsync(model, image, cancellationToken);
        Task<float[]>[] labelEmbeddings = labels.Select(label => LabelEmbeddingAsync(model, Fill(prompt, label), cancellationToken)).ToArray();
        float[] imageVector = await imageEmbedding.ConfigureAwait(false);
        float[][] labelVectors = await Task.WhenAll(labelEmbeddings).ConfigureAwait(false);

        double[] logits = labelVectors.Select(v => model.Calibration.Logit(Vectors.Cosine(imageVector, v))).ToArray();
        double[] scores = model.UsesSigmoid ? logits.Select(l => 1 / (1 + Math.Exp(-l))).ToArray() : Softmax(logits);
        var predictions = labels.Select((label, i) => new LabelScore(label, scores[i]))
            .OrderByDescending(p => p.Score)
            .Take(topK ?? labels.Count)
            .ToList();
        return new ClassificationResult(model.Id, predictions);
    }

    /// <summary>Only the first <c>{}</c> is replaced, as the reference pipeline does.</summary>
    public static string Fill(string template, string label)
    {
        int at = template.IndexOf("{}", StringComparison.Ordinal);
        return at < 0 ? template : string.Concat(template.AsSpan(0, at), label, template.AsSpan(at + 2));
    }

    private async Task<float[]> LabelEmbeddingAsync(DualEncoderModel model, string prompt, CancellationToken cancellationToken)
    {
        bool hit = _labels.TryGet((model.Id, prompt), out float[] cached);
        metrics.CacheLookup(CacheName, hit);
        if (hit)
        {
            return cached;
        }
        float[] embedding = await model.TextStage.SubmitAsync(model.EncoderInput(prompt).Ids, cancellationToken).ConfigureAwait(false);
        _labels.Set((model.Id, prompt), embedding);
        return embedding;
    }

    private static double[] Softmax(double[] logits)
    {
        double max = logits.Max();
        double[] exp = logits.Select(l => Math.Exp(l - max)).ToArray();
        double sum = exp.Sum();
        return exp.Select(e => e / sum).ToArray();
    }
}
