using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace VlmService.Tests.Api;

[Collection(ModelFoldersCollection.Name)]
public sealed class MetricsTests(ModelFolders models)
{
    private static readonly string[] Required =
    [
        "vlm_requests_total", "vlm_request_duration_seconds", "vlm_queue_wait_seconds", "vlm_batch_size", "vlm_executions_total",
        "vlm_queue_depth", "vlm_rejected_total", "vlm_time_to_first_token_seconds", "vlm_inter_token_latency_seconds",
        "vlm_generated_tokens_total", "vlm_active_sequences", "vlm_cache_hits_total", "vlm_cache_misses_total",
        "vlm_kv_cache_reserved_bytes", "vlm_process_resident_memory_bytes", "vlm_managed_heap_bytes",
        "vlm_managed_committed_bytes", "vlm_native_heap_free_bytes",
    ];

    [Fact]
    public async Task Metrics_are_scraped_in_prometheus_text_format_with_the_documented_names_and_values()
    {
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        string image = VlmService.Infrastructure.OpenApiExamples.SamplePng;
        await ApiJson.PostAsync(client, "/embed", new { model = "clip-tiny", inputs = new[] { new { text = "a cat" } } });
        object classify = new { model = "clip-tiny", image, labels = new[] { "cat", "dog" } };
        await ApiJson.PostAsync(client, "/classify", classify);
        await ApiJson.PostAsync(client, "/classify", classify);
        (int vqa, JsonNode? answer) = await ApiJson.PostAsync(client, "/vqa", new { model = "smolvlm-tiny", image, question = "What?", max_tokens = 5, ignore_eos = true });
        Assert.Equal(200, vqa);
        await ApiJson.PostAsync(client, "/embed", new { model = "nope", inputs = new[] { new { text = "x" } } });

        using HttpResponseMessage response = await client.GetAsync("/metrics");
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        string text = await response.Content.ReadAsStringAsync();
        foreach (string name in Required)
        {
            Assert.Matches(new Regex($"^# TYPE {name} (counter|gauge|histogram)$", RegexOptions.Multiline), text);
        }
        Assert.Equal(1, Value(text, "vlm_requests_total{endpoint=\"/embed\",status=\"200\"}"));
        Assert.Equal(1, Value(text, "vlm_requests_total{endpoint=\"/embed\",status=\"404\"}"));
        Assert.Equal(2, Value(text, "vlm_requests_total{endpoint=\"/classify\",status=\"200\"}"));
        Assert.Equal(2, Value(text, "vlm_cache_hits_total{cache=\"label_embeddings\"}"));
        Assert.Equal(5, Value(text, "vlm_generated_tokens_total"));
        Assert.Equal(1, Value(text, "vlm_time_to_first_token_seconds_count"));
        Assert.Equal(4, Value(text, "vlm_inter_token_latency_seconds_count"));
        Assert.Equal(0, Value(text, "vlm_active_sequences"));
        Assert.Equal(0, Value(text, "vlm_kv_cache_reserved_bytes"));
        double managed = Value(text, "vlm_managed_heap_bytes");
        Assert.InRange(managed, 1, Value(text, "vlm_process_resident_memory_bytes") - 1);
        Assert.True(Value(text, "vlm_managed_committed_bytes") >= managed);
        Assert.True(Value(text, "vlm_native_heap_free_bytes") >= 0);
        Assert.True(Value(text, "vlm_executions_total{stage=\"clip-tiny/text_encoder\"}") >= 1);
        Assert.Contains("vlm_request_duration_seconds_bucket{endpoint=\"/vqa\",le=\"+Inf\"} 1", text, StringComparison.Ordinal);
        Assert.Equal(5, answer!["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    private static double Value(string text, string series)
    {
        Match match = Regex.Match(text, $"^{Regex.Escape(series)} (\\S+)$", RegexOptions.Multiline);
        Assert.True(match.Success, $"no sample for {series}");
        return double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}

[Collection(ModelFoldersCollection.Name)]
public sealed class DeadlineTests(ModelFolders models)
{
    [Fact]
    public async Task A_request_past_its_deadline_gets_504_and_its_work_is_dropped()
    {
        // Far more tokens than the deadline allows, however fast the machine decodes the tiny model.
        await using var factory = new VlmServiceFactory(models.Root, settings: new Dictionary<string, string> { ["Generation:MaxTokensLimit"] = "100000" });
        HttpClient client = await factory.ReadyClientAsync();
        string image = Convert.ToBase64String(File.ReadAllBytes(TestPaths.Photos.First()));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/caption")
        {
            Content = JsonContent(new { model = "smolvlm-tiny", image, max_tokens = 100000, ignore_eos = true }),
            Headers = { { "X-Request-Timeout-Ms", "300" } },
        };
        var started = System.Diagnostics.Stopwatch.StartNew();
        using HttpResponseMessage response = await client.SendAsync(request);
        Assert.Equal(504, (int)response.StatusCode);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), $"took {started.Elapsed}");
        JsonNode problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Contains("X-Request-Timeout-Ms: 300", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var generation = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<VlmService.Engine.Generation.GenerationService>(factory.Services);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (generation.ActiveSequences > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(0, generation.ActiveSequences);

        using var generous = new HttpRequestMessage(HttpMethod.Post, "/tokenize")
        {
            Content = JsonContent(new { model = "clip-tiny", text = "in time" }),
            Headers = { { "X-Request-Timeout-Ms", "60000" } },
        };
        Assert.Equal(200, (int)(await client.SendAsync(generous)).StatusCode);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("soon")]
    [InlineData("99999999")]
    public async Task A_malformed_deadline_is_refused_with_400(string header)
    {
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/tokenize")
        {
            Content = JsonContent(new { text = "x" }),
            Headers = { { "X-Request-Timeout-Ms", header } },
        };
        using HttpResponseMessage response = await client.SendAsync(request);
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("X-Request-Timeout-Ms", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static StringContent JsonContent(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
}
