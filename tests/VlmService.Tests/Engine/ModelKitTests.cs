using VlmService.ModelKit;
using VlmService.Onnx;
using VlmService.Text;

namespace VlmService.Tests.Engine;

public sealed class ModelKitTests
{
    [Theory]
    [InlineData("clip", "text_embeds", "image_embeds")]
    [InlineData("siglip", "pooler_output", "pooler_output")]
    public void Without_a_tokenizer_folder_the_kit_writes_a_working_tokenizer_and_the_real_output_names(string family, string textOutput, string imageOutput)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"vlm-kit-{Guid.NewGuid():N}");
        try
        {
            Assert.Equal(0, ModelKitCli.Main(["--family", family, "--preset", "tiny", "--seed", "3", "--out", folder]));
            foreach (string file in new[] { "config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "onnx/text_model.onnx", "onnx/vision_model.onnx", "onnx/model.onnx" })
            {
                Assert.True(File.Exists(Path.Combine(folder, file)), file);
            }
            Tokenizer tokenizer = Tokenizer.FromFolder(folder);
            TokenEncoding encoding = tokenizer.Encode("a photo of a cat");
            Assert.True(encoding.Ids.Count >= 3);
            Assert.DoesNotContain(encoding.Ids, id => id >= tokenizer.VocabularySize);
            var cpu = new SessionSettings { Provider = ExecutionProviderKind.Cpu, IntraOpThreads = 1 };
            using var text = InferenceSession.Open(Path.Combine(folder, "onnx", "text_model.onnx"), cpu);
            using var vision = InferenceSession.Open(Path.Combine(folder, "onnx", "vision_model.onnx"), cpu);
            Assert.Contains(text.Outputs, o => o.Name == textOutput);
            Assert.Contains(vision.Outputs, o => o.Name == imageOutput);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Fact]
    public void Bad_command_lines_exit_with_usage()
    {
        Assert.Equal(2, ModelKitCli.Main(["--family", "clip"]));
        Assert.Equal(2, ModelKitCli.Main(["--family", "whisper", "--out", Path.Combine(Path.GetTempPath(), "vlm-never")]));
        Assert.Equal(2, ModelKitCli.Main(["--family", "clip", "--preset", "huge", "--out", Path.Combine(Path.GetTempPath(), $"vlm-never-{Guid.NewGuid():N}")]));
    }
}
