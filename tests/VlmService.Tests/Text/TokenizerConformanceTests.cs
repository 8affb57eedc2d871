using System.Text.Json.Nodes;
using VlmService.Text;

namespace VlmService.Tests.Text;

public sealed class TokenizerConformanceTests
{
    public static TheoryData<string> RealTokenizers => new() { "clip-vit-base-patch32", "siglip-base-patch16-224", "SmolVLM-256M-Instruct", "gpt2" };

    [Theory]
    [MemberData(nameof(RealTokenizers))]
    public void Ids_equal_the_reference_on_a_varied_corpus(string name)
    {
        IReadOnlyList<string> corpus = TokenizerCorpus.Build();
        Assert.True(corpus.Count >= 2000);
        string folder = TestPaths.Reference(name);
        string input = Path.Combine(Path.GetTempPath(), $"vlm-corpus-{Guid.NewGuid():N}.json");
        File.WriteAllText(input, System.Text.Json.JsonSerializer.Serialize(corpus));
        JsonArray reference;
        try
        {
            reference = ReferenceRunner.Run("tokenize.mjs", folder, input).AsArray();
        }
        finally
        {
            File.Delete(input);
        }
        Tokenizer tokenizer = Tokenizer.FromFolder(folder);
        var mismatches = new List<string>();
        for (int i = 0; i < corpus.Count; i++)
        {
            int[] expected = reference[i]!["ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
            int[] actual = [.. tokenizer.Encode(corpus[i]).Ids];
            if (!expected.SequenceEqual(actual))
            {
                mismatches.Add($"{System.Text.Json.JsonSerializer.Serialize(corpus[i])}: expected [{string.Join(',', expected.Take(20))}] got [{string.Join(',', actual.Take(20))}]");
            }
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {corpus.Count} differ:\n{string.Join('\n', mismatches.Take(8))}");
    }
}

public sealed class VocabAndMergesTokenizerTests
{
    /// <summary>
    /// Qwen2 ships vocab.json + merges.txt only. The reference reads tokenizer.json, so the same pipeline is written out
    /// as tokenizer.json for it, while the service loads the two files directly: the ids must agree.
    /// </summary>
    [Fact]
    public void Qwen2_vocab_and_merges_give_the_reference_ids()
    {
        string source = TestPaths.Reference("qwen2-tokenizer");
        string folder = Path.Combine(Path.GetTempPath(), $"vlm-qwen2-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        string input = Path.Combine(folder, "corpus.json");
        try
        {
            JsonNode? config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "tokenizer_config.json")));
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), ByteLevelBpeFiles.ToTokenizerJson(source, config).ToJsonString());
            File.Copy(Path.Combine(source, "tokenizer_config.json"), Path.Combine(folder, "tokenizer_config.json"));
            IReadOnlyList<string> corpus = TokenizerCorpus.Build(count: 800, seed: 7);
            File.WriteAllText(input, System.Text.Json.JsonSerializer.Serialize(corpus));
            JsonArray reference = ReferenceRunner.Run("tokenize.mjs", folder, input).AsArray();
            Tokenizer tokenizer = Tokenizer.FromFolder(source);
            int differing = corpus.Select((text, i) => reference[i]!["ids"]!.AsArray().Select(x => x!.GetValue<int>()).SequenceEqual(tokenizer.Encode(text).Ids) ? 0 : 1).Sum();
            Assert.Equal(0, differing);
            Assert.Equal([151644, 872, 198], tokenizer.Encode("<|im_start|>user\n").Ids);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

public sealed class TokenizerDecodeTests
{
    [Theory]
    [InlineData("gpt2", "Hello, world! Café 東京 😀 x² don't")]
    [InlineData("SmolVLM-256M-Instruct", "  spaces\tand\nnewlines — 123")]
    public void Byte_level_decoding_restores_the_text(string name, string text)
    {
        Tokenizer tokenizer = Tokenizer.FromFolder(TestPaths.Reference(name));
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addSpecialTokens: false).Ids));
    }

    [Fact]
    public void Special_tokens_can_be_skipped_when_decoding()
    {
        Tokenizer tokenizer = Tokenizer.FromFolder(TestPaths.Reference("SmolVLM-256M-Instruct"));
        IReadOnlyList<int> ids = tokenizer.Encode("<|im_start|>User: hi<end_of_utterance>").Ids;
        Assert.Equal("User: hi", tokenizer.Decode(ids, skipSpecialTokens: true));
        Assert.True(tokenizer.IsSpecial("<end_of_utterance>"));
    }
}
