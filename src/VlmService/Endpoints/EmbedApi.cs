using Microsoft.AspNetCore.Http.HttpResults;
using VlmService.Contracts;
using VlmService.Engine.Pipelines;
using VlmService.Infrastructure;

namespace VlmService.Endpoints;

public static class EmbedApi
{
    public const int MaxInputs = 64;

    public static IEndpointRouteBuilder MapEmbedApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/embed", EmbedAsync)
            .WithName("Embed")
            .WithTags("Embeddings")
            .WithSummary("Embed images and texts into one vector space (CLIP, SigLIP)")
            .WithDescription("JSON: {\"inputs\": [{\"image\": base64 or data: URL} | {\"text\": \"...\"}], \"model\"?, \"normalize\"?: true}. " +
                             "Multipart: repeated 'image' file parts and 'text' fields, optional 'model' and 'normalize'. Inputs keep their order.")
            .Accepts<EmbedRequest>("application/json", "multipart/form-data")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType, StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<Ok<EmbedResponse>> EmbedAsync(HttpRequest http, EmbeddingService embeddings, CancellationToken cancellationToken)
    {
        EmbedRequest request = await RequestBodies.ReadAsync(http, FromFormAsync, cancellationToken);
        List<EmbedInputItem> items = request.Inputs ?? throw new RequestValidationException("'inputs' is required: a list of {\"image\"} or {\"text\"} items.");
        if (items.Count is 0 or > MaxInputs)
        {
            throw new RequestValidationException($"'inputs' must hold 1 to {MaxInputs} items; it holds {items.Count}.");
        }
        var inputs = items.Select((item, i) => (item.Image, item.Text) switch
        {
            (not null, null) => new EmbedInput(ImageSource.Decode(item.Image, $"inputs[{i}].image"), null),
            (null, not null) => new EmbedInput(null, item.Text),
            _ => throw new RequestValidationException($"inputs[{i}] must have exactly one of 'image' or 'text'."),
        }).ToList();
        EmbeddingResult result = await embeddings.EmbedAsync(request.Model, inputs, request.Normalize ?? true, cancellationToken);
        return TypedResults.Ok(new EmbedResponse(
            result.Model,
            result.Dimensions,
            result.Data.Select(d => new EmbeddingData(d.Index, d.IsImage ? "image" : "text", d.Values)).ToList(),
            new EmbedUsage(result.Images, result.TextTokens)));
    }

    /// <summary>Form parts in the order sent: each 'image' file and 'text' field is one input.</summary>
    private static async Task<EmbedRequest> FromFormAsync(IFormCollection form)
    {
        var inputs = new List<EmbedInputItem>();
        foreach (IFormFile file in form.Files.Where(f => f.Name == "image"))
        {
            inputs.Add(new EmbedInputItem { Image = await RequestBodies.FileAsImageAsync(file) });
        }
        foreach (string? text in form.TryGetValue("text", out var texts) ? texts : default)
        {
            inputs.Add(new EmbedInputItem { Text = text ?? string.Empty });
        }
        return new EmbedRequest { Model = RequestBodies.Field(form, "model"), Normalize = RequestBodies.BoolField(form, "normalize"), Inputs = inputs };
    }
}
