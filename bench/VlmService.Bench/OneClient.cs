using System.Globalization;

namespace VlmService.Bench;

/// <summary>
/// One client's latency against the same work in-process, measured in alternation: each pair is one /embed call and
/// one raw decode + preprocess + run at batch 1, in alternating order. On a shared machine the speed of both drifts by
/// several milliseconds over a few seconds, more than the difference looked for; runs of one then the other would
/// measure the drift, while pairs taken side by side see the same machine.
/// </summary>
internal static class OneClient
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        string folder = options.Required("model-dir");
        var processor = ClipFolder.ImageProcessor(folder);
        using var session = ClipFolder.OpenVision(folder, RawBaseline.Settings);
        var work = new SingleImageWork(session, processor, File.ReadAllBytes(options.Required("image")));
        var target = new Target(options);
        using var http = new HttpClient { BaseAddress = new Uri(options.Text("url", "http://127.0.0.1:8080")) };

        var rawDecodes = new List<double>();
        double Raw()
        {
            (double decode, double total) = work.Run();
            rawDecodes.Add(decode);
            return total;
        }

        async Task<double> ServedAsync()
        {
            Outcome outcome = await target.SendAsync(http);
            outcome.Response?.Dispose();
            return outcome.Status == 200 ? outcome.Milliseconds : throw new InvalidOperationException($"/embed answered {outcome.Status}.");
        }

        // Both sides' code, connections and caches at full speed before anything is counted.
        for (int i = 0; i < options.Int("warmup", 30); i++)
        {
            Raw();
            await ServedAsync();
        }
        rawDecodes.Clear();
        int pairs = options.Int("pairs", 200);
        var raw = new List<double>(pairs);
        var served = new List<double>(pairs);
        for (int i = 0; i < pairs; i++)
        {
            if (i % 2 == 0)
            {
                raw.Add(Raw());
                served.Add(await ServedAsync());
            }
            else
            {
                served.Add(await ServedAsync());
                raw.Add(Raw());
            }
        }
        if (options.Optional("dump") is { } dump)
        {
            File.WriteAllLines(dump, raw.Zip(served, (r, s) => string.Create(CultureInfo.InvariantCulture, $"{r:F2} {s:F2}")));
        }
        List<double> gaps = [.. served.Zip(raw, (s, r) => s - r).Order()];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"one-client pairs={pairs} raw p50={Median(raw):F1}ms (decode + preprocess {Median(rawDecodes):F2}ms) served p50={Median(served):F1}ms " +
            $"served−raw p50 of pairs={Median(gaps):F1}ms mean={gaps.Average():F1}ms p25={gaps[pairs / 4]:F1}ms p75={gaps[3 * pairs / 4]:F1}ms"));
        return 0;
    }

    private static double Median(IEnumerable<double> values)
    {
        List<double> sorted = [.. values.Order()];
        return sorted[sorted.Count / 2];
    }
}
