using VlmService.Engine.Generation;
using VlmService.ModelKit.Families;
using VlmService.Onnx;

namespace VlmService.Tests.Generation;

/// <summary>When the vision encoder's CPU arena keeps its pages for the next run and when it gives them back.</summary>
[Collection(ModelFoldersCollection.Name)]
public sealed class VisionArenaTests(ModelFolders folders)
{
    private static readonly SessionSettings Cpu = new() { Provider = ExecutionProviderKind.Cpu };

    [Fact]
    public void Runs_of_the_kept_views_leave_the_arena_as_it_is_and_a_larger_run_gives_it_back()
    {
        using DecoderSessions sessions = DecoderSessions.Open(folders.SmolVlm, Cpu, visionArenaKeptViews: 1);
        // The second run of a shape takes the memory pattern's block, so the arena has its size after two.
        sessions.EncodeImages([Views(1)], CancellationToken.None);
        sessions.EncodeImages([Views(1)], CancellationToken.None);
        ArenaStats grown = sessions.Vision.CpuArenaStats();

        sessions.EncodeImages([Views(1)], CancellationToken.None);
        ArenaStats kept = sessions.Vision.CpuArenaStats();
        Assert.Equal(grown.HeldBytes, kept.HeldBytes);
        Assert.Equal(grown.Shrinkages, kept.Shrinkages);
        Assert.True(kept.HeldBytes > 4 * kept.InUseBytes, $"the arena holds {kept.HeldBytes} bytes, {kept.InUseBytes} in use");

        sessions.EncodeImages([Views(3)], CancellationToken.None);
        ArenaStats afterLarge = sessions.Vision.CpuArenaStats();
        Assert.True(afterLarge.Shrinkages > kept.Shrinkages);
        Assert.True(afterLarge.HeldBytes < kept.HeldBytes, $"{afterLarge.HeldBytes} bytes held after three views, {kept.HeldBytes} before");
    }

    [Fact]
    public void By_default_every_run_gives_the_arena_back_and_the_features_are_the_same_as_with_a_kept_arena()
    {
        using DecoderSessions keeping = DecoderSessions.Open(folders.SmolVlm, Cpu, visionArenaKeptViews: 1);
        using DecoderSessions giving = DecoderSessions.Open(folders.SmolVlm, Cpu);
        Assert.Equal(0, giving.VisionArenaKeptViews);
        long lastShrinkages = giving.Vision.CpuArenaStats().Shrinkages;
        foreach (int views in new[] { 1, 1, 3, 1 })
        {
            ProcessedImage image = Views(views);
            float[] expected = keeping.EncodeImages([image], CancellationToken.None)[0];
            Assert.Equal(expected, giving.EncodeImages([image], CancellationToken.None)[0]);
            ArenaStats stats = giving.Vision.CpuArenaStats();
            Assert.True(stats.Shrinkages > lastShrinkages);
            // After three views both give back; after one only the one keeping none does.
            Assert.True(views > 1 ? stats.HeldBytes == keeping.Vision.CpuArenaStats().HeldBytes : stats.HeldBytes < keeping.Vision.CpuArenaStats().HeldBytes);
            lastShrinkages = stats.Shrinkages;
        }
    }

    /// <summary><paramref name="views"/> tiles of noise at the tiny export's tile size.</summary>
    private static ProcessedImage Views(int views)
    {
        int size = GenerativeSpecs.SmolVlm("tiny", vocabSize: 100).Vision.ImageSize;
        var random = new Random(views);
        float[] pixels = Enumerable.Range(0, views * 3 * size * size).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        return new ProcessedImage(pixels, views, size, size, new ImageLayout(0, 0, views, 0));
    }
}
