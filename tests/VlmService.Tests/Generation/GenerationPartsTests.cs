using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using VlmService.Engine.Generation;
using VlmService.Engine.Models;
using VlmService.Imaging;
using VlmService.Native;
using VlmService.Text;

namespace VlmService.Tests.Generation;

public sealed class GenerationPartsTests
{
    [Fact]
    public void Greedy_picks_the_highest_logit_and_skips_suppressed_ids()
    {
        float[] logits = [0.1f, 3.0f, 2.5f, -1f];
        Assert.Equal(1, new TokenSelector(new SamplingOptions(), []).Select(logits));
        Assert.Equal(2, new TokenSelector(new SamplingOptions(), [1]).Select(logits));
    }

    [Fact]
    public void Sampling_is_reproducible_by_seed_and_respects_top_k_and_top_p()
    {
        float[] logits = Enumerable.Range(0, 50).Select(i => (float)(i % 7) * 0.3f).ToArray();
        var seeded = new SamplingOptions { Temperature = 1.0, Seed = 42 };
        int[] first = Draw(new TokenSelector(seeded, []), logits, 200).ToArray();
        int[] second = Draw(new TokenSelector(seeded, []), logits, 200).ToArray();
        Assert.Equal(first, second);
        Assert.True(first.Distinct().Count() > 5);
        float[] distinct = Enumerable.Range(0, 50).Select(i => (float)Math.Sin(i)).ToArray();
        int[] topOne = Draw(new TokenSelector(seeded with { TopK = 1 }, []), distinct, 50).ToArray();
        Assert.All(topOne, t => Assert.Equal(Array.IndexOf(distinct, distinct.Max()), t));
        float[] peaked = [10f, 0f, 0f, 0f];
        Assert.All(Draw(new TokenSelector(seeded with { TopP = 0.5 }, []), peaked, 50), t => Assert.Equal(0, t));
    }

    private static IEnumerable<int> Draw(TokenSelector selector, float[] logits, int count) => Enumerable.Range(0, count).Select(_ => selector.Select(logits));

    [Fact]
    public void The_detokenizer_never_emits_half_a_character_and_cuts_at_stop_strings()
    {
        Tokenizer tokenizer = Tokenizer.FromFolder(TestPaths.Reference("gpt2"));
        int[] ids = [.. tokenizer.Encode("Café 😀 ok. END more", addSpecialTokens: false).Ids];
        var detokenizer = new IncrementalDetokenizer(tokenizer, ["END"]);
        var pieces = new List<string>();
        foreach (int id in ids)
        {
            pieces.Add(detokenizer.Add(id));
            if (detokenizer.Stopped)
            {
                break;
            }
        }
        pieces.Add(detokenizer.Flush());
        Assert.All(pieces, p => Assert.DoesNotContain('\uFFFD', p));
        Assert.Equal("Café 😀 ok. ", string.Concat(pieces));
        Assert.True(detokenizer.Stopped);
    }

    [Fact]
    public void A_stop_string_prefix_is_held_back_until_it_is_resolved()
    {
        Tokenizer tokenizer = Tokenizer.FromFolder(TestPaths.Reference("gpt2"));
        var detokenizer = new IncrementalDetokenizer(tokenizer, ["\n\n"]);
        int[] ids = [.. tokenizer.Encode("one\ntwo", addSpecialTokens: false).Ids];
        string emitted = string.Concat(ids.Select(detokenizer.Add)) + detokenizer.Flush();
        Assert.Equal("one\ntwo", emitted);
        Assert.False(detokenizer.Stopped);
    }

    [Theory]
    [InlineData(2048, 1536, 2048, 1536)]
    [InlineData(1536, 2048, 1536, 2048)]
    [InlineData(2048, 72, 2048, 512)]
    [InlineData(640, 480, 1024, 1024)]
    [InlineData(512, 512, 512, 512)]
    public void Tile_sizes_round_up_to_tile_multiples_keeping_the_aspect(int height, int width, int expectedHeight, int expectedWidth) =>
        Assert.Equal((expectedHeight, expectedWidth), Idefics3ImageProcessor.SizeForTiles(height, width, 512));

