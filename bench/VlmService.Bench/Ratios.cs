using System.Globalization;

namespace VlmService.Bench;

/// <summary>How a set of served ÷ raw ratios spread.</summary>
internal static class Ratios
{
    public static string Describe(IReadOnlyList<double> ratios)
    {
        double mean = ratios.Average();
        double deviation = Math.Sqrt(ratios.Sum(r => (r - mean) * (r - mean)) / Math.Max(1, ratios.Count - 1));
        List<double> sorted = [.. ratios.Order()];
        return string.Create(CultureInfo.InvariantCulture,
            $"mean={mean:F3} median={sorted[sorted.Count / 2]:F3} min={sorted[0]:F3} max={sorted[^1]:F3} sd={deviation:F3} se={deviation / Math.Sqrt(ratios.Count):F3}");
    }
}
