using System.Diagnostics;
using System.Globalization;

namespace VlmService.Bench;

/// <summary>
/// Baseline (1 client) → open-loop burst at --overload-rate req/s for --burst seconds (requests are sent on schedule
/// whether or not answers came back) → recovery (1 client). Reports statuses and accepted latencies per phase and the
/// seconds after the burst until a 5-second window's p50 is back within 1.25× the baseline p50.
/// </summary>
internal static class Overload
{
    public static async Task<int> RunAsync(BenchOptions options, Target target, HttpClient http)
    {
        double rate = options.Double("overload-rate", 10);
        var burstLength = TimeSpan.FromSeconds(options.Double("burst", 30));
        Tally baseline = await LoadGenerator.ClosedLoopAsync(target, http, 1, TimeSpan.FromSeconds(options.Double("baseline", 15)));
        Console.WriteLine(baseline.Summary("baseline clients=1"));

        var burst = new Tally();
        var sent = new List<Task>();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; Stopwatch.GetElapsedTime(start) < burstLength; i++)
        {
            TimeSpan due = TimeSpan.FromSeconds(i / rate) - Stopwatch.GetElapsedTime(start);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due);
            }
            sent.Add(Task.Run(async () => burst.Add(await target.SendAsync(http))));
        }
        await Task.WhenAll(sent);
        burst.Stop();
        Console.WriteLine(burst.Summary(string.Create(CultureInfo.InvariantCulture, $"burst rate={rate}/s")));

        double recovered = double.NaN;
        var recovery = Stopwatch.StartNew();
        double limit = options.Double("recovery", 45);
        while (recovery.Elapsed.TotalSeconds < limit)
        {
            Tally window = await LoadGenerator.ClosedLoopAsync(target, http, 1, TimeSpan.FromSeconds(5));
            Console.WriteLine(window.Summary(string.Create(CultureInfo.InvariantCulture, $"recovery t={recovery.Elapsed.TotalSeconds:F0}s")));
            if (double.IsNaN(recovered) && window.Percentile(0.5) <= 1.25 * baseline.Percentile(0.5))
            {
                recovered = recovery.Elapsed.TotalSeconds;
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"back to baseline p50 within {recovered:F0} s after the burst (window end)"));
        return 0;
    }
}
