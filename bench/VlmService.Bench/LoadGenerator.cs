using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;

namespace VlmService.Bench;

/// <summary>
/// Closed-loop HTTP load: N clients each send their next request as soon as the previous answer arrives, for a fixed
/// duration after a warm-up. Reports req/s, latency percentiles of successful answers, tokens/s (vqa), status counts
/// and, with --pid, the server's peak and mean RSS. With --overload-rate it runs baseline → open-loop burst →
/// recovery and reports when latency came back to the baseline.
/// </summary>
public static class LoadGenerator
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        var target = new Target(options);
        int clients = options.Int("clients", 1);
        double seconds = options.Double("duration", 30);
        using var http = new HttpClient { BaseAddress = new Uri(options.Text("url", "http://127.0.0.1:8080")), Timeout = TimeSpan.FromMinutes(10) };
        for (int i = 0; i < options.Int("warmup", 2); i++)
        {
            (await target.SendAsync(http)).Response.EnsureSuccessStatusCode();
        }
        // The generator shares the server's cores: run its own code to full speed (tiered JIT, connections, thread
        // pool) at the measured concurrency before the clock starts, or that work is charged to the server.
        if (options.Double("warmup-seconds", 3) is > 0 and double warmupSeconds)
        {
            await ClosedLoopAsync(target, http, clients, TimeSpan.FromSeconds(warmupSeconds));
        }
        int? pid = options.Optional("pid") is { } p ? int.Parse(p, CultureInfo.InvariantCulture) : null;
        await using MemorySampler? memory = pid is { } id ? new MemorySampler(id, TimeSpan.FromMilliseconds(200)) : null;
        if (options.Optional("overload-rate") is not null)
        {
            return await Overload.RunAsync(options, target, http);
        }
        Tally tally = await ClosedLoopAsync(target, http, clients, TimeSpan.FromSeconds(seconds));
        Console.WriteLine(tally.Summary($"{target.Scenario} clients={clients}"));
        if (memory is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rss peak={memory.Peak / 1048576.0:F0}MiB first-10%={memory.Mean(0, seconds * 0.1) / 1048576.0:F0}MiB last-10%={memory.Mean(seconds * 0.9, seconds) / 1048576.0:F0}MiB " +
                $"hwm={MemorySampler.Read(pid!.Value, "VmHWM:") / 1048576.0:F0}MiB"));
            // The profile by tenths shows growth apart from the ramp-up while the first requests fill the batches.
            Console.WriteLine("rss by tenth (MiB): " + string.Join(' ', Enumerable.Range(0, 10)
                .Select(t => (memory.Mean(seconds * t / 10, seconds * (t + 1) / 10) / 1048576).ToString(CultureInfo.InvariantCulture))));
        }
        return tally.Failures == 0 ? 0 : 1;
    }

    public static async Task<Tally> ClosedLoopAsync(Target target, HttpClient http, int clients, TimeSpan duration)
    {
        var tally = new Tally();
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                tally.Add(await target.SendAsync(http));
            }
        }));
        tally.Stop();
        return tally;
    }
}

/// <summary>
/// One scenario's request, serialized once and sent many times: the client shares the server's cores, so it must
/// not re-encode a large base64 body per request.
/// </summary>
public sealed class Target
{
    /// <summary>
    /// As most clients write JSON (JSON.stringify, Python's json): base64's '+' as it is, where .NET's default encoder
    /// writes six bytes for it.
    /// </summary>
    private static readonly System.Text.Json.JsonSerializerOptions AsClientsWriteIt = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly byte[] _body;
    private readonly string _path;
    private readonly int? _deadlineMs;

    public Target(BenchOptions options)
    {
        Scenario = options.Text("scenario", "embed-image");
        string image = options.Optional("image") is { } file ? Convert.ToBase64String(File.ReadAllBytes(file)) : string.Empty;
        string? model = options.Optional("model");
        object body = Scenario switch
        {
            "embed-image" => new { model, inputs = new[] { new { image } } },
            "embed-text" => new { model, inputs = new[] { new { text = "a photo of a dog running on the beach" } } },
            "classify" => new { model, image, labels = new[] { "cat", "dog", "car", "tree", "person" } },
            "vqa" => new
            {
                model,
                image,
                question = "What is in this picture?",
                max_tokens = options.Int("max-tokens", 16),
                ignore_eos = true,
                do_image_splitting = options.Text("split", "false") == "true",
            },
            _ => throw new ArgumentException($"Unknown scenario '{Scenario}'."),
        };
        _body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(body, AsClientsWriteIt);
        _path = Scenario switch { "classify" => "/classify", "vqa" => "/vqa", _ => "/embed" };
        _deadlineMs = options.Optional("deadline-ms") is { } d ? int.Parse(d, CultureInfo.InvariantCulture) : null;
    }

    public string Scenario { get; }

    public async Task<Outcome> SendAsync(HttpClient http)
    {
        var content = new ByteArrayContent(_body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, _path) { Content = content };
        if (_deadlineMs is { } deadline)
        {
            request.Headers.Add("X-Request-Timeout-Ms", deadline.ToString(CultureInfo.InvariantCulture));
        }
        long start = Stopwatch.GetTimestamp();
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request);
        }
        catch (HttpRequestException)
        {
            return new Outcome(0, Stopwatch.GetElapsedTime(start).TotalMilliseconds, 0, null!);
        }
        string text = await response.Content.ReadAsStringAsync();
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        int tokens = Scenario == "vqa" && response.IsSuccessStatusCode ? JsonNode.Parse(text)?["usage"]?["completion_tokens"]?.GetValue<int>() ?? 0 : 0;
        return new Outcome((int)response.StatusCode, ms, tokens, response);
    }
}

public sealed record Outcome(int Status, double Milliseconds, int Tokens, HttpResponseMessage Response);

/// <summary>Outcomes of one phase: status counts, latencies of 200s, tokens.</summary>
public sealed class Tally
{
    private readonly Lock _gate = new();
    private readonly List<double> _latencies = [];
    private readonly SortedDictionary<int, int> _statuses = [];
    private readonly Stopwatch _wall = Stopwatch.StartNew();
    private long _tokens;

    public int Failures { get; private set; }

    public void Add(Outcome outcome)
    {
        lock (_gate)
        {
            _statuses[outcome.Status] = _statuses.GetValueOrDefault(outcome.Status) + 1;
            if (outcome.Status == 200)
            {
                _latencies.Add(outcome.Milliseconds);
                _tokens += outcome.Tokens;
            }
            else
            {
                Failures++;
            }
        }
        outcome.Response?.Dispose();
    }

    public void Stop() => _wall.Stop();

    public double Percentile(double q)
    {
        lock (_gate)
        {
            if (_latencies.Count == 0)
            {
                return double.NaN;
            }
            List<double> sorted = [.. _latencies.Order()];
            return sorted[Math.Min(sorted.Count - 1, Math.Max(0, (int)Math.Ceiling(q * sorted.Count) - 1))];
        }
    }

    public string Summary(string label)
    {
        lock (_gate)
        {
            double seconds = _wall.Elapsed.TotalSeconds;
            string statuses = string.Join(' ', _statuses.Select(s => $"{s.Key}:{s.Value}"));
            return string.Create(CultureInfo.InvariantCulture,
                $"{label} seconds={seconds:F1} ok={_latencies.Count} req/s={_latencies.Count / seconds:F2} tokens/s={_tokens / seconds:F1} " +
                $"p50={Percentile(0.5):F1}ms p95={Percentile(0.95):F1}ms p99={Percentile(0.99):F1}ms statuses=[{statuses}]");
        }
    }
}
