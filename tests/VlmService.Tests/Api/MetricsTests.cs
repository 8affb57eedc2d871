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
