using Microsoft.AspNetCore.Http.HttpResults;
using VlmService.Contracts;
using VlmService.Engine.Models;

namespace VlmService.Endpoints;

public static class ModelsApi
{
    public const string DemoNotice =
        "Serving built-in DEMO models: their weights are random, so embeddings and scores are meaningless. " +
        "To serve real models, start the service with --Models:Root=<folder holding one folder per model> (see README).";

    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/models", ListModels)
            .WithName("ListModels")
            .WithTags("Models")
            .WithSummary("Models being served, folders that failed to load, and whether these are demo models");
        return app;
    }

    private static Ok<ModelsResponse> ListModels(ModelRegistry registry)
    {
        var models = registry.Models.Select(m => new ModelData(m.Id, m.Family, m.Capabilities, m.IsDemo, m.Provider)).ToList();
        var failed = registry.Failures.Select(f => new ModelFailureData(f.Id, f.Folder, f.Reason)).ToList();
        return TypedResults.Ok(new ModelsResponse(models, failed, models.Any(m => m.Demo) ? DemoNotice : null));
    }
}