    [Fact]
    public void Prompt_expansion_marks_rows_columns_and_the_global_tile()
    {
        string expanded = PromptBuilder.ExpandIdefics3("<|im_start|>User:<image>Hi", rows: 1, cols: 2, imageSeqLen: 2);
        Assert.Equal("<|im_start|>User:<fake_token_around_image><row_1_col_1><image><image><fake_token_around_image><row_1_col_2><image><image>\n" +
            "\n<fake_token_around_image><global-img><image><image><fake_token_around_image>Hi", expanded);
        Assert.Equal("a<t><t><t>b<t>", PromptBuilder.ExpandLlava("a<t>b<t>", "<t>", 3));
    }

    [Fact]
    public void The_kv_pool_hands_back_returned_buffers_and_frees_outgrown_and_oversized_ones()
    {
        var pool = new KvBufferPool();
        NativeBuffer<float> first = pool.Rent(800);
        Assert.Equal(900, first.Length);
        pool.Return(new KvCache([first], [new NativeBuffer<float>(0)], 1));
        Assert.Equal(900, pool.FreeElements);
        Assert.Same(first, pool.Rent(850));
        pool.Return(new KvCache([first], [], 1));
        NativeBuffer<float> grown = pool.Rent(1600);
        Assert.NotSame(first, grown);
        Assert.Equal(0, pool.FreeElements);
        Assert.Throws<ObjectDisposedException>(() => first.Span.Length);
        pool.Return(new KvCache([grown], [], 1));
        NativeBuffer<float> small = pool.Rent(800);
        Assert.NotSame(grown, small);
        Assert.Equal(900, small.Length);
        Assert.Equal(0, pool.FreeElements);
        Assert.Throws<ObjectDisposedException>(() => grown.Span.Length);
        pool.Return(new KvCache([small], [], 1));
        Assert.Same(small, pool.Rent(720));
        NativeBuffer<float> other = pool.Rent(1600);
        pool.Return(new KvCache([small, other], [], 1));
        pool.Clear();
        Assert.Equal(0, pool.FreeElements);
        Assert.Throws<ObjectDisposedException>(() => small.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => other.Span.Length);
    }

    [Fact]
    public void Outgrown_kv_buffers_on_the_c_heap_grow_keeping_their_entries_and_others_are_left_alone()
    {
        float[] entries = [.. Enumerable.Range(0, 1000).Select(i => (float)i)];
        NativeBuffer<float> buffer = Native(entries);
        NativeBuffer<float> original = buffer;
        Assert.True(KvBufferPool.TryFit(ref buffer, 1000));
        Assert.Same(original, buffer);
        Assert.True(KvBufferPool.TryFit(ref buffer, 1600));
        Assert.Equal(1800, buffer.Length);
        Assert.Equal(entries, buffer.Span[..1000].ToArray());
        Assert.Throws<ObjectDisposedException>(() => original.Span.Length);
        buffer.Dispose();

        var empty = new NativeBuffer<float>(0);
        Assert.False(KvBufferPool.TryFit(ref empty, 10));
        var allocator = new TestAllocator();
        NativeBuffer<float> lent = allocator.Allocate(100);
        NativeBuffer<float> lentBefore = lent;
        Assert.False(KvBufferPool.TryFit(ref lent, 200));
        Assert.Same(lentBefore, lent);
        Assert.Throws<InvalidOperationException>(() => lent.Resize(200));

        // The pool frees an outgrown buffer it cannot resize and asks for a new one.
        var pool = new KvBufferPool(allocator.Allocate);
        pool.Return(lent);
        NativeBuffer<float> rented = pool.Rent(200);
        Assert.Equal(225, rented.Length);
        Assert.Equal(1, allocator.Freed);
        rented.Dispose();
    }

    [Fact]
    public void A_large_buffer_grows_by_moving_its_pages_not_by_faulting_them_in_afresh()
    {
        // In 4 KB pages (the buffer asks for no others), where a copy into a fresh buffer shows in the fault count.
        const int elements = 16 << 20;
        var buffer = new NativeBuffer<float>(elements);
        buffer.Span.Fill(1f);
        long before = FaultsOfThisThread();
        NativeBuffer<float> grown = buffer.Resize(elements + (elements / 8));
        bool kept = !grown.Span[..elements].ContainsAnyExcept(1f);
        grown.Span.Fill(2f);
        long faults = FaultsOfThisThread() - before;
        grown.Dispose();
        Assert.True(kept);
        // 64 MB are 16384 pages of 4 KB and the 8 MB added 2048; a new buffer and a copy would fault in all 18432.
        Assert.InRange(faults, 0, 4096);
    }

