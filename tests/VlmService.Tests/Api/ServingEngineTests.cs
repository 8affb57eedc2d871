using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using VlmService.Engine.Generation;
using VlmService.Engine.Models;

namespace VlmService.Tests.Api;

/// <summary>The generation engine under the limits a server needs: feature cache, KV-cache admission, chunked prefill, pausing for joiners.</summary>
[Collection(ModelFoldersCollection.Name)]
public sealed class ServingEngineTests(ModelFolders models)
{
    [Fact]
    public async Task A_second_question_about_the_same_image_skips_the_vision_encoder_and_answers_as_without_the_cache()
    {
        using var executions = new StageExecutions();
        string image = Convert.ToBase64String(File.ReadAllBytes(TestPaths.Photos.First()));
        object Question(string question) => new { model = "smolvlm-tiny", image, question, max_tokens = 6, do_image_splitting = false };

        await using var cached = new VlmServiceFactory(models.Root);
        HttpClient client = await cached.ReadyClientAsync();
        (int first, _) = await ApiJson.PostAsync(client, "/vqa", Question("What is this?"));
        (int second, JsonNode? followUp) = await ApiJson.PostAsync(client, "/vqa", Question("What colour is it?"));
        Assert.Equal(200, first);
        Assert.Equal(200, second);
        Assert.Equal(1, executions.Count("smolvlm-tiny/vision_encoder"));
        var cache = cached.Services.GetRequiredService<VisionFeatureCache>();
        Assert.Equal(1, cache.Count);
        Assert.True(cache.Bytes > 0);

        // Splitting changes the features, so it is a different entry.
        (int split, _) = await ApiJson.PostAsync(client, "/vqa", new { model = "smolvlm-tiny", image, question = "What is this?", max_tokens = 1, do_image_splitting = true });
        Assert.Equal(200, split);
        Assert.Equal(2, executions.Count("smolvlm-tiny/vision_encoder"));
        Assert.Equal(2, cache.Count);

        await using var uncached = new VlmServiceFactory(models.Root, settings: new Dictionary<string, string> { ["Generation:VisionFeatureCacheBytes"] = "0" });
        HttpClient plain = await uncached.ReadyClientAsync();
        (int fresh, JsonNode? alone) = await ApiJson.PostAsync(plain, "/vqa", Question("What colour is it?"));
        Assert.Equal(200, fresh);
        Assert.Equal(alone!["answer"]!.GetValue<string>(), followUp!["answer"]!.GetValue<string>());
        Assert.Equal(0, uncached.Services.GetRequiredService<VisionFeatureCache>().Count);
    }

    [Fact]
    public async Task An_image_embedding_does_not_depend_on_its_batch_or_its_position_in_it()
    {
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        string[] images = [.. TestPaths.Photos.Take(5).Select(p => Convert.ToBase64String(File.ReadAllBytes(p)))];
        async Task<float[][]> EmbedAsync(IEnumerable<string> batch)
        {
            (int status, JsonNode? body) = await ApiJson.PostAsync(client, "/embed", new { model = "clip-tiny", inputs = batch.Select(image => new { image }).ToArray() });
            Assert.Equal(200, status);
            return [.. body!["data"]!.AsArray().Select(d => ApiJson.Floats(d!["embedding"]))];
        }

        float[][] together = await EmbedAsync(images);
        float[][] reversed = await EmbedAsync(images.Reverse());
        // One request at a time: each image runs as a batch of one, over its own array rather than a batch tensor.
        var alone = new List<float[]>();
        foreach (string image in images)
        {
            alone.Add((await EmbedAsync([image]))[0]);
        }
        for (int i = 0; i < images.Length; i++)
        {
            Assert.Equal(alone[i], together[i], (a, b) => Math.Abs(a - b) < 1e-5f);
            Assert.Equal(alone[i], reversed[images.Length - 1 - i], (a, b) => Math.Abs(a - b) < 1e-5f);
        }
        Assert.NotEqual(together[0], together[1]);
    }

