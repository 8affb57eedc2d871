using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using VlmService.Engine.Generation;
using VlmService.Engine.Models;
using VlmService.Onnx;

namespace VlmService.Tests.Api;

[Collection(ModelFoldersCollection.Name)]
public sealed class DescribeClassificationTests(ModelFolders models)
{
    private static readonly string[] Labels = ["dog", "cat", "red car", "bowl of fruit", "snowy mountain landscape"];

    [Theory]
    [InlineData("smolvlm-tiny")]
    [InlineData("llava-tiny")]
    public async Task Describe_mode_returns_the_caption_and_scores_equal_to_plain_log_likelihoods(string model)
    {
        await using var factory = new VlmServiceFactory(models.Root);
        HttpClient client = await factory.ReadyClientAsync();
        string image = Convert.ToBase64String(File.ReadAllBytes(TestPaths.Photos.Skip(2).First()));
        const string instruction = "Describe the image.";
        (int status, JsonNode? body) = await ApiJson.PostAsync(client, "/classify", new { model, image, labels = Labels, prompt = instruction, max_tokens = 10 });
        Assert.Equal(200, status);
        Assert.Equal("describe", body!["mode"]!.GetValue<string>());
        (int captionStatus, JsonNode? caption) = await ApiJson.PostAsync(client, "/caption", new { model, image, prompt = instruction, max_tokens = 10 });
        Assert.Equal(200, captionStatus);
        string description = body["description"]!.GetValue<string>();
        Assert.Equal(caption!["caption"]!.GetValue<string>(), description);

        var generative = (GenerativeModel)factory.Services.GetRequiredService<ModelRegistry>().Resolve(model, Capabilities.Describe);
        (int[] prompt, int[][] continuations) = LabelScorer.Tokenize(generative, description, Labels);
        double[] plain = continuations.Select(label => PlainLogLikelihood(generative, prompt, label)).ToArray();
        double max = plain.Max();
        double sum = plain.Sum(l => Math.Exp(l - max));
        var scores = body["predictions"]!.AsArray().ToDictionary(p => p!["label"]!.GetValue<string>(), p => p!["score"]!.GetValue<double>());
        Assert.Equal(1.0, scores.Values.Sum(), 9);
        for (int i = 0; i < Labels.Length; i++)
        {
            double expected = Math.Exp(plain[i] - max) / sum;
            Assert.True(Math.Abs(expected - scores[Labels[i]]) <= 1e-4, $"{Labels[i]}: {expected} vs {scores[Labels[i]]}");
        }
    }

    /// <summary>The label's log-likelihood from one decoder pass over prompt + label, with no cache and no batch.</summary>
    private static double PlainLogLikelihood(GenerativeModel model, int[] prompt, int[] label)
    {
        DecoderSessions sessions = model.Sessions;
        long[] ids = [.. prompt.Select(i => (long)i), .. label.Select(i => (long)i)];
        Tensor<float> embeds = sessions.EmbedTokens(ids, 1, ids.Length, CancellationToken.None);
        (Tensor<float> logits, KvCache cache) = sessions.Decode(embeds, Enumerable.Repeat(1L, ids.Length).ToArray(),
            Enumerable.Range(0, ids.Length).Select(i => (long)i).ToArray(), KvCache.Empty(sessions.Layers), CancellationToken.None);
        cache.Dispose();
        int vocabulary = (int)logits.Shape[2];
        double total = 0;
        for (int j = 0; j < label.Length; j++)
        {
            total += LabelScorer.LogSoftmaxAt(logits.Data.AsSpan((prompt.Length + j - 1) * vocabulary, vocabulary), label[j]);
        }
        return total;
    }
}