    [Fact]
    public void Buffers_that_ask_for_huge_pages_get_the_advice_from_4_MB_on_and_others_never()
    {
        int large = (int)NativeHeap.HugePageAdviceBytes;
        using var asking = new NativeBuffer<byte>(large, hugePages: true);
        using var notAsking = new NativeBuffer<byte>(large);
        using var small = new NativeBuffer<byte>(large - 4096, hugePages: true);
        using NativeBuffer<byte> grown = new NativeBuffer<byte>(2 << 20, hugePages: true).Resize(8 << 20);
        using NativeBuffer<byte> grownNotAsking = new NativeBuffer<byte>(2 << 20).Resize(8 << 20);
        Assert.Equal(MemoryMappings.KernelTakesHugePageAdvice, MemoryMappings.AdvisedForHugePages(asking, 1 << 20));
        Assert.Equal(MemoryMappings.KernelTakesHugePageAdvice, MemoryMappings.AdvisedForHugePages(grown, 4 << 20));
        Assert.False(MemoryMappings.AdvisedForHugePages(notAsking, 1 << 20));
        Assert.False(MemoryMappings.AdvisedForHugePages(small, 1 << 20));
        Assert.False(MemoryMappings.AdvisedForHugePages(grownNotAsking, 4 << 20));
    }

    [Fact]
    public void Buffers_read_again_and_again_keep_4_KB_pages()
    {
        // A CLIP batch tensor in huge pages slowed the model's runs on a virtual machine (bench/README.md); KV caches
        // are read by every step the same way.
        using var pixels = new PixelBuffers(imageLength: 3 * 224 * 224, batchLimit: 8, imagesKept: 0);
        using NativeBuffer<float> batch = pixels.RentBatch();
        using NativeBuffer<float> cache = new KvBufferPool().Rent(2 << 20);
        Assert.True(batch.Length * sizeof(float) >= NativeHeap.HugePageAdviceBytes);
        Assert.False(MemoryMappings.AdvisedForHugePages(batch, 1 << 18));
        Assert.False(MemoryMappings.AdvisedForHugePages(cache, 1 << 18));
    }

    /// <summary>Minor page faults of the calling thread so far (field 10 of /proc/thread-self/stat).</summary>
    private static long FaultsOfThisThread()
    {
        string stat = File.ReadAllText("/proc/thread-self/stat");
        return long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[7], CultureInfo.InvariantCulture);
    }

    /// <summary>C-heap memory lent as another allocator's, which host code may not resize.</summary>
    private sealed class TestAllocator : INativeAllocator
    {
        public string Name => "Test:0";

        public int Freed { get; private set; }

        public NativeBuffer<float> Allocate(int elements) =>
            new(Marshal.AllocHGlobal(elements * sizeof(float)), elements, this);

        public void Free(nint data)
        {
            Marshal.FreeHGlobal(data);
            Freed++;
        }
    }

    [Fact]
    public void Gathered_rows_are_right_aligned_behind_zeroed_padding_even_in_used_buffers()
    {
        // Two heads of width 1; a batch of two rows (stride 3) whose second row holds 2 entries, and a cache of its own.
        using var batch = new KvCache([Native(0, 0, 0, 0, 0, 0, 7, 1, 2, 7, 3, 4)], [Native(0, 0, 0, 0, 0, 0, 7, -1, -2, 7, -3, -4)], 3);
        using var own = new KvCache([Native(5, 6, 8, 9, 10, 11)], [Native(-5, -6, -8, -9, -10, -11)], 3);
        using KvCache gathered = CacheLayout.Gather(
            [new CacheRow(batch, 1, 2), new CacheRow(own, 0, 3)], length: 3, kvHeads: 2, headDim: 1,
            elements => Native([.. Enumerable.Repeat(float.NaN, elements + 2)]));
        Assert.Equal(3, gathered.Length);
        Assert.Equal([0, 1, 2, 0, 3, 4, 5, 6, 8, 9, 10, 11], gathered.Keys[0].Span[..12].ToArray());
        Assert.Equal([0, -1, -2, 0, -3, -4, -5, -6, -8, -9, -10, -11], gathered.Values[0].Span[..12].ToArray());
    }

    private static NativeBuffer<float> Native(params float[] values)
    {
        var buffer = new NativeBuffer<float>(values.Length);
        values.CopyTo(buffer.Span);
        return buffer;
    }
}