    [Fact]
    public async Task With_encoder_lanes_images_and_texts_embed_as_with_one_lane()
    {
        string[] images = [.. TestPaths.Photos.Take(6).Select(p => Convert.ToBase64String(File.ReadAllBytes(p)))];
        string[] texts = ["a photo of a cat", "a red bus", "two dogs playing in the snow"];
        async Task<float[][]> EmbedAllAsync(VlmServiceFactory factory)
        {
            HttpClient client = await factory.ReadyClientAsync();
            // One request per item, all at once, so batches are cut while others run.
            IEnumerable<object> inputs = [.. images.Select(image => (object)new { image }), .. texts.Select(text => (object)new { text })];
            return await Task.WhenAll(inputs.Select(async input =>
            {
                (int status, JsonNode? body) = await ApiJson.PostAsync(client, "/embed", new { model = "clip-tiny", inputs = new[] { input } });
                Assert.Equal(200, status);
                return ApiJson.Floats(body!["data"]![0]!["embedding"]);
            }));
        }

        await using var oneLane = new VlmServiceFactory(models.Root);
        float[][] expected = await EmbedAllAsync(oneLane);
        await using var twoLanes = new VlmServiceFactory(models.Root, settings: new Dictionary<string, string>
        {
            ["Batching:EncoderLanes"] = "2",
            ["Models:IntraOpThreads"] = "2",
        });
        float[][] actual = await EmbedAllAsync(twoLanes);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], (a, b) => Math.Abs(a - b) < 1e-5f);
        }
    }

    [Theory]
    [InlineData("clip-tiny", null, 8)]
    [InlineData("siglip-tiny", null, 2)]
    [InlineData("clip-tiny", "12", 12)]
    public async Task Image_encoder_lanes_of_one_thread_batch_by_patch_tokens_unless_told_otherwise_and_the_text_encoder_keeps_the_batch_limit(
        string model, string? configured, int expected)
    {
        var settings = new Dictionary<string, string> { ["Batching:EncoderLanes"] = "2", ["Models:IntraOpThreads"] = "2" };
        if (configured is not null)
        {
            settings["Batching:MaxEncoderBatchSize"] = configured;
        }
        await using var factory = new VlmServiceFactory(models.Root, settings: settings);
        await factory.ReadyClientAsync();
        // The tiny folders keep the real patch grids: CLIP 7 × 7 patches of 32 px at 224², SigLIP 14 × 14 of 16 px.
        var encoder = (DualEncoderModel)factory.Services.GetRequiredService<ModelRegistry>().Resolve(model, Capabilities.Embed);
        Assert.Equal("CPUExecutionProvider", encoder.Provider);
        Assert.Equal(expected, encoder.VisionStage.MaxBatchSize);
        Assert.Equal(16, encoder.TextStage.MaxBatchSize);
    }

    [Fact]
    public async Task The_kv_cache_budget_admits_what_fits_queues_the_rest_and_refuses_what_never_fits_with_422()
    {
        using var executions = new StageExecutions();
        const long Budget = 256 * 1024;
        await using var factory = new VlmServiceFactory(models.Root, settings: new Dictionary<string, string> { ["Generation:MaxKvCacheBytes"] = $"{Budget}" });
        HttpClient client = await factory.ReadyClientAsync();
        var generation = factory.Services.GetRequiredService<GenerationService>();
        string image = Convert.ToBase64String(File.ReadAllBytes(TestPaths.Photos.First()));
        object Request(string question, int maxTokens) => new { model = "smolvlm-tiny", image, question, max_tokens = maxTokens, ignore_eos = true, do_image_splitting = false };

        (int probe, JsonNode? probed) = await ApiJson.PostAsync(client, "/vqa", Request("Question 0?", 1));
        Assert.Equal(200, probe);
        int promptTokens = probed!["usage"]!["prompt_tokens"]!.GetValue<int>();
        long perToken = generation.CacheBytesPerToken("smolvlm-tiny");
        Assert.Equal(2L * 2 * 2 * 16 * sizeof(float), perToken); // layers × (key, value) × kv heads × head dim
        long budgetTokens = Budget / perToken;

        (int tooBig, JsonNode? problem) = await ApiJson.PostAsync(client, "/vqa", Request("Question 0?", (int)budgetTokens - promptTokens + 1));
        Assert.Equal(422, tooBig);
        Assert.Contains("Generation:MaxKvCacheBytes", problem!["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        // max_tokens alone over the budget is refused before the image is decoded or encoded.
        int encoded = executions.Count("smolvlm-tiny/vision_encoder");
        string other = Convert.ToBase64String(File.ReadAllBytes(TestPaths.Photos.Skip(1).First()));
        (int early, _) = await ApiJson.PostAsync(client, "/vqa", new { model = "smolvlm-tiny", image = other, question = "Hi", max_tokens = (int)budgetTokens, do_image_splitting = false });
        Assert.Equal(422, early);
        Assert.Equal(encoded, executions.Count("smolvlm-tiny/vision_encoder"));

        // Each of these fits alone (3/4 of the budget) but no two fit together: they must run one after another.
        int maxTokens = (int)(budgetTokens * 3 / 4) - promptTokens;
        var calls = Enumerable.Range(1, 3).Select(i => ApiJson.PostAsync(client, "/vqa", Request($"Question {i}?", maxTokens))).ToArray();
        foreach ((int status, JsonNode? body) in await Task.WhenAll(calls))
        {
            Assert.Equal(200, status);
            Assert.Equal(maxTokens, body!["usage"]!["completion_tokens"]!.GetValue<int>());
        }
        Assert.True(executions.Count("smolvlm-tiny/decoder") >= 3 * (maxTokens - 1));
        Assert.Equal(1, executions.LargestBatch("smolvlm-tiny/decoder"));
        Assert.Equal(0, generation.ReservedCacheBytes);
    }

    /// <param name="kvCacheOnDevice">"true" runs every cache through the decoder's ONNX Runtime allocator, as on a GPU.</param>
    [Theory]
    [InlineData(null)]
    [InlineData("true")]
    public async Task A_long_prompt_is_prefilled_in_chunks_between_decode_steps_and_still_equals_the_reference(string? kvCacheOnDevice)
    {
        string path = TestPaths.Photos.First();
        var cases = new[] { new { image = path, question = "What is in this picture?", max_new_tokens = 8, do_image_splitting = (bool?)true } };
        JsonNode expected = ReferenceRunner.RunWithRequest("generate.mjs", new { folder = models.Folder("smolvlm"), family = "smolvlm", cases })[0]!;
        using var executions = new StageExecutions();
        var settings = new Dictionary<string, string>
        {
            ["Generation:PrefillChunkTokens"] = "64",
            // The running sequence must outlast the long prompt's image work and prefill, however fast decoding is.
            ["Generation:MaxTokensLimit"] = "100000",
        };
        if (kvCacheOnDevice is not null)
        {
            settings["Generation:KvCacheOnDevice"] = kvCacheOnDevice;
        }
        await using var factory = new VlmServiceFactory(models.Root, settings: settings);
        HttpClient client = await factory.ReadyClientAsync();
        var generation = factory.Services.GetRequiredService<GenerationService>();
        var smolvlm = (GenerativeModel)factory.Services.GetRequiredService<ModelRegistry>().Models.Single(m => m.Id == "smolvlm-tiny");
        Assert.Equal(kvCacheOnDevice is null ? null : "Cpu:0", smolvlm.Sessions.CacheMemory);
        string image = Convert.ToBase64String(File.ReadAllBytes(path));

        // A long-running sequence is decoding when the long prompt arrives.
        (int status, JsonNode? body) = await WhileDecodingAsync(client, executions, image,
            () => ApiJson.PostAsync(client, "/vqa", new { model = "smolvlm-tiny", image, question = "What is in this picture?", max_tokens = 8, do_image_splitting = true }));

        Assert.Equal(200, status);
        Assert.Equal(expected["text"]!.GetValue<string>(), body!["answer"]!.GetValue<string>());
        int promptTokens = body["usage"]!["prompt_tokens"]!.GetValue<int>();
        IReadOnlyList<string> order = executions.Order;
        int chunks = order.Count(s => s == "smolvlm-tiny/prefill");
        Assert.Equal((promptTokens + 63) / 64, chunks);
        // Every prefill chunk of the long prompt is followed by a decode step of the running sequence.
        for (int i = 0; i < order.Count; i++)
        {
            if (order[i] == "smolvlm-tiny/prefill")
            {
                Assert.True(i + 1 < order.Count && order[i + 1] == "smolvlm-tiny/decoder", $"prefill chunk at {i} not followed by a decode step");
            }
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (generation.ActiveSequences > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(0, generation.ActiveSequences);
    }

    [Fact]
    public async Task The_running_batch_pauses_while_a_joiner_s_image_is_encoded_and_then_decodes_it_alongside()
    {
        using var executions = new StageExecutions();
        await using var factory = new VlmServiceFactory(models.Root, settings: new Dictionary<string, string>
        {
            // Longer than the test: only the joiner's arrival may end the pause.
            ["Generation:MaxJoinWait"] = "00:05:00",
            ["Generation:MaxTokensLimit"] = "100000",
        });
        HttpClient client = await factory.ReadyClientAsync();
        string image = Convert.ToBase64String(File.ReadAllBytes(TestPaths.Photos.First()));
        string other = Convert.ToBase64String(File.ReadAllBytes(TestPaths.Photos.Skip(1).First()));

        (int status, JsonNode? body) = await WhileDecodingAsync(client, executions, image,
            () => ApiJson.PostAsync(client, "/vqa", new { model = "smolvlm-tiny", image = other, question = "What is this?", max_tokens = 4, ignore_eos = true, do_image_splitting = false }));

        Assert.Equal(200, status);
        Assert.Equal(4, body!["usage"]!["completion_tokens"]!.GetValue<int>());
        List<string> order = [.. executions.Order];
        int encoded = order.IndexOf("smolvlm-tiny/vision_encoder");
        int prefilled = order.IndexOf("smolvlm-tiny/prefill");
        Assert.True(encoded >= 0 && prefilled > encoded, $"vision at {encoded}, prefill at {prefilled}");
        // Not one step of the running sequence between the joiner's vision run and its prefill…
        Assert.DoesNotContain("smolvlm-tiny/decoder", order.Skip(encoded).Take(prefilled - encoded));
        // …and the two sequences then decode together.
        Assert.Equal(2, executions.LargestBatch("smolvlm-tiny/decoder"));
    }

    [Theory]
    [InlineData("0", false)]
    [InlineData("1", true)]
    public async Task The_running_batch_pauses_for_a_joiner_only_while_narrower_than_JoinWaitUntilWidth(string width, bool keepsDecoding)
    {
        using var executions = new StageExecutions();
        await using var factory = new VlmServiceFactory(models.Root, settings: new Dictionary<string, string>
        {
            // Longer than the test: a pause that starts lasts until the joiner arrives.
            ["Generation:MaxJoinWait"] = "00:05:00",
            ["Generation:JoinWaitUntilWidth"] = width,
            ["Generation:MaxTokensLimit"] = "100000",
        });
        HttpClient client = await factory.ReadyClientAsync();
        string image = Convert.ToBase64String(File.ReadAllBytes(TestPaths.Photos.First()));
        string other = Convert.ToBase64String(File.ReadAllBytes(TestPaths.Photos.Skip(1).First()));
        int stepsWhileEncoding = -1;

        (int status, _) = await WhileDecodingAsync(client, executions, image, async () =>
        {
            // The joiner's image stays "being encoded" while the test counts the running batch's steps.
            Task held = executions.Hold("smolvlm-tiny/vision_encoder");
            Task<(int, JsonNode?)> joiner = ApiJson.PostAsync(client, "/vqa",
                new { model = "smolvlm-tiny", image = other, question = "What is this?", max_tokens = 2, do_image_splitting = false });
            await held;
            // A step already under way when the joiner arrived may still finish.
            await Task.Delay(100);
            int before = executions.Count("smolvlm-tiny/decoder");
            await Task.Delay(300);
            stepsWhileEncoding = executions.Count("smolvlm-tiny/decoder") - before;
            executions.Release();
            return await joiner;
        });

        Assert.Equal(200, status);
        if (keepsDecoding)
        {
            Assert.True(stepsWhileEncoding > 0, "the one-wide batch paused although it was as wide as asked");
        }
        else
        {
            Assert.Equal(0, stepsWhileEncoding);
        }
    }

    /// <summary>
    /// Starts a caption that decodes until cancelled, runs <paramref name="request"/> once it is decoding (recording the
    /// order of stage runs from then on), then cancels the caption.
    /// </summary>
    private static async Task<(int Status, JsonNode? Body)> WhileDecodingAsync(HttpClient client, StageExecutions executions, string image,
        Func<Task<(int, JsonNode?)>> request)
    {
        using var stop = new CancellationTokenSource();
        Task<(int, JsonNode?)> running = ApiJson.PostAsync(client, "/caption",
            new { model = "smolvlm-tiny", image, max_tokens = 100000, ignore_eos = true, do_image_splitting = false }, stop.Token);
        var joined = DateTime.UtcNow.AddSeconds(20);
        while (executions.Count("smolvlm-tiny/decoder") == 0 && DateTime.UtcNow < joined)
        {
            await Task.Delay(5);
        }
        executions.StartOrder();
        (int, JsonNode?) answer = await request();
        await stop.CancelAsync();
        try
        {
            await running;
        }
        catch (OperationCanceledException)
        {
            // The long-running request only had to be decoding meanwhile.
        }
        return answer;
    }
}
