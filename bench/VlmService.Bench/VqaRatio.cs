using VlmService.Engine.Generation;
using VlmService.Imaging;

namespace VlmService.Bench;

/// <summary>
/// Served /vqa tokens/s as a share of the raw limit's, with the machine's drift taken out: raw passes of the /vqa work
/// (<see cref="RawVqaWork"/> for --width requests, the vision encoder at the batch size a first sweep found cheapest)
/// and closed-loop /vqa windows of --clients (default the width) alternate, and each served window is set against the
/// mean of the raw passes just before and just after it. Raw runs ten minutes apart differed by ten percent on this
/// machine, as much as the gap looked for.
/// </summary>
internal static class VqaRatio
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        int width = options.Int("width", 16);
        int clients = options.Int("clients", width);
        int maxTokens = options.Int("max-tokens", 128);
        int rounds = options.Int("rounds", 4);
        var length = TimeSpan.FromSeconds(options.Double("seconds", 120));
        // All clients start at once and a request takes about half a minute: long enough for their requests to spread out.
        var warmup = TimeSpan.FromSeconds(options.Double("warmup-seconds", 40));

        using var models = new GenerativeBenchModels();
        GenerativeModel model = models.Load(options.Required("model-dir"), cacheOnDevice: null);
        (ProcessedImage image, int[] ids) = GenerativeBenchModels.Prompt(model, options.Required("image"), options.Text("split", "false") == "true");
        var work = new RawVqaWork(model, image, ids);
        (int visionBatch, _) = work.BestVisionBatch(RawBaseline.VisionBatches(width));

        var target = new Target(options, scenario: "vqa", maxTokens: maxTokens);
        using var http = new HttpClient { BaseAddress = new Uri(options.Required("url")), Timeout = TimeSpan.FromMinutes(10) };
        List<double>? ratios = await RatioRounds.RunAsync(rounds,
            label => Raw(work, visionBatch, width, maxTokens, label),
            () => LoadGenerator.ClosedLoopAsync(target, http, clients, length, warmup),
            tally => tally.TokensPerSecond, unit: "tokens/s");
        if (ratios is null)
        {
            return 1;
        }
        Console.WriteLine($"vqa-ratio width={width} clients={clients} tokens={maxTokens} vision-batch={visionBatch} rounds={rounds} {RatioRounds.Describe(ratios)}");
        return 0;
    }

    /// <summary>
    /// One raw pass, its vision encoder timed over as many images as the width (two runs at least): the raw work
    /// encodes that many, and a figure from two images alone differed by 20 % between two passes a minute apart.
    /// </summary>
    private static double Raw(RawVqaWork work, int visionBatch, int width, int maxTokens, string label)
    {
        int runs = Math.Max(2, (width + visionBatch - 1) / visionBatch);
        RawVqaFigures figures = work.Measure(work.VisionPerImage(visionBatch, runs), width, maxTokens);
        Console.WriteLine($"{label}: {figures}");
        return figures.TokensPerSecond;
    }
}
