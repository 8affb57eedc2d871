using System.Globalization;
using VlmService.Engine.Generation;

namespace VlmService.Bench;

/// <summary>
/// Decode steps over KV caches on the C heap and in the decoder's own allocator (Generation:KvCacheOnDevice false and
/// true), in one process and in turn: each step of one batch is followed by the same step of the other, the order
/// swapping every step, so both see the same machine from moment to moment. Separate runs of each drift by more than
/// the difference looked for. A first round, not counted, lets both sessions' arenas reach their size.
/// </summary>
internal static class KvPathAb
{
    public static int Run(BenchOptions options)
    {
        string folder = options.Required("model-dir");
        int width = options.Int("width", 16);
        int maxTokens = options.Int("max-tokens", 64);
        int rounds = options.Int("rounds", 4);
        using var models = new GenerativeBenchModels();
        var host = models.Load(folder, cacheOnDevice: false);
        var device = models.Load(folder, cacheOnDevice: true);
        (ProcessedImage image, int[] ids) = GenerativeBenchModels.Prompt(host, options.Required("image"), split: false);
        float[] features = host.Sessions.EncodeImages([image], CancellationToken.None)[0];

        var ratios = new List<double>();
        for (int round = 0; round <= rounds; round++)
        {
            using var onHost = new DecodingBatch(host, ids, features, width);
            using var onDevice = new DecodingBatch(device, ids, features, width);
            double hostMs = 0;
            double deviceMs = 0;
            for (int step = 1; step < maxTokens; step++)
            {
                if (step % 2 == 0)
                {
                    hostMs += onHost.Step().TotalMilliseconds;
                    deviceMs += onDevice.Step().TotalMilliseconds;
                }
                else
                {
                    deviceMs += onDevice.Step().TotalMilliseconds;
                    hostMs += onHost.Step().TotalMilliseconds;
                }
                if (!onHost.Tokens.SequenceEqual(onDevice.Tokens))
                {
                    Console.Error.WriteLine($"kv-ab: the two caches chose different tokens at step {step}");
                    return 1;
                }
            }
            int steps = maxTokens - 1;
            if (round > 0)
            {
                ratios.Add(deviceMs / hostMs);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"kv-ab round={(round == 0 ? "warm-up" : round)} width={width} steps={steps} host={hostMs / steps:F1}ms/step device={deviceMs / steps:F1}ms/step device/host={deviceMs / hostMs:F3}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kv-ab rounds={rounds} device/host mean={ratios.Average():F3} median={ratios.Order().ElementAt(rounds / 2):F3} min={ratios.Min():F3} max={ratios.Max():F3}"));
        return 0;
    }
}
