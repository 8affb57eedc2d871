using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace VlmService.Infrastructure;

/// <summary>Request examples that work as-is in Swagger UI (a 16×16 PNG inline; the default model is used).</summary>
internal sealed class OpenApiExamples : IOperationFilter
{
    public const string SamplePng = "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAABlklEQVR42hXRURVEIQhFUSMYgQhGMAIRiGCEE8EIRiACEYhABCLMG7/ZrMt1jMEcyGAN9kAHNjgDBnfwBj6IQQ5q0IMxJnMikzXZE53Y5EyY3Mmb+CQmOalJzw8IUxBhCVtQwYQjIFzhCS6EkEIJLR9YzIUs1mIvdGGLs2BxF2/hi1jkoha9PrCZG9mszd7oxjZnw+Zu3sY3sclNbXp/QJmKKEvZiiqmHAXlKk9xJZRUSmn9gDENMZaxDTXMOAbGNZ7hRhhplNH2gcM8yGEd9kEPdjgHDvfwDn6IQx7q0OcD/wK/Sr4jv9hfkG/1N/x/Fx44BCQU9Pc94zIvclmXfdGLXc79j9/Lu/glLnmpS98PPOZDHuuxH/qwx3n/5ffxHv6IRz7q0e8DznTEWc521DHn+D/KdZ7jTjjplNP+gWAGEqxgBxpYcOIf/AYv8CCCDCro+EAyE0lWshNNLDn5P/MmL/Ekkkwq6fxAMQspVrELLaw49S/lFq/wIoosquj6QDMbaVazG22sOf2v8Dav8SaabKrp5geIAnAQC3NfwAAAAABJRU5ErkJggg==";

    private static readonly Dictionary<string, Func<JsonNode>> Examples = new(StringComparer.Ordinal)
    {
        ["Embed"] = () => new JsonObject
        {
            ["inputs"] = new JsonArray(
                new JsonObject { ["image"] = $"data:image/png;base64,{SamplePng}" },
                new JsonObject { ["text"] = "a photo of a cat" }),
            ["normalize"] = true,
        },
        ["Classify"] = () => new JsonObject
        {
            ["image"] = SamplePng,
            ["labels"] = new JsonArray("cat", "dog", "car"),
            ["template"] = "a photo of a {}.",
            ["top_k"] = 3,
        },
        ["Tokenize"] = () => new JsonObject { ["text"] = "a photo of a cat" },
    };

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (operation.OperationId is { } id && Examples.TryGetValue(id, out var example)
            && operation.RequestBody?.Content is { } content && content.TryGetValue("application/json", out OpenApiMediaType? json))
        {
            json.Example = example();
        }
    }
}
