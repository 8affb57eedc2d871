using System.Text;
using System.Text.Json.Nodes;

namespace VlmService.Tests.Api;

/// <summary>
/// /vqa and /caption with greedy decoding against transformers.js generate() on the same folders, images and questions:
/// identical text and the same number of new tokens; streaming gives the same text.
/// </summary>
[Collection(ModelFoldersCollection.Name)]
public sealed class GenerationConformanceTests(ModelFolders models)
{
    private static readonly string[] Questions =
    [
        "What is in this picture?", "How many animals can you see?", "Describe the colours.", "Is it day or night? Answer briefly.",
        "¿Qué hay en la imagen?", "What would you call this scene in 3 words?",
    ];

    private static IEnumerable<string> Images => TestPaths.Photos
        .Concat(new[] { "exif-orientation-6.jpg", "cmyk.jpg", "grayscale.jpg", "rgba.png", "16bit.png", "photo.webp", "animated-2frames.gif", "panorama.jpg", "tiny-1x1.png", "progressive.jpg" }
            .Select(name => Path.Combine(TestPaths.Images, "edge", name)));

    [Theory]
    [InlineData("smolvlm", null)]
    [InlineData("smolvlm", false)]
    [InlineData("llava", null)]
    public async Task Greedy_answers_equal_the_reference_on_every_test_image(string family, bool? split)
    {
        string[] images = [.. Images];
        var cases = images.Select((image, i) => new { image, question = Questions[i % Questions.Length], max_new_tokens = 4 + (i % 5), do_image_splitting = split }).ToArray();
        JsonArray reference = ReferenceRunner.RunWithRequest("generate.mjs", new { folder = models.Folder(family), family, cases }).AsArray();
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        for (int i = 0; i < cases.Length; i++)
        {
            JsonNode expected = reference[i]!;
            Assert.Null(expected["error"]);
            (int status, JsonNode? body) = await ApiJson.PostAsync(client, "/vqa", new
            {
                model = Path.GetFileName(models.Folder(family)),
                image = Convert.ToBase64String(File.ReadAllBytes(cases[i].image)),
                question = cases[i].question,
                max_tokens = cases[i].max_new_tokens,
                do_image_splitting = split,
            });
            Assert.Equal(200, status);
            string name = Path.GetFileName(cases[i].image);
            Assert.Equal(expected["text"]!.GetValue<string>(), body!["answer"]!.GetValue<string>());
            Assert.Equal(expected["new_ids"]!.AsArray().Count, body["usage"]!["completion_tokens"]!.GetValue<int>());
            Assert.True(expected["prompt_ids"]!.AsArray().Count == body["usage"]!["prompt_tokens"]!.GetValue<int>(), $"{name}: prompt length");
        }
    }

