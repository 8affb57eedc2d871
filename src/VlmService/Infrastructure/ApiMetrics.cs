using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace VlmService.Infrastructure;

/// <summary>Requests by endpoint and final status, and their duration, for every API call.</summary>
internal sealed class ApiMetrics
{
    public const string MeterName = "VlmService.Api";

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;

    public ApiMetrics(IMeterFactory meterFactory)
    {
        Meter meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("vlm_requests_total", "{request}", "API requests by endpoint and response status.");
        _duration = meter.CreateHistogram<double>("vlm_request_duration_seconds", "s", "API request duration by endpoint.");
    }

    public void Record(string endpoint, int status, TimeSpan elapsed)
    {
        var endpointTag = new KeyValuePair<string, object?>("endpoint", endpoint);
        _requests.Add(1, endpointTag, new KeyValuePair<string, object?>("status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        _duration.Record(elapsed.TotalSeconds, endpointTag);
    }
}

/// <summary>Outermost middleware: times each API request and records its final status (after problem responses are written).</summary>
internal sealed class ApiMetricsMiddleware(RequestDelegate next, ApiMetrics metrics)
{
    private static readonly string[] Unmeasured = ["/metrics", "/health", "/swagger"];

    public async Task InvokeAsync(HttpContext context)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            string path = context.Request.Path.Value ?? string.Empty;
            if (!Unmeasured.Any(p => path.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
            {
                // The exception handler clears the endpoint when it writes a problem response; its feature keeps it.
                Endpoint? matched = context.GetEndpoint() ?? context.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Endpoint;
                string endpoint = (matched as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
                metrics.Record(endpoint, context.Response.StatusCode, Stopwatch.GetElapsedTime(started));
            }
        }
    }
}
