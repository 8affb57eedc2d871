using System.Globalization;
using VlmService.Imaging;
using VlmService.Onnx;

namespace VlmService.Bench;

/// <summary>
/// Served /embed throughput as a share of raw ONNX Runtime's, with the machine's drift taken out: raw windows
/// (in-process, --lanes, one --batch) and closed-loop /embed windows against --url alternate, and each served window
/// is set against the mean of the raw windows just before and just after it. The machine's speed wanders by several
/// percent within minutes, so a served figure and a raw one taken a minute apart differ by more than the gap looked for.
/// </summary>
internal static class EmbedRatio
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        string folder = options.Required("model-dir");
        int lanes = options.Int("lanes", 2);
        int batch = options.Int("batch", 8);
        int clients = options.Int("clients", 32);
        int rounds = options.Int("rounds", 6);
        var length = TimeSpan.FromSeconds(options.Double("seconds", 12));
        var warmup = TimeSpan.FromSeconds(options.Double("warmup-seconds", 3));

        var processor = ClipFolder.ImageProcessor(folder);
        float[] pixels = processor.Process(ImageDecoder.Decode(File.ReadAllBytes(options.Required("image")), ImageLimits.Default));
        using InferenceSession session = RawBaseline.OpenForLanes(folder, lanes);
        KeyValuePair<string, ITensor>[] inputs = RawBaseline.BatchInput(pixels, batch, processor.OutputSize);

        var target = new Target(options);
        using var http = new HttpClient { BaseAddress = new Uri(options.Required("url")), Timeout = TimeSpan.FromMinutes(10) };
        // A fresh server is slower for its first seconds under load (tiered JIT, pools filling): one unmeasured window.
        await LoadGenerator.ClosedLoopAsync(target, http, clients, length, warmup);

        List<double>? ratios = await RatioRounds.RunAsync(rounds,
            label => Raw(session, inputs, lanes, warmup, length, label),
            () => LoadGenerator.ClosedLoopAsync(target, http, clients, length, warmup),
            tally => tally.PerSecond, unit: "req/s");
        if (ratios is null)
        {
            return 1;
        }
        Console.WriteLine($"embed-ratio lanes={lanes} batch={batch} clients={clients} rounds={rounds} {RatioRounds.Describe(ratios)}");
        return 0;
    }

    private static double Raw(InferenceSession session, KeyValuePair<string, ITensor>[] inputs, int lanes, TimeSpan warmup, TimeSpan length, string label)
    {
        (double imagesPerSecond, List<double> times) = RawBaseline.RunLanes(session, inputs, lanes, warmup, length);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label}: images/s={imagesPerSecond:F2} p50={times[times.Count / 2]:F0}ms"));
        return imagesPerSecond;
    }
}
