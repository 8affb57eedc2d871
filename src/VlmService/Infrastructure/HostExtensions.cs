using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.OpenApi;
using Serilog;
using Serilog.Formatting.Json;
using VlmService.Contracts;
using VlmService.Endpoints;
using VlmService.Engine.Models;

namespace VlmService.Infrastructure;

public static class HostExtensions
{
    /// <summary>
    /// Structured JSON logs on stdout (one object per line, and to <c>Logging:JsonFile</c> when set), with the
    /// request and trace ids from log scopes.
    /// </summary>
    public static WebApplicationBuilder AddVlmLogging(this WebApplicationBuilder builder)
    {
        var json = new JsonFormatter(renderMessage: true);
        LoggerConfiguration configuration = new LoggerConfiguration()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", Serilog.Events.LogEventLevel.Warning)
            // A failing probe is answered with 503; logged as well, it would be an error line every few seconds from each
            // orchestrator probe while models load. The loader logs a folder that fails, once, and /models says why.
            .MinimumLevel.Override("Microsoft.Extensions.Diagnostics.HealthChecks", Serilog.Events.LogEventLevel.Fatal)
            .Enrich.FromLogContext()
            .WriteTo.Console(json);
        if (builder.Configuration["Logging:JsonFile"] is { Length: > 0 } file)
        {
            configuration = configuration.WriteTo.Sink(new JsonFileSink(file, json));
        }
        Serilog.Core.Logger logger = configuration.CreateLogger();
        builder.Logging.ClearProviders();
        // Trace and span ids join the request id in every log event's scope properties.
        builder.Logging.Configure(options => options.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        builder.Logging.AddSerilog(logger, dispose: true);
        return builder;
    }

    public static IServiceCollection AddVlmApi(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            options.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        services.AddLargeBlockMemoryPool();
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new() { Title = "VlmService", Version = "v1", Description = "Vision-language inference: embeddings and zero-shot classification over ONNX models." });
            options.OperationFilter<OpenApiExamples>();
            // The image field's own type is a reading detail; on the wire it is a string.
            options.MapType<ImageField>(() => new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Description = "The image as base64, or as a base64 data: URL (data:image/jpeg;base64,...).",
            });
        });
        services.AddSingleton<ApiMetrics>();
        services.AddSingleton(provider => new OtlpHolder(OtlpExport.FromConfiguration(provider.GetRequiredService<IConfiguration>(), provider.GetRequiredService<IMeterFactory>())));
        services.AddSingleton<PrometheusExporter>();
        services.AddHealthChecks()
            .AddCheck("live", () => HealthCheckResult.Healthy(), tags: ["live"])
            .AddCheck<ModelsReadyCheck>("models", tags: ["ready"]);
        return services;
    }

    /// <summary>
    /// Image bodies are large: Kestrel reads them in 64 KB blocks instead of 4 KB ones. A connection still waits for data
    /// with an empty read before it takes a block (Kestrel's default), so an idle one holds none. Kestrel takes the
    /// last factory registered, so this goes after Kestrel's own services.
    /// </summary>
    public static IServiceCollection AddLargeBlockMemoryPool(this IServiceCollection services) =>
        services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();

    public static WebApplication UseVlmApi(this WebApplication app)
    {
        // Outermost, so it records the status of problem responses too. The exporter starts listening before any instrument is created.
        app.Services.GetRequiredService<PrometheusExporter>();
        app.Services.GetRequiredService<OtlpHolder>();
        app.UseMiddleware<ApiMetricsMiddleware>();
        app.UseExceptionHandler();
        app.UseMiddleware<RequestDeadlineMiddleware>();
        app.UseStatusCodePages();
        app.UseSwagger();
        app.UseSwaggerUI(options => options.SwaggerEndpoint("/swagger/v1/swagger.json", "VlmService v1"));
        app.MapGet("/metrics", (PrometheusExporter exporter) => Results.Text(exporter.Render(), "text/plain; version=0.0.4; charset=utf-8"))
            .WithName("Metrics").WithTags("Operations").WithSummary("Metrics in the Prometheus text format");
        app.MapHealthChecks("/health/live", new() { Predicate = check => check.Tags.Contains("live") });
        app.MapHealthChecks("/health/ready", new() { Predicate = check => check.Tags.Contains("ready") });
        RouteGroupBuilder api = app.MapGroup(string.Empty).AddEndpointFilter<ReadinessGate>();
        api.MapModelsApi();
        api.MapEmbedApi();
        api.MapClassifyApi();
        api.MapTokenizeApi();
        api.MapGenerateApi();
        return app;
    }
}

/// <summary>Ready once every model folder was loaded (or reported failed) and warmed, and at least one model serves.</summary>
internal sealed class ModelsReadyCheck(ModelRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(!registry.IsReady ? HealthCheckResult.Unhealthy("Models are loading.")
            : registry.Models.Count == 0 ? HealthCheckResult.Unhealthy("No model could be loaded; see /models.")
            : HealthCheckResult.Healthy($"{registry.Models.Count} models ready."));
}
