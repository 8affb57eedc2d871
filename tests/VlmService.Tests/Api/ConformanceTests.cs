using System.Text.Json.Nodes;

namespace VlmService.Tests.Api;

/// <summary>
/// The service over model-kit folders (real tokenizers) against transformers.js on the same folders, images and texts:
/// embeddings cosine ≥ 0.9999, the same top label, every score within 1e-3, identical token ids.
/// </summary>
[Collection(ModelFoldersCollection.Name)]
public sealed class ConformanceTests(ModelFolders models)
{
    private static readonly string[] Labels =
    [
        "tench", "American alligator", "black swan", "sea lion", "Tibetan terrier", "Siberian husky", "tiger beetle", "ibex",
        "academic gown", "bobsled", "cliff dwelling", "espresso maker", "hook", "microphone", "paper towel", "quilt",
        "slot machine", "teddy bear", "water tower", "orange",
    ];

    private static readonly string[] Texts =
    [
        "a husky pulling a sled through deep snow", "Espresso maker on a marble counter", "two giraffes under an acacia tree",
        "Ein Hund läuft über die Wiese", "东京的夜景", "🚲 bike lane 🚦", "The year 1999 had 365 days.",
        string.Join(' ', Enumerable.Repeat("a very long caption that keeps going and going", 12)),
    ];

    private static IEnumerable<string> Images => TestPaths.Photos.Where((_, i) => i % 3 == 0)
        .Concat(new[] { "exif-orientation-6.jpg", "cmyk.jpg", "grayscale.jpg", "rgba.png", "16bit.png", "photo.webp", "animated-2frames.gif", "panorama.jpg", "tiny-1x1.png" }
            .Select(name => Path.Combine(TestPaths.Images, "edge", name)));

    [Theory]
    [InlineData("clip", "a photo of a {}.")]
    [InlineData("siglip", "This is a photo of {}.")]
    public async Task Embeddings_scores_and_ids_match_the_reference(string family, string template)
    {
        string[] images = [.. Images];
        JsonNode reference = ReferenceRunner.RunWithRequest("dual-encoder.mjs",
            new { folder = models.Folder(family), family, images, texts = Texts, labels = Labels, template });
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        string model = Path.GetFileName(models.Folder(family));

        // Images and texts go in several concurrent requests, so they share batches in the stages.
        var imageCalls = images.Select(path => ApiJson.PostAsync(client, "/embed", new
        {
            model,
            inputs = new[] { new { image = Convert.ToBase64String(File.ReadAllBytes(path)) } },
        })).ToList();
        var textCall = ApiJson.PostAsync(client, "/embed", new { model, inputs = Texts.Select(t => new { text = t }).ToArray() });
        var classifyCalls = images.Select(path => ApiJson.PostAsync(client, "/classify", new
        {
            model,
            image = Convert.ToBase64String(File.ReadAllBytes(path)),
            labels = Labels,
            template,
        })).ToList();
        var embedded = await Task.WhenAll(imageCalls);
        var classified = await Task.WhenAll(classifyCalls);
        (int textStatus, JsonNode? texts) = await textCall;

        for (int i = 0; i < images.Length; i++)
        {
            JsonNode expected = reference["images"]![i]!;
            (int status, JsonNode? body) = embedded[i];
            Assert.Equal(200, status);
            float[] actual = ApiJson.Floats(body!["data"]![0]!["embedding"]);
            double cosine = ApiJson.Cosine(ApiJson.Floats(expected["embedding"]), actual);
            Assert.True(cosine >= 0.9999, $"{Path.GetFileName(images[i])}: image cosine {cosine}");
            Assert.Equal(1.0, Math.Sqrt(actual.Sum(v => (double)v * v)), 4);

            (int classifyStatus, JsonNode? predictions) = classified[i];
            Assert.Equal(200, classifyStatus);
            var expectedScores = expected["predictions"]!.AsArray().ToDictionary(p => p!["label"]!.GetValue<string>(), p => p!["score"]!.GetValue<double>());
            var actualScores = predictions!["predictions"]!.AsArray().ToDictionary(p => p!["label"]!.GetValue<string>(), p => p!["score"]!.GetValue<double>());
            Assert.Equal(expected["predictions"]![0]!["label"]!.GetValue<string>(), predictions["predictions"]![0]!["label"]!.GetValue<string>());
            foreach ((string label, double score) in expectedScores)
            {
                Assert.True(Math.Abs(score - actualScores[label]) <= 1e-3, $"{Path.GetFileName(images[i])} / {label}: {score} vs {actualScores[label]}");
            }
        }

        Assert.Equal(200, textStatus);
        for (int t = 0; t < Texts.Length; t++)
        {
            double cosine = ApiJson.Cosine(ApiJson.Floats(reference["texts"]![t]!["embedding"]), ApiJson.Floats(texts!["data"]![t]!["embedding"]));
            Assert.True(cosine >= 0.9999, $"text '{Texts[t]}': cosine {cosine}");
            Assert.Equal("text", texts["data"]![t]!["kind"]!.GetValue<string>());
        }
    }

    [Theory]
    [InlineData("clip")]
    [InlineData("siglip")]
    public async Task Tokenize_returns_the_reference_ids_and_tokens(string family)
    {
        string input = Path.Combine(Path.GetTempPath(), $"vlm-tok-{Guid.NewGuid():N}.json");
        File.WriteAllText(input, System.Text.Json.JsonSerializer.Serialize(Texts));
        JsonArray reference;
        try
        {
            reference = ReferenceRunner.Run("tokenize.mjs", models.Folder(family), input).AsArray();
        }
        finally
        {
            File.Delete(input);
        }
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        for (int i = 0; i < Texts.Length; i++)
        {
            (int status, JsonNode? body) = await ApiJson.PostAsync(client, "/tokenize", new { model = Path.GetFileName(models.Folder(family)), text = Texts[i] });
            Assert.Equal(200, status);
            Assert.Equal(reference[i]!["ids"]!.AsArray().Select(x => x!.GetValue<int>()), body!["ids"]!.AsArray().Select(x => x!.GetValue<int>()));
            Assert.Equal(reference[i]!["tokens"]!.AsArray().Select(x => x!.GetValue<string>()), body["tokens"]!.AsArray().Select(x => x!.GetValue<string>()));
        }
    }
}
