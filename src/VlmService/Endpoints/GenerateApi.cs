using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using VlmService.Contracts;
using VlmService.Engine.Generation;
using VlmService.Engine.Models;
using VlmService.Infrastructure;

namespace VlmService.Endpoints;

public static class GenerateApi
{
    public static IEndpointRouteBuilder MapGenerateApi(this IEndpointRouteBuilder app)
    {
        string captionDefault = app.ServiceProvider.GetRequiredService<IOptions<GenerationOptions>>().Value.DefaultCaptionPrompt;
        app.MapPost("/caption", (HttpContext http, GenerationService generation, IOptions<GenerationOptions> options, CancellationToken cancellationToken) =>
                GenerateAsync(http, generation, options.Value, Capabilities.Caption, cancellationToken))
            .WithName("Caption")
            .WithTags("Generation")
            .WithSummary("Describe an image (SmolVLM / Idefics3, LLaVA)")
            .WithDescription($"Default instruction: \"{captionDefault}\" (configurable per model under Generation:CaptionPrompts). " +
                             "Greedy unless temperature > 0. \"stream\": true answers text/event-stream: data: {\"delta\"} per piece, " +
                             "then data: {\"finish_reason\", \"usage\"}, then data: [DONE].")
            .Accepts<GenerateRequest>("application/json", "multipart/form-data")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status413PayloadTooLarge,
                StatusCodes.Status415UnsupportedMediaType, StatusCodes.Status422UnprocessableEntity, StatusCodes.Status503ServiceUnavailable);
        app.MapPost("/vqa", (HttpContext http, GenerationService generation, IOptions<GenerationOptions> options, CancellationToken cancellationToken) =>
                GenerateAsync(http, generation, options.Value, Capabilities.Vqa, cancellationToken))
            .WithName("Vqa")
            .WithTags("Generation")
            .WithSummary("Answer a question about an image")
            .WithDescription("The prompt is the model's chat template applied to one user turn [image, question] with the generation prompt. " +
                             "Same sampling and streaming fields as /caption.")
            .Accepts<GenerateRequest>("application/json", "multipart/form-data")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status413PayloadTooLarge,
                StatusCodes.Status415UnsupportedMediaType, StatusCodes.Status422UnprocessableEntity, StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> GenerateAsync(HttpContext http, GenerationService generation, GenerationOptions options, string capability, CancellationToken cancellationToken)
    {
        GenerateRequest request = await RequestBodies.ReadAsync(http.Request, FromFormAsync, cancellationToken);
        GenerativeModel model = generation.Resolve(request.Model, capability);
        string text = capability == Capabilities.Vqa
            ? (string.IsNullOrWhiteSpace(request.Question) ? throw new RequestValidationException("'question' is required.") : request.Question)
            : request.Prompt ?? options.CaptionPromptFor(model.Id);
        if (text.Contains(model.ImageTokenText, StringComparison.Ordinal))
        {
            throw new RequestValidationException($"The text may not contain the image placeholder '{model.ImageTokenText}'; the image goes in 'image'.");
        }
        var generationRequest = new GenerationRequest(model.Id, capability, ImageSource.Decode(request.Image, "image"), text, Sampling(request, options), request.DoImageSplitting);
        if (request.Stream == true)
        {
            return new ServerSentEvents(generation.GenerateAsync(generationRequest, cancellationToken));
        }
        (string output, string finishReason, GenerationUsage usage) = await generation.CompleteAsync(generationRequest, cancellationToken);
        var usageData = new GenerationUsageData(usage.PromptTokens, usage.ImageTokens, usage.CompletionTokens);
        return capability == Capabilities.Vqa
            ? TypedResults.Ok(new VqaResponse(model.Id, output, finishReason, usageData))
            : TypedResults.Ok(new CaptionResponse(model.Id, output, finishReason, usageData));
    }

    private static SamplingOptions Sampling(GenerateRequest request, GenerationOptions options)
    {
        int maxTokens = request.MaxTokens ?? options.DefaultMaxTokens;
        if (maxTokens < 1 || maxTokens > options.MaxTokensLimit)
        {
            throw new RequestValidationException($"'max_tokens' must be between 1 and {options.MaxTokensLimit}.");
        }
        if (request.Temperature is < 0 or > 10)
        {
            throw new RequestValidationException("'temperature' must be between 0 and 10.");
        }
        if (request.TopP is <= 0 or > 1)
        {
            throw new RequestValidationException("'top_p' must be in (0, 1].");
        }
        if (request.TopK is < 0)
        {
            throw new RequestValidationException("'top_k' must be 0 (off) or more.");
        }
        if (request.Stop is { Count: > 8 } || request.Stop?.Any(string.IsNullOrEmpty) == true)
        {
            throw new RequestValidationException("'stop' takes up to 8 non-empty strings.");
        }
        return new SamplingOptions
        {
            MaxTokens = maxTokens,
            Temperature = request.Temperature ?? 0,
            TopP = request.TopP ?? 1,
            TopK = request.TopK ?? 0,
            Seed = request.Seed,
            Stop = request.Stop ?? [],
            IgnoreEos = request.IgnoreEos ?? false,
        };
    }

    private static async Task<GenerateRequest> FromFormAsync(IFormCollection form)
    {
        IFormFile? file = form.Files.GetFile("image");
        return new GenerateRequest
        {
            Model = RequestBodies.Field(form, "model"),
            Image = file is null ? null : await RequestBodies.FileAsImageAsync(file),
            Prompt = RequestBodies.Field(form, "prompt"),
            Question = RequestBodies.Field(form, "question"),
            MaxTokens = RequestBodies.IntField(form, "max_tokens"),
            Seed = RequestBodies.IntField(form, "seed"),
            TopK = RequestBodies.IntField(form, "top_k"),
            Temperature = RequestBodies.DoubleField(form, "temperature"),
            TopP = RequestBodies.DoubleField(form, "top_p"),
            Stream = RequestBodies.BoolField(form, "stream"),
            IgnoreEos = RequestBodies.BoolField(form, "ignore_eos"),
            DoImageSplitting = RequestBodies.BoolField(form, "do_image_splitting"),
            Stop = form.TryGetValue("stop", out var stops) ? stops.Where(s => s is not null).Cast<string>().ToList() : null,
        };
    }

    /// <summary>text/event-stream of generation pieces, then the finish reason and usage, then [DONE].</summary>
    private sealed class ServerSentEvents(IAsyncEnumerable<(GenerationUpdate Update, GenerationUsage? Usage)> updates) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            JsonSerializerOptions json = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            await foreach ((GenerationUpdate update, GenerationUsage? usage) in updates.WithCancellation(http.RequestAborted))
            {
                if (update.Delta.Length > 0)
                {
                    await Write(http, JsonSerializer.Serialize(new { delta = update.Delta }, json));
                }
                if (usage is not null)
                {
                    var usageData = new GenerationUsageData(usage.PromptTokens, usage.ImageTokens, usage.CompletionTokens);
                    await Write(http, JsonSerializer.Serialize(new { finish_reason = update.FinishReason, usage = usageData }, json));
                }
            }
            await Write(http, "[DONE]");
        }

        private static async Task Write(HttpContext http, string data)
        {
            await http.Response.WriteAsync($"data: {data}\n\n", http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
        }
    }
}
