using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace VlmService.Infrastructure;

/// <summary>
/// Requests by endpoint and final status, and their duration, for every API call; the process's resident memory,
/// managed heap and C heap, so that memory can be watched where latency is.
/// </summary>
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
        meter.CreateObservableGauge("vlm_process_resident_memory_bytes", () => Environment.WorkingSet, "By",
            "Resident memory of the process: weights, native heaps and the managed heap.");
        meter.CreateObservableGauge("vlm_managed_heap_bytes", () => GC.GetGCMemoryInfo().HeapSizeBytes, "By",
            "Managed heap size as of the last garbage collection.");
        meter.CreateObservableGauge("vlm_managed_committed_bytes", () => GC.GetGCMemoryInfo().TotalCommittedBytes, "By",
            "Memory the garbage collector holds from the OS: the heap, its free space and the next allocations' budget.");
        meter.CreateObservableGauge("vlm_native_heap_free_bytes", NativeHeapFreeBytes, "By",
            "Free memory inside the C heap, resident until trimmed; absent where the C library cannot say.");
    }

    private static IEnumerable<Measurement<long>> NativeHeapFreeBytes()
    {
        long free = Native.NativeHeap.FreeBytes();
        return free < 0 ? [] : [new Measurement<long>(free)];
    }

    public void Record(string endpoint, int status, TimeSpan elapsed)
    {
        var endpointTag = new KeyValuePair<string, object?>("endpoint", endpoint);
        _requests.Add(1, endpointTag, new KeyValuePair<string, object?>("status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        _duration.Record(elapsed.TotalSeconds, endpointTag);
    }
}

/// <summary>
/// Outermost middleware: times each API request, records its final status (after problem responses are written)
/// and writes one access-log event, inside the request's scope so it carries the request and trace ids.
/// </summary>
internal sealed partial class ApiMetricsMiddleware(RequestDelegate next, ApiMetrics metrics, ILogger<ApiMetricsMiddleware> logger)
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
                TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
                metrics.Record(endpoint, context.Response.StatusCode, elapsed);
                LogRequest(logger, context.Request.Method, endpoint, context.Response.StatusCode, elapsed.TotalMilliseconds);
            }
        }
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "{Method:l} {Endpoint:l} answered {Status} in {ElapsedMs:F1} ms")]
    private static partial void LogRequest(ILogger logger, string method, string endpoint, int status, double elapsedMs);
}