    [Fact]
    public async Task Streaming_yields_the_same_text_as_the_plain_call_then_usage_and_done()
    {
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        string image = Convert.ToBase64String(File.ReadAllBytes(TestPaths.Photos.First()));
        (int status, JsonNode? plain) = await ApiJson.PostAsync(client, "/caption", new { model = "smolvlm-tiny", image, max_tokens = 12 });
        Assert.Equal(200, status);
        using var content = new StringContent(new JsonObject { ["model"] = "smolvlm-tiny", ["image"] = image, ["max_tokens"] = 12, ["stream"] = true }.ToJsonString(), Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await client.PostAsync("/caption", content);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        string[] events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        Assert.Equal("data: [DONE]", events[^1]);
        JsonNode finish = JsonNode.Parse(events[^2]["data: ".Length..])!;
        Assert.Equal(plain!["finish_reason"]!.GetValue<string>(), finish["finish_reason"]!.GetValue<string>());
        Assert.Equal(plain["usage"]!.ToJsonString(), finish["usage"]!.ToJsonString());
        string streamed = string.Concat(events[..^2].Select(e => JsonNode.Parse(e["data: ".Length..])!["delta"]!.GetValue<string>()));
        Assert.True(events.Length > 3, "expected several pieces");
        Assert.Equal(plain["caption"]!.GetValue<string>(), streamed);
    }
}

[Collection(ModelFoldersCollection.Name)]
public sealed class BatchedGenerationTests(ModelFolders models)
{
    [Theory]
    [InlineData("smolvlm")]
    [InlineData("llava")]
    public async Task Eight_different_requests_decoded_at_once_each_equal_the_reference(string family)
    {
        string[] images = [.. TestPaths.Photos.Take(8)];
        string[] questions = ["What is this?", "Colours?", "How many?", "Where was it taken?", "Name one object.", "Describe briefly.", "Is it outdoors?", "What stands out?"];
        var cases = images.Select((image, i) => new { image, question = questions[i], max_new_tokens = 6 + (3 * i), do_image_splitting = false }).ToArray();
        JsonArray reference = ReferenceRunner.RunWithRequest("generate.mjs", new { folder = models.Folder(family), family, cases }).AsArray();

        using var executions = new StageExecutions();
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        var calls = cases.Select(c => ApiJson.PostAsync(client, "/vqa", new
        {
            model = Path.GetFileName(models.Folder(family)),
            image = Convert.ToBase64String(File.ReadAllBytes(c.image)),
            question = c.question,
            max_tokens = c.max_new_tokens,
            do_image_splitting = false,
        })).ToArray();
        var answers = await Task.WhenAll(calls);
        for (int i = 0; i < cases.Length; i++)
        {
            Assert.Equal(200, answers[i].Status);
            Assert.Equal(reference[i]!["text"]!.GetValue<string>(), answers[i].Body!["answer"]!.GetValue<string>());
            Assert.Equal(reference[i]!["new_ids"]!.AsArray().Count, answers[i].Body!["usage"]!["completion_tokens"]!.GetValue<int>());
        }
        int largestBatch = executions.LargestBatch($"{Path.GetFileName(models.Folder(family))}/decoder");
        Assert.True(largestBatch > 1, $"sequences were never decoded together (largest batch {largestBatch})");
    }
}

[Collection(ModelFoldersCollection.Name)]
public sealed class GenerationCancellationTests(ModelFolders models)
{
    [Fact]
    public async Task A_client_that_disconnects_leaves_the_batch_and_the_service_keeps_serving()
    {
        // Far more tokens than the test can take to notice the sequence: a tiny model decodes a thousand in well
        // under a second, which a busy machine can spend between the first piece and the check.
        await using var factory = new VlmServiceFactory(models.Root, settings: new Dictionary<string, string> { ["Generation:MaxTokensLimit"] = "100000" });
        HttpClient client = await factory.ReadyClientAsync();
        var generation = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<VlmService.Engine.Generation.GenerationService>(factory.Services);
        string image = Convert.ToBase64String(File.ReadAllBytes(TestPaths.Photos.First()));
        using var abort = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/caption")
        {
            Content = new StringContent(new JsonObject { ["model"] = "smolvlm-tiny", ["image"] = image, ["max_tokens"] = 100000, ["ignore_eos"] = true, ["stream"] = true, ["do_image_splitting"] = false }.ToJsonString(),
                Encoding.UTF8, "application/json"),
        };
        using (HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, abort.Token))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(abort.Token));
            string? first = await reader.ReadLineAsync(abort.Token);
            Assert.StartsWith("data: {\"delta\"", first, StringComparison.Ordinal);
            // The first piece comes from the prefill; the sequence then joins the running batch.
            var joined = DateTime.UtcNow.AddSeconds(10);
            while (generation.ActiveSequences == 0 && DateTime.UtcNow < joined)
            {
                await Task.Delay(5);
            }
            Assert.Equal(1, generation.ActiveSequences);
            await abort.CancelAsync();
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (generation.ActiveSequences > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(0, generation.ActiveSequences);
        (int status, JsonNode? body) = await ApiJson.PostAsync(client, "/vqa", new { model = "smolvlm-tiny", image, question = "Still there?", max_tokens = 3 });
        Assert.Equal(200, status);
        Assert.InRange(body!["usage"]!["completion_tokens"]!.GetValue<int>(), 1, 3);
    }
}
