using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;

namespace VlmService.Bench;

/// <summary>
/// Closed-loop load: N clients each send the next request as soon as the previous answer arrives.
/// Warm-up requests are not measured. Prints req/s and latency percentiles.
///   dotnet run --project bench/VlmService.Bench -c Release -- --url http://127.0.0.1:8080 --scenario embed-image
///     --image photo.jpg --model clip-base --clients 1 --requests 200 --warmup 20
/// Scenarios: embed-image, embed-text, classify, vqa (--max-tokens N, --split true|false; generates exactly N tokens).
/// </summary>
public static class LoadGenerator
{
    public static async Task<int> Main(string[] args)
    {
        var options = Enumerable.Range(0, args.Length / 2).ToDictionary(i => args[2 * i].TrimStart('-'), i => args[(2 * i) + 1], StringComparer.Ordinal);
        var url = new Uri(options.GetValueOrDefault("url", "http://127.0.0.1:8080"));
        string scenario = options.GetValueOrDefault("scenario", "embed-image");
        string? model = options.GetValueOrDefault("model");
        int clients = int.Parse(options.GetValueOrDefault("clients", "1"), CultureInfo.InvariantCulture);
        int requests = int.Parse(options.GetValueOrDefault("requests", "100"), CultureInfo.InvariantCulture);
        int warmup = int.Parse(options.GetValueOrDefault("warmup", "10"), CultureInfo.InvariantCulture);
        string image = options.TryGetValue("image", out string? path) ? Convert.ToBase64String(File.ReadAllBytes(path)) : string.Empty;

        object body = scenario switch
        {
            "embed-image" => new { model, inputs = new[] { new { image } } },
            "embed-text" => new { model, inputs = new[] { new { text = "a photo of a dog running on the beach" } } },
            "classify" => new { model, image, labels = new[] { "cat", "dog", "car", "tree", "person" } },
            "vqa" => new
            {
                model,
                image,
                question = "What is in this picture?",
                max_tokens = int.Parse(options.GetValueOrDefault("max-tokens", "16"), CultureInfo.InvariantCulture),
                ignore_eos = true,
                do_image_splitting = options.GetValueOrDefault("split", "false") == "true",
            },
            _ => throw new ArgumentException($"Unknown scenario '{scenario}'."),
        };
        string path2 = scenario switch
        {
            "classify" => "/classify",
            "vqa" => "/vqa",
            _ => "/embed",
        };
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(5) };

        for (int i = 0; i < warmup; i++)
        {
            (await http.PostAsJsonAsync(path2, body)).EnsureSuccessStatusCode();
        }
        var latencies = new List<double>(requests);
        var gate = new Lock();
        int remaining = requests;
        int failures = 0;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                long start = Stopwatch.GetTimestamp();
                using HttpResponseMessage response = await http.PostAsJsonAsync(path2, body);
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref failures);
                }
                lock (gate)
                {
                    latencies.Add(ms);
                }
            }
        }));
        wall.Stop();
        latencies.Sort();
        double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{scenario} model={model ?? "(default)"} clients={clients} requests={requests} failures={failures} " +
            $"req/s={requests / wall.Elapsed.TotalSeconds:F2} p50={P(0.50):F1}ms p95={P(0.95):F1}ms p99={P(0.99):F1}ms"));
        return failures == 0 ? 0 : 1;
    }
}
