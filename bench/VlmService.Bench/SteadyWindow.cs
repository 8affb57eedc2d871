using System.Diagnostics;

namespace VlmService.Bench;

/// <summary>
/// The measured stretch of a longer closed loop. Workers start before it opens and keep starting work until it
/// closes; each piece of work counts by the share of its own duration that fell inside it. Counting whole runs over
/// the loop's wall time instead charges the figure with the ramp-up and, above all, the drain: after the last start
/// the final runs finish one by one while cores fall idle, up to a whole batch's time on one core, which is several
/// percent of a 6-s raw run at batch 8 on two lanes and half as much of a 12-s one.
/// </summary>
public readonly record struct SteadyWindow(long From, long To)
{
    /// <summary>A window opening <paramref name="warmup"/> from now and lasting <paramref name="length"/>.</summary>
    public static SteadyWindow After(TimeSpan warmup, TimeSpan length)
    {
        long from = Stopwatch.GetTimestamp() + Ticks(warmup);
        return new SteadyWindow(from, from + Ticks(length));
    }

    public double Seconds => (To - From) / (double)Stopwatch.Frequency;

    /// <summary>Whether a worker should start another piece of work: until the window closes.</summary>
    public bool IsOpen => Stopwatch.GetTimestamp() < To;

    public bool Contains(long timestamp) => timestamp >= From && timestamp < To;

    /// <summary>The share (0 to 1) of the work from <paramref name="started"/> to <paramref name="ended"/> that lies in the window.</summary>
    public double Share(long started, long ended)
    {
        if (ended <= started)
        {
            return Contains(ended) ? 1 : 0;
        }
        long inside = Math.Min(ended, To) - Math.Max(started, From);
        return inside <= 0 ? 0 : inside / (double)(ended - started);
    }

    /// <summary>
    /// The processor time this process spends while the window is open. The generator shares the server's cores, so
    /// what it takes is reported beside the server's throughput.
    /// </summary>
    public async Task<TimeSpan> OwnProcessorTimeAsync()
    {
        await Task.Delay(Until(From)).ConfigureAwait(false);
        TimeSpan opened = Environment.CpuUsage.TotalTime;
        await Task.Delay(Until(To)).ConfigureAwait(false);
        return Environment.CpuUsage.TotalTime - opened;
    }

    /// <summary>The time left until <paramref name="timestamp"/>; zero once it has passed (a window opened with no warm-up).</summary>
    private static TimeSpan Until(long timestamp)
    {
        TimeSpan left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
