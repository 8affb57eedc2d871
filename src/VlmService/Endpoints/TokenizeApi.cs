using Microsoft.AspNetCore.Http.HttpResults;
using VlmService.Contracts;
using VlmService.Engine.Models;
using VlmService.Infrastructure;
using VlmService.Text;

namespace VlmService.Endpoints;

public static class TokenizeApi
{
    public const int MaxTextLength = 100_000;

    public static IEndpointRouteBuilder MapTokenizeApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/tokenize", TokenizeAsync)
            .WithName("Tokenize")
            .WithTags("Text")
            .WithSummary("Token ids and tokens of a text, with the special tokens the model's tokenizer adds by default")
            .Accepts<TokenizeRequest>("application/json", "multipart/form-data")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Ok<TokenizeResponse>> TokenizeAsync(HttpRequest http, ModelRegistry registry, CancellationToken cancellationToken)
    {
        TokenizeRequest request = await RequestBodies.ReadAsync(http,
            form => Task.FromResult(new TokenizeRequest { Model = RequestBodies.Field(form, "model"), Text = RequestBodies.Field(form, "text") }),
            cancellationToken);
        if (request.Text is null)
        {
            throw new RequestValidationException("'text' is required.");
        }
        if (request.Text.Length > MaxTextLength)
        {
            throw new RequestValidationException($"'text' is longer than {MaxTextLength} characters.");
        }
        ILoadedModel model = registry.Resolve(request.Model, Capabilities.Tokenize);
        TokenEncoding encoding = model.Tokenizer.Encode(request.Text);
        return TypedResults.Ok(new TokenizeResponse(model.Id, encoding.Ids, encoding.Tokens));
    }
}
