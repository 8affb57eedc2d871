using Microsoft.Extensions.Options;
using VlmService.Engine.Models;
using VlmService.Engine.Pipelines;

namespace VlmService.Engine.Generation;

public sealed record DescribeResult(string Model, string Description, IReadOnlyList<LabelScore> Predictions);

/// <summary>
/// VLLaVO-style classification: the VLM describes the image in words (exactly what /caption returns for the same
/// instruction), then the LLM scores each label as the answer given that description; scores are the softmax of
/// the labels' log-likelihoods. Robust when photos drift from the domain a contrastive model was trained on.
/// </summary>
public sealed class DescribeClassifier(GenerationService generation, IOptions<GenerationOptions> options)
{
    public async Task<DescribeResult> ClassifyAsync(string? modelId, byte[] image, IReadOnlyList<string> labels, string? instruction, int? maxTokens, int? topK,
        CancellationToken cancellationToken)
    {
        GenerativeModel model = generation.Resolve(modelId, Capabilities.Describe);
        var sampling = new SamplingOptions { MaxTokens = maxTokens ?? options.Value.DefaultMaxTokens };
        (string description, _, _) = await generation.CompleteAsync(
            new GenerationRequest(model.Id, Capabilities.Describe, image, instruction ?? options.Value.DescribePrompt, sampling, null), cancellationToken).ConfigureAwait(false);
        double[] logLikelihoods = await Task.Run(() =>
        {
            (int[] prompt, int[][] continuations) = LabelScorer.Tokenize(model, description, labels);
            return LabelScorer.LogLikelihoods(model, prompt, continuations, cancellationToken);
        }, cancellationToken).ConfigureAwait(false);
        double max = logLikelihoods.Max();
        double[] exp = logLikelihoods.Select(l => Math.Exp(l - max)).ToArray();
        double sum = exp.Sum();
        var predictions = labels.Select((label, i) => new LabelScore(label, exp[i] / sum))
            .OrderByDescending(p => p.Score)
            .Take(topK ?? labels.Count)
            .ToList();
        return new DescribeResult(model.Id, description, predictions);
    }
}
