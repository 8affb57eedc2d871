using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using VlmService.Engine.Diagnostics;

namespace VlmService.Infrastructure;

/// <summary>
/// Pushes the service's metrics over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (environment or settings),
/// beside the always-on Prometheus endpoint. The standard variables choose the protocol
/// (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c>: grpc or http/protobuf), the interval (<c>OTEL_METRIC_EXPORT_INTERVAL</c>, ms)
/// and the service name (<c>OTEL_SERVICE_NAME</c>).
/// </summary>
internal sealed class OtlpExport : IDisposable
{
    private readonly MeterProvider _provider;

    private OtlpExport(MeterProvider provider) => _provider = provider;

    public static OtlpExport? FromConfiguration(IConfiguration configuration, IMeterFactory meterFactory)
    {
        string? endpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return null;
        }
        bool http = string.Equals(configuration["OTEL_EXPORTER_OTLP_PROTOCOL"], "http/protobuf", StringComparison.OrdinalIgnoreCase);
        int intervalMs = int.TryParse(configuration["OTEL_METRIC_EXPORT_INTERVAL"], out int parsed) && parsed > 0 ? parsed : 60_000;
        string serviceName = configuration["OTEL_SERVICE_NAME"] ?? "vlmservice";
        MeterProvider provider = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService(serviceName))
            .AddMeter(EngineMetrics.MeterName, ApiMetrics.MeterName)
            // The SDK listens to every meter of these names in the process and merges same-named instruments into one
            // stream, which it drops for good once any of their meters is disposed. Another host in the process (tests,
            // or an app hosting two) would then silence this one: only the meters this host's factory made are taken.
            .AddView(instrument => ReferenceEquals(instrument.Meter.Scope, meterFactory) ? null : MetricStreamConfiguration.Drop)
            .AddOtlpExporter((exporter, reader) =>
            {
                exporter.Protocol = http ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                // Set in code, the endpoint is used as given: the signal path is ours to add for HTTP.
                string trimmed = endpoint.TrimEnd('/');
                exporter.Endpoint = new Uri(http && !trimmed.EndsWith("/v1/metrics", StringComparison.Ordinal) ? $"{trimmed}/v1/metrics" : trimmed);
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = intervalMs;
            })
            .Build();
        return new OtlpExport(provider);
    }

    public void Dispose() => _provider.Dispose();
}

/// <summary>The OTLP export when configured; the container disposes it (flushing the last interval) at shutdown.</summary>
internal sealed class OtlpHolder(OtlpExport? export) : IDisposable
{
    public void Dispose() => export?.Dispose();
}
