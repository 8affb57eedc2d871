using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace VlmService.Tests.Api;

[Collection(ModelFoldersCollection.Name)]
public sealed class RequestHandlingTests(ModelFolders models)
{
    private static string SamplePng => VlmService.Infrastructure.OpenApiExamples.SamplePng;

    public static TheoryData<string, int> EdgeImages => new()
    {
        { "16bit.png", 200 }, { "animated-2frames.gif", 200 }, { "bomb-30000x30000.png", 413 }, { "circle.svg", 415 },
        { "cmyk.jpg", 200 }, { "exif-orientation-6.jpg", 200 }, { "grayscale.jpg", 200 }, { "not-an-image.jpg", 400 },
        { "panorama.jpg", 200 }, { "photo.tif", 415 }, { "photo.webp", 200 }, { "progressive.jpg", 200 }, { "rgba.png", 200 },
        { "tiny-1x1.png", 200 }, { "truncated.jpg", 400 }, { "zero-bytes.png", 400 },
    };

    [Theory]
    [MemberData(nameof(EdgeImages))]
    public async Task Every_edge_image_gets_a_result_or_the_right_problem_and_the_service_keeps_serving(string name, int expected)
    {
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        byte[] image = File.ReadAllBytes(Path.Combine(TestPaths.Images, "edge", name));
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(image), "image", name },
            { new StringContent("cat, dog"), "labels" },
        };
        (int status, JsonNode? body) = await ApiJson.PostFormAsync(client, "/classify", form);
        Assert.Equal(expected, status);
        if (expected == 200)
        {
            Assert.Equal(1.0, body!["predictions"]!.AsArray().Sum(p => p!["score"]!.GetValue<double>()), 6);
        }
        else
        {
            Assert.Equal(expected, body!["status"]!.GetValue<int>());
            Assert.False(string.IsNullOrWhiteSpace(body["detail"]?.GetValue<string>()));
        }
        // /embed decodes a lone image without reading its header first: the decode's own checks give the same answer.
        using var embedForm = new MultipartFormDataContent
        {
            { new ByteArrayContent(image), "image", name },
        };
        (int embedStatus, JsonNode? embedBody) = await ApiJson.PostFormAsync(client, "/embed", embedForm);
        Assert.Equal(expected, embedStatus);
        Assert.Equal(expected == 200 ? null : expected, embedBody!["status"]?.GetValue<int>());
        (int after, _) = await ApiJson.PostAsync(client, "/classify", new { image = SamplePng, labels = new[] { "cat", "dog" } });
        Assert.Equal(200, after);
    }

    public static TheoryData<string, string, int, string> BadRequests => new()
    {
        { "/embed", """{"model":"nope","inputs":[{"text":"x"}]}""", 404, "nope" },
        { "/embed", """{"inputs":[]}""", 400, "inputs" },
        { "/embed", """{}""", 400, "inputs" },
        { "/embed", """{"inputs":[{"text":"a","image":"b"}]}""", 400, "exactly one" },
        { "/embed", """{"inputs":[{"image":"https://example.test/cat.jpg"}]}""", 400, "not enabled" },
        { "/embed", """{"inputs":[{"image":"***not base64***"}]}""", 400, "base64" },
        { "/embed", """{"inputs":[{"image":"data:image/png,rawbytes"}]}""", 400, "base64" },
        { "/embed", """{"inputs": [""", 400, "malformed" },
        { "/classify", """{"labels":["a"]}""", 400, "image" },
        { "/classify", $$"""{"image":"{{SamplePng}}"}""", 400, "labels" },
        { "/classify", $$"""{"image":"{{SamplePng}}","labels":["a",""]}""", 400, "labels" },
        { "/classify", $$"""{"image":"{{SamplePng}}","labels":["a"],"top_k":0}""", 400, "top_k" },
        { "/classify", $$"""{"image":"{{SamplePng}}","labels":["a"],"mode":"guess"}""", 400, "mode" },
        { "/classify", $$"""{"model":"clip-tiny","image":"{{SamplePng}}","labels":["a"],"mode":"describe"}""", 422, "classify:describe" },
        { "/vqa", $$"""{"model":"smolvlm-tiny","image":"{{SamplePng}}"}""", 400, "question" },
        { "/vqa", $$"""{"model":"smolvlm-tiny","image":"{{SamplePng}}","question":"what is <image>?"}""", 400, "placeholder" },
        { "/caption", $$"""{"model":"smolvlm-tiny","image":"{{SamplePng}}","max_tokens":0}""", 400, "max_tokens" },
        { "/caption", $$"""{"model":"clip-tiny","image":"{{SamplePng}}"}""", 422, "caption" },
        { "/tokenize", """{"model":"clip-tiny"}""", 400, "text" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_get_a_problem_response_naming_the_problem(string path, string json, int expected, string mentioned)
    {
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        using HttpResponseMessage response = await client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(expected, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonNode problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Contains(mentioned, problem["detail"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_body_that_is_neither_json_nor_multipart_is_refused_with_415()
    {
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        using var content = new StringContent("a photo of a cat", Encoding.UTF8, "text/plain");
        using HttpResponseMessage response = await client.PostAsync("/tokenize", content);
        Assert.Equal(415, (int)response.StatusCode);
    }

    [Fact]
    public async Task Multipart_embed_keeps_image_parts_and_text_fields_as_inputs()
    {
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        byte[] photo = File.ReadAllBytes(TestPaths.Photos.First());
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(photo) { Headers = { ContentType = new MediaTypeHeaderValue("image/jpeg") } }, "image", "photo.jpg" },
            { new StringContent("a photo of a fish"), "text" },
            { new StringContent("siglip-tiny"), "model" },
            { new StringContent("false"), "normalize" },
        };
        (int status, JsonNode? body) = await ApiJson.PostFormAsync(client, "/embed", form);
        Assert.Equal(200, status);
        Assert.Equal("siglip-tiny", body!["model"]!.GetValue<string>());
        Assert.Equal(["image", "text"], body["data"]!.AsArray().Select(d => d!["kind"]!.GetValue<string>()));
        Assert.Equal(1, body["usage"]!["images"]!.GetValue<int>());
        Assert.True(body["usage"]!["text_tokens"]!.GetValue<int>() > 1);
        float[] raw = ApiJson.Floats(body["data"]![0]!["embedding"]);
        Assert.NotEqual(1.0, Math.Sqrt(raw.Sum(v => (double)v * v)), 3);
    }

    [Fact]
    public async Task Classify_applies_top_k_and_siglip_scores_are_independent_sigmoids()
    {
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        (int status, JsonNode? body) = await ApiJson.PostAsync(client, "/classify",
            new { model = "siglip-tiny", image = SamplePng, labels = new[] { "cat", "dog", "car", "tree" }, top_k = 2 });
        Assert.Equal(200, status);
        var scores = body!["predictions"]!.AsArray().Select(p => p!["score"]!.GetValue<double>()).ToList();
        Assert.Equal(2, scores.Count);
        Assert.True(scores[0] >= scores[1]);
        Assert.All(scores, s => Assert.InRange(s, 0.0, 1.0));
        Assert.Equal("zero-shot", body["mode"]!.GetValue<string>());
    }
}

public sealed class ProblemMappingTests
{
    [Fact]
    public async Task Running_out_of_memory_is_a_503_problem_with_a_retry_hint_not_a_500()
    {
        await using ServiceProvider services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var handler = new VlmService.Infrastructure.ProblemExceptionHandler(services.GetRequiredService<IProblemDetailsService>(),
            NullLogger<VlmService.Infrastructure.ProblemExceptionHandler>.Instance);
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Path = "/vqa";
        context.Request.Headers.Accept = "application/json";
        using var body = new MemoryStream();
        context.Response.Body = body;

#pragma warning disable CA2201 // The runtime's own exception is exactly what the handler has to map.
        Assert.True(await handler.TryHandleAsync(context, new OutOfMemoryException(), CancellationToken.None));
#pragma warning restore CA2201

        Assert.Equal(503, context.Response.StatusCode);
        Assert.Equal("2", context.Response.Headers.RetryAfter.ToString());
        Assert.StartsWith("application/problem+json", context.Response.ContentType, StringComparison.Ordinal);
        JsonNode problem = JsonNode.Parse(Encoding.UTF8.GetString(body.ToArray()))!;
        Assert.Equal("Out of memory", problem["title"]!.GetValue<string>());
        Assert.Equal(503, problem["status"]!.GetValue<int>());
    }
}
