using System.Globalization;

namespace VlmService.Bench;

/// <summary>Samples a process's resident set (VmRSS) from /proc every interval; keeps the peak and a time series.</summary>
public sealed class MemorySampler : IAsyncDisposable
{
    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<(double Seconds, long Bytes)> _samples = [];
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    public MemorySampler(int pid, TimeSpan interval)
    {
        _pid = pid;
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(interval);
            do
            {
                long rss = Read(_pid, "VmRSS:");
                lock (_samples)
                {
                    _samples.Add((_clock.Elapsed.TotalSeconds, rss));
                }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
        });
    }

    public long Peak
    {
        get
        {
            lock (_samples)
            {
                return _samples.Count == 0 ? 0 : _samples.Max(s => s.Bytes);
            }
        }
    }

    /// <summary>Mean RSS over [from, to) seconds since sampling started.</summary>
    public long Mean(double from, double to)
    {
        lock (_samples)
        {
            var window = _samples.Where(s => s.Seconds >= from && s.Seconds < to).ToList();
            return window.Count == 0 ? 0 : (long)window.Average(s => s.Bytes);
        }
    }

    public static long Read(int pid, string field)
    {
        string? line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
