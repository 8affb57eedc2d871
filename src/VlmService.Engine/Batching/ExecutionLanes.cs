using System.Threading.Channels;

namespace VlmService.Engine.Batching;

/// <summary>
/// How many batches may run at once across the stages that share these lanes, each on its own share of the cores.
/// On a CPU, two batches on one thread each get through more images than one batch on two threads: a run split over
/// threads meets at a barrier after every operator, and a thread preempted there (by image decoding, say) leaves the
/// others waiting. The lanes are shared, so the stages holding them never run more batches than there are lanes.
/// </summary>
public sealed class ExecutionLanes
{
    /// <summary>One token per free lane (a channel rather than a semaphore: nothing to dispose while lane threads still hand theirs back).</summary>
    private readonly Channel<bool> _free;

    public ExecutionLanes(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
        _free = Channel.CreateBounded<bool>(count);
        for (int i = 0; i < count; i++)
        {
            _free.Writer.TryWrite(true);
        }
    }

    public int Count { get; }

    /// <summary>Intra-op threads for each lane's runs, so that all lanes busy at once use <paramref name="cores"/> threads.</summary>
    public int ThreadsPerRun(int cores) => Math.Max(1, cores / Count);

    /// <summary>Waits for a free lane; the caller hands it back with <see cref="Release"/> once its batch has run.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken) => await _free.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);

    public void Release()
    {
        if (!_free.Writer.TryWrite(true))
        {
            throw new InvalidOperationException("A lane was handed back that was never taken.");
        }
    }
}
