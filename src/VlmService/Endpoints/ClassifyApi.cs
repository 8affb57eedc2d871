using Microsoft.AspNetCore.Http.HttpResults;
using VlmService.Contracts;
using VlmService.Engine.Generation;
using VlmService.Engine.Models;
using VlmService.Engine.Pipelines;
using VlmService.Infrastructure;

namespace VlmService.Endpoints;

public static class ClassifyApi
{
    public const int MaxLabels = 256;
    public const string ZeroShot = "zero-shot";
    public const string Describe = "describe";

    public static IEndpointRouteBuilder MapClassifyApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/classify", ClassifyAsync)
            .WithName("Classify")
            .WithTags("Classification")
            .WithSummary("Pick the labels that fit an image")
            .WithDescription("mode 'zero-shot' (default for CLIP-family models): scores are the softmax over labels (CLIP) or a sigmoid per label (SigLIP); " +
                             "each label becomes a prompt through 'template' (first {} replaced; default 'a photo of a {}.'). " +
                             "mode 'describe' (default for generative models): the model describes the image ('prompt', 'max_tokens'), then its LLM scores " +
                             "each label's log-likelihood as the answer given that description; scores are the softmax over labels and the response adds 'description'. " +
                             "Multipart: 'image' file, 'labels' (repeated or comma-separated), 'template', 'top_k', 'model', 'mode', 'prompt', 'max_tokens'.")
            .Accepts<ClassifyRequest>("application/json", "multipart/form-data")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType,
                StatusCodes.Status422UnprocessableEntity, StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<Ok<ClassifyResponse>> ClassifyAsync(HttpRequest http, ZeroShotClassifier classifier, DescribeClassifier describer,
        ModelRegistry registry, CancellationToken cancellationToken)
    {
        ClassifyRequest request = await RequestBodies.ReadAsync(http, FromFormAsync, cancellationToken);
        string mode = request.Mode ?? DefaultMode(registry, request.Model);
        if (mode is not (ZeroShot or Describe))
        {
            throw new RequestValidationException($"'mode' must be '{ZeroShot}' or '{Describe}', not '{mode}'.");
        }
        List<string> labels = request.Labels?.Select(l => l?.Trim() ?? string.Empty).ToList()
            ?? throw new RequestValidationException("'labels' is required: the candidate labels.");
        if (labels.Count is 0 or > MaxLabels || labels.Any(string.IsNullOrEmpty))
        {
            throw new RequestValidationException($"'labels' must hold 1 to {MaxLabels} non-empty labels.");
        }
        if (request.TopK is < 1)
        {
            throw new RequestValidationException("'top_k' must be at least 1.");
        }
        if (request.MaxTokens is < 1 or > 1024)
        {
            throw new RequestValidationException("'max_tokens' must be between 1 and 1024.");
        }
        byte[] image = ImageSource.Decode(request.Image, "image");
        if (mode == Describe)
        {
            DescribeResult described = await describer.ClassifyAsync(request.Model, image, labels, request.Prompt, request.MaxTokens, request.TopK, cancellationToken);
            return TypedResults.Ok(new ClassifyResponse(described.Model, mode, described.Predictions.Select(p => new PredictionData(p.Label, p.Score)).ToList(), described.Description));
        }
        ClassificationResult result = await classifier.ClassifyAsync(request.Model, image, labels, request.Template, request.TopK, cancellationToken);
        return TypedResults.Ok(new ClassifyResponse(result.Model, mode, result.Predictions.Select(p => new PredictionData(p.Label, p.Score)).ToList()));
    }

    /// <summary>Without a mode: describe for a named generative model, zero-shot otherwise.</summary>
    private static string DefaultMode(ModelRegistry registry, string? modelId) =>
        modelId is not null && registry.Models.FirstOrDefault(m => m.Id == modelId)?.Capabilities.Contains(Capabilities.Describe) == true ? Describe : ZeroShot;

    private static async Task<ClassifyRequest> FromFormAsync(IFormCollection form)
    {
        IFormFile? file = form.Files.GetFile("image");
        var labels = (form.TryGetValue("labels", out var values) ? values : default)
            .SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .ToList();
        return new ClassifyRequest
        {
            Model = RequestBodies.Field(form, "model"),
            Mode = RequestBodies.Field(form, "mode"),
            Image = file is null ? null : await RequestBodies.FileAsImageAsync(file),
            Labels = labels.Count == 0 ? null : labels,
            Template = RequestBodies.Field(form, "template"),
            TopK = RequestBodies.IntField(form, "top_k"),
            Prompt = RequestBodies.Field(form, "prompt"),
            MaxTokens = RequestBodies.IntField(form, "max_tokens"),
        };
    }
}
