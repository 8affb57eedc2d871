using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VlmService.Engine.Diagnostics;
using VlmService.Native;

namespace VlmService.Engine.Memory;

/// <summary>
/// Hands the C heap's free memory back to the OS every <see cref="MemoryOptions.TrimInterval"/>. Blocks under glibc's
/// mmap threshold (1 MB here: libvips' strips and tiles, the KV-cache buffers of narrow batches) are freed into
/// heaps that glibc only shrinks from the top, so one live block high up keeps every free page beneath it resident.
/// Under generation load those heaps held 330 MB free against 150 MB in use; glibc's trim releases the free pages
/// wherever they lie, and the pages come back (zeroed, on first touch) only if a later block needs them.
/// </summary>
internal sealed class NativeHeapTrimmer(IOptions<MemoryOptions> options, TimeProvider time, EngineMetrics metrics, ILogger<NativeHeapTrimmer> logger)
    : BackgroundService
{
    /// <summary>
    /// Below this much free, a trim is not worth its cost. Under steady load the heaps' free memory is working memory:
    /// a CLIP model embedding images keeps 15–30 MB free that the next batch takes again, so trimming it every interval
    /// only paid for a system call per free block, the other core's TLB flushed for each, and the pages faulted back in
    /// zeroed (most of the kernel's share of a profile under 32 clients). Generation under load keeps 160–230 MB free:
    /// that is what a trim is for.
    /// </summary>
    public const long WorthTrimmingBytes = 64L * 1024 * 1024;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        TimeSpan interval = options.Value.TrimInterval;
        if (interval == TimeSpan.Zero || NativeHeap.FreeBytes() < 0)
        {
            return;
        }
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(interval, time, stoppingToken);
                long free = NativeHeap.FreeBytes();
                if (free >= WorthTrimmingBytes && NativeHeap.Trim())
                {
                    metrics.NativeHeapTrimmed();
                    EngineLog.NativeHeapTrimmed(logger, free / (1024.0 * 1024.0));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
