using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VlmService.Engine.Diagnostics;
using VlmService.Engine.Memory;
using VlmService.Native;

namespace VlmService.Tests.Engine;

/// <summary>
/// Runs alone: a service started by another test trims the process's C heap on its own timer, which would release
/// these tests' holes before they look.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeHeapCollection
{
    public const string Name = "C heap";
}

[Collection(NativeHeapCollection.Name)]
public sealed class NativeHeapTests
{
    [Fact]
    public void Trim_hands_back_the_free_pages_between_live_blocks_and_leaves_the_live_ones_intact()
    {
        using var heap = FragmentedHeap.Make();
        Assert.True(NativeHeap.FreeBytes() >= heap.FreedBytes * 8 / 10, "the freed blocks should be counted as free in the heap");
        Assert.True(heap.FreedResidentFraction() > 0.9, "free blocks below the mmap threshold stay resident until trimmed");

        Assert.True(NativeHeap.Trim());

        Assert.True(heap.FreedResidentFraction() < 0.5);
        heap.AssertLiveBlocksIntact();
    }

    [Fact]
    public async Task The_trimmer_trims_on_its_interval_and_counts_each_trim()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        var metrics = new EngineMetrics(meterFactory);
        long trims = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meterFactory && instrument.Name == "vlm_native_heap_trims_total")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref trims, value));
        listener.Start();
        var time = new ManualTimeProvider();
        using var trimmer = new NativeHeapTrimmer(Options.Create(new MemoryOptions { TrimInterval = TimeSpan.FromSeconds(2) }), time, metrics,
            NullLogger<NativeHeapTrimmer>.Instance);
        using var heap = FragmentedHeap.Make();

        await trimmer.StartAsync(CancellationToken.None);
        await WaitUntil(() => time.PendingTimers == 1);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, Interlocked.Read(ref trims));
        time.Advance(TimeSpan.FromSeconds(1));
        await WaitUntil(() => Interlocked.Read(ref trims) == 1);

        Assert.True(heap.FreedResidentFraction() < 0.5);
        heap.AssertLiveBlocksIntact();
        await trimmer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_zero_interval_turns_the_trimmer_off()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var time = new ManualTimeProvider();
        using var trimmer = new NativeHeapTrimmer(Options.Create(new MemoryOptions { TrimInterval = TimeSpan.Zero }), time,
            new EngineMetrics(services.GetRequiredService<IMeterFactory>()), NullLogger<NativeHeapTrimmer>.Instance);

        await trimmer.StartAsync(CancellationToken.None);

        await trimmer.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, time.PendingTimers);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    /// <summary>
    /// 400 blocks of 256 KB (under the service's 1 MB mmap threshold, so they come from a heap), every page written,
    /// then nine in ten freed: the live tenth keeps the heap from shrinking at its top, so the holes stay resident.
    /// </summary>
    private sealed class FragmentedHeap : IDisposable
    {
        private const int BlockBytes = 256 * 1024;
        private const int Blocks = 400;
        private readonly List<nint> _live = [];
        private readonly List<nint> _freed = [];

        public long FreedBytes => (long)_freed.Count * BlockBytes;

        public static FragmentedHeap Make()
        {
            Assert.True(NativeHeap.ReturnLargeBlocksPromptly());
            var heap = new FragmentedHeap();
            var blocks = new nint[Blocks];
            for (int i = 0; i < Blocks; i++)
            {
                blocks[i] = Marshal.AllocHGlobal(BlockBytes);
                Marshal.Copy(Pattern(i), 0, blocks[i], BlockBytes);
            }
            for (int i = 0; i < Blocks; i++)
            {
                if (i % 10 == 9)
                {
                    heap._live.Add(blocks[i]);
                }
                else
                {
                    Marshal.FreeHGlobal(blocks[i]);
                    heap._freed.Add(blocks[i]);
                }
            }
            return heap;
        }

        /// <summary>Resident share of the whole pages inside the freed blocks (their first page holds heap bookkeeping).</summary>
        public double FreedResidentFraction()
        {
            int page = Environment.SystemPageSize;
            long resident = 0;
            long pages = 0;
            foreach (nint block in _freed)
            {
                long start = ((block + (2L * page) - 1) / page) * page;
                long end = ((block + BlockBytes) / page) * page;
                var vector = new byte[(end - start) / page];
                Assert.Equal(0, MinCore(checked((nint)start), (nuint)(end - start), vector));
                resident += vector.Count(v => (v & 1) != 0);
                pages += vector.Length;
            }
            return (double)resident / pages;
        }

        public void AssertLiveBlocksIntact()
        {
            var read = new byte[BlockBytes];
            for (int i = 0; i < _live.Count; i++)
            {
                Marshal.Copy(_live[i], read, 0, BlockBytes);
                Assert.Equal(Pattern((i * 10) + 9), read);
            }
        }

        public void Dispose() => _live.ForEach(Marshal.FreeHGlobal);

        private static byte[] Pattern(int block)
        {
            var bytes = new byte[BlockBytes];
            for (int i = 0; i < bytes.Length; i++)
            {
                bytes[i] = (byte)(block + (i / 4096));
            }
            return bytes;
        }

        [DllImport("libc", EntryPoint = "mincore", SetLastError = true)]
        private static extern int MinCore(nint address, nuint length, byte[] vector);
    }
}
