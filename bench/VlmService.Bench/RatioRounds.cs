using System.Globalization;

namespace VlmService.Bench;

/// <summary>
/// Served throughput as a share of raw's, in alternation: a first raw pass, then rounds of one served window and one
/// raw pass, each served figure set against the mean of the raw passes just before and just after it, so that the
/// machine's drift between windows falls out of the ratio.
/// </summary>
internal static class RatioRounds
{
    /// <param name="raw">Runs one raw pass, printing it under the label given, and returns its rate.</param>
    /// <param name="served">Runs one served window.</param>
    /// <param name="servedRate">The served window's rate, in the raw pass's unit (<paramref name="unit"/>).</param>
    /// <returns>The ratios by round, or null when a served window had answers other than 200.</returns>
    public static async Task<List<double>?> RunAsync(int rounds, Func<string, double> raw, Func<Task<Tally>> served, Func<Tally, double> servedRate, string unit)
    {
        double rawBefore = raw("raw 0");
        var ratios = new List<double>();
        for (int round = 1; round <= rounds; round++)
        {
            Tally tally = await served();
            if (tally.Failures > 0)
            {
                Console.WriteLine(tally.Summary($"served {round}"));
                return null;
            }
            double rate = servedRate(tally);
            double rawAfter = raw($"raw {round}");
            double ratio = rate / ((rawBefore + rawAfter) / 2);
            ratios.Add(ratio);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: served {unit}={rate:F2} p50={tally.Percentile(0.5):F0}ms generator-cpu={tally.GeneratorCorePercent:F1}% ratio={ratio:F3}"));
            rawBefore = rawAfter;
        }
        return ratios;
    }

    /// <summary>How the ratios spread.</summary>
    public static string Describe(IReadOnlyList<double> ratios)
    {
        double mean = ratios.Average();
        double deviation = Math.Sqrt(ratios.Sum(r => (r - mean) * (r - mean)) / Math.Max(1, ratios.Count - 1));
        List<double> sorted = [.. ratios.Order()];
        return string.Create(CultureInfo.InvariantCulture,
            $"mean={mean:F3} median={sorted[sorted.Count / 2]:F3} min={sorted[0]:F3} max={sorted[^1]:F3} sd={deviation:F3} se={deviation / Math.Sqrt(ratios.Count):F3}");
    }
}
