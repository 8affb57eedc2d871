using System.Net;
using System.Text.Json.Nodes;

namespace VlmService.Tests.Api;

/// <summary>What operators read: JSON log lines tied to the request and its trace, and metrics pushed over OTLP.</summary>
[Collection(ModelFoldersCollection.Name)]
public sealed class TelemetryTests(ModelFolders models)
{
    [Fact]
    public async Task Json_log_lines_carry_the_request_id_and_the_callers_trace_id()
    {
        string file = Path.Combine(Path.GetTempPath(), $"vlm-log-{Guid.NewGuid():N}.json");
        try
        {
            await using (var factory = new VlmServiceFactory(models.Root, settings: new Dictionary<string, string> { ["Logging:JsonFile"] = file }))
            {
                HttpClient client = await factory.ReadyClientAsync();
                const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
                using var request = new HttpRequestMessage(HttpMethod.Get, "/models") { Headers = { { "traceparent", $"00-{TraceId}-00f067aa0ba902b7-01" } } };
                using HttpResponseMessage response = await client.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);

                JsonNode line = ReadLines(file).Single(l => l["MessageTemplate"]?.GetValue<string>().Contains("answered", StringComparison.Ordinal) == true
                    && l["Properties"]?["Endpoint"]?.GetValue<string>() == "/models");
                JsonNode properties = line["Properties"]!;
                Assert.Equal(TraceId, line["TraceId"]?.GetValue<string>());
                Assert.Matches("^[0-9a-f]{16}$", line["SpanId"]?.GetValue<string>() ?? string.Empty);
                Assert.False(string.IsNullOrEmpty(properties["RequestId"]?.GetValue<string>()));
                Assert.Equal(200, properties["Status"]!.GetValue<int>());
                Assert.Equal("Information", line["Level"]!.GetValue<string>());
                Assert.StartsWith("GET /models answered 200 in ", line["RenderedMessage"]!.GetValue<string>(), StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Metrics_are_pushed_over_otlp_when_the_endpoint_is_set_and_outlive_another_host_in_the_process()
    {
        await using var collector = new OtlpCollector();
        // Another host in the same process, with instruments of the same names, started first and disposed before the request.
        await using var neighbour = new VlmServiceFactory(models.Root);
        await neighbour.ReadyClientAsync();
        await using var factory = new VlmServiceFactory(models.Root, settings: new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        });
        HttpClient client = await factory.ReadyClientAsync();
        await neighbour.DisposeAsync();
        // Several export intervals: whatever the neighbour's meters took down with them has been collected for the last time.
        await Task.Delay(TimeSpan.FromSeconds(1));
        collector.Clear();

        (int status, _) = await ApiJson.PostAsync(client, "/embed", new { model = "clip-tiny", inputs = new[] { new { text = "a cat" } } });
        Assert.Equal(200, status);

        // The text encoder ran only for this request, so its stage name can only come from this host's live instruments.
        OtlpExportRequest? export = await collector.WaitForAsync(
            body => body.Contains("vlm_requests_total", StringComparison.Ordinal) && body.Contains("clip-tiny/text_encoder", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20));
        Assert.NotNull(export);
        Assert.Equal("/v1/metrics", export.Path);
        Assert.Equal("application/x-protobuf", export.ContentType);
        Assert.Contains("vlmservice", export.Body, StringComparison.Ordinal);
        Assert.Contains("vlm_batch_size", export.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failing_readiness_probes_are_answered_not_logged_as_errors_while_the_load_failure_is_logged_once()
    {
        string root = Directory.CreateTempSubdirectory("vlm-unready-").FullName;
        string file = Path.Combine(Path.GetTempPath(), $"vlm-log-{Guid.NewGuid():N}.json");
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "broken"));
            File.WriteAllText(Path.Combine(root, "broken", "config.json"), """{"model_type":"clip"}""");
            await using (var factory = new VlmServiceFactory(root, settings: new Dictionary<string, string> { ["Logging:JsonFile"] = file }))
            {
                HttpClient client = await factory.ReadyClientAsync();
                for (int probe = 0; probe < 3; probe++)
                {
                    using HttpResponseMessage response = await client.GetAsync("/health/ready");
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                }

                List<JsonNode> lines = ReadLines(file);
                Assert.DoesNotContain(lines, l => l["Properties"]?["SourceContext"]?.GetValue<string>().Contains("HealthChecks", StringComparison.Ordinal) == true);
                JsonNode failure = Assert.Single(lines, l => l["Properties"]?["EventId"]?["Id"]?.GetValue<int>() == 1002);
                Assert.Equal("Error", failure["Level"]!.GetValue<string>());
                Assert.Contains("broken", failure["RenderedMessage"]!.GetValue<string>(), StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(file);
            Directory.Delete(root, recursive: true);
        }
    }

    private static List<JsonNode> ReadLines(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
    }
}
