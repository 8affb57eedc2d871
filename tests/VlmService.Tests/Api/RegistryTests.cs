using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using VlmService.Engine.Diagnostics;
using VlmService.Infrastructure;

namespace VlmService.Tests.Api;

[Collection(ModelFoldersCollection.Name)]
public sealed class RegistryTests(ModelFolders models)
{
    [Fact]
    public async Task A_broken_folder_is_reported_with_its_reason_and_linked_folders_still_load()
    {
        string root = Directory.CreateTempSubdirectory("vlm-root-").FullName;
        try
        {
            Directory.CreateSymbolicLink(Path.Combine(root, "linked-clip"), models.Clip);
            Directory.CreateDirectory(Path.Combine(root, "broken"));
            File.WriteAllText(Path.Combine(root, "broken", "config.json"), """{"model_type":"clip"}""");
            Directory.CreateDirectory(Path.Combine(root, "whisper"));
            File.WriteAllText(Path.Combine(root, "whisper", "config.json"), """{"model_type":"whisper"}""");
            await using var factory = new VlmServiceFactory(root);
            HttpClient client = await factory.ReadyClientAsync();
            JsonNode listing = JsonNode.Parse(await client.GetStringAsync("/models"))!;
            JsonNode model = Assert.Single(listing["data"]!.AsArray())!;
            Assert.Equal("linked-clip", model["id"]!.GetValue<string>());
            Assert.Equal("clip", model["family"]!.GetValue<string>());
            Assert.False(model["demo"]!.GetValue<bool>());
            var failed = listing["failed"]!.AsArray().ToDictionary(f => f!["id"]!.GetValue<string>(), f => f!["reason"]!.GetValue<string>());
            Assert.Contains("tokenizer.json", failed["broken"], StringComparison.Ordinal);
            Assert.Contains("whisper", failed["whisper"], StringComparison.Ordinal);
            Assert.Equal("Healthy", await client.GetStringAsync("/health/ready"));
            (int status, JsonNode? problem) = await ApiJson.PostAsync(client, "/tokenize", new { model = "broken", text = "x" });
            Assert.Equal(404, status);
            Assert.Contains("failed to load", problem!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Without_a_models_root_demo_models_are_generated_and_flagged()
    {
        string cache = Directory.CreateTempSubdirectory("vlm-demo-").FullName;
        try
        {
            await using var factory = new VlmServiceFactory(modelsRoot: null, demoCache: cache);
            HttpClient client = await factory.ReadyClientAsync();
            JsonNode listing = JsonNode.Parse(await client.GetStringAsync("/models"))!;
            Assert.Equal(["demo-clip", "demo-siglip", "demo-smolvlm"], listing["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()));
            Assert.All(listing["data"]!.AsArray(), m => Assert.True(m!["demo"]!.GetValue<bool>()));
            Assert.Contains("meaningless", listing["notice"]!.GetValue<string>(), StringComparison.Ordinal);
            (int status, JsonNode? body) = await ApiJson.PostAsync(client, "/embed", new { inputs = new[] { new { text = "a photo of a cat" } } });
            Assert.Equal(200, status);
            Assert.Equal("demo-clip", body!["model"]!.GetValue<string>());
            (int captionStatus, JsonNode? caption) = await ApiJson.PostAsync(client, "/caption",
                new { image = VlmService.Infrastructure.OpenApiExamples.SamplePng, max_tokens = 5 });
            Assert.Equal(200, captionStatus);
            Assert.Equal("demo-smolvlm", caption!["model"]!.GetValue<string>());
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public async Task A_repeated_label_set_is_served_from_the_label_cache()
    {
        long hits = 0;
        long misses = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EngineMetrics.MeterName && instrument.Name is "vlm_cache_hits_total" or "vlm_cache_misses_total")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "vlm_cache_hits_total")
            {
                Interlocked.Add(ref hits, value);
            }
            else
            {
                Interlocked.Add(ref misses, value);
            }
        });
        listener.Start();
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        string[] labels = ["kingfisher", "heron", "egret"];
        object request = new { model = "clip-tiny", image = VlmService.Infrastructure.OpenApiExamples.SamplePng, labels, template = "a bird: {}" };
        (int first, JsonNode? firstBody) = await ApiJson.PostAsync(client, "/classify", request);
        long missesAfterFirst = Interlocked.Read(ref misses);
        (int second, JsonNode? secondBody) = await ApiJson.PostAsync(client, "/classify", request);
        Assert.Equal(200, first);
        Assert.Equal(200, second);
        Assert.True(missesAfterFirst >= labels.Length);
        Assert.Equal(missesAfterFirst, Interlocked.Read(ref misses));
        Assert.True(Interlocked.Read(ref hits) >= labels.Length);
        Assert.Equal(firstBody!.ToJsonString(), secondBody!.ToJsonString());
    }
}

/// <summary>
/// Hosts that fail to start, built and torn down while no other test's host is, so that a failure here is never another
/// test's host starting or stopping at the same time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FailingStartCollection
{
    public const string Name = "hosts that fail to start";
}

[Collection(FailingStartCollection.Name)]
public sealed class StartupValidationTests
{
    [Theory]
    [InlineData("Batching:MaxBatchSize", "0", "Batching:MaxBatchSize")]
    [InlineData("Batching:MaxVisionBatchSize", "-1", "Batching:MaxVisionBatchSize")]
    [InlineData("Batching:MaxEncoderBatchSize", "-1", "Batching:MaxEncoderBatchSize")]
    [InlineData("Batching:EncoderLanes", "0", "Batching:EncoderLanes")]
    [InlineData("Generation:MaxConcurrentSequences", "0", "Generation:MaxConcurrentSequences")]
    [InlineData("Generation:MaxJoinWait", "-00:00:01", "Generation:MaxJoinWait")]
    [InlineData("Generation:JoinWaitUntilWidth", "-1", "Generation:JoinWaitUntilWidth")]
    [InlineData("Generation:VisionArenaKeptViews", "-1", "Generation:VisionArenaKeptViews")]
    [InlineData("Memory:TrimInterval", "-00:00:01", "Memory:TrimInterval")]
    [InlineData("Models:Root", "/nonexistent/models", "Models:Root")]
    public async Task Bad_settings_stop_the_service_at_start_naming_the_key(string key, string value, string named)
    {
        // Built and started as Program does, settings on the command line. Not through WebApplicationFactory: its deferred
        // host asks the application's services for the lifetime after a failed start has disposed them, and then now and
        // then throws ObjectDisposedException in place of the start-up error (two clean-clone runs out of six).
        string[] args = [$"--{key}={value}", "--urls=http://127.0.0.1:0", "--Models:IntraOpThreads=1"];
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using WebApplication app = VlmHost.Build(args);
            await app.StartAsync();
        });
        // The whole exception on failure: a message cut short hides which start-up step threw.
        Assert.True(error.ToString().Contains(named, StringComparison.Ordinal), error.ToString());
    }
}
