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
        var warmup = TimeSpan.FromSeconds(options.Double("warmup-seconds", 3));
        int? pid = options.Optional("pid") is { } p ? int.Parse(p, CultureInfo.InvariantCulture) : null;
        if (options.Optional("overload-rate") is not null)
        {
            if (warmup > TimeSpan.Zero)
            {
                await ClosedLoopAsync(target, http, clients, warmup);
            }
            return await Overload.RunAsync(options, target, http);
        }
        // Sampled from the start of the warm-up, which then flows into the measured window without a pause.
        await using MemorySampler? memory = pid is { } id ? new MemorySampler(id, TimeSpan.FromMilliseconds(200)) : null;
        Tally tally = await ClosedLoopAsync(target, http, clients, TimeSpan.FromSeconds(seconds), warmup);
        Console.WriteLine(tally.Summary($"{target.Scenario} clients={clients}"));
        if (memory is not null)
        {
            double from = warmup.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rss peak={memory.Peak / 1048576.0:F0}MiB first-10%={memory.Mean(from, from + (seconds * 0.1)) / 1048576.0:F0}MiB " +
                $"last-10%={memory.Mean(from + (seconds * 0.9), from + seconds) / 1048576.0:F0}MiB hwm={MemorySampler.Read(pid!.Value, "VmHWM:") / 1048576.0:F0}MiB"));
            // The profile by tenths shows growth apart from the ramp-up while the first requests fill the batches.
            Console.WriteLine("rss by tenth (MiB): " + string.Join(' ', Enumerable.Range(0, 10)
                .Select(t => (memory.Mean(from + (seconds * t / 10), from + (seconds * (t + 1) / 10)) / 1048576).ToString(CultureInfo.InvariantCulture))));
        }
        return tally.Failures == 0 ? 0 : 1;
    }

    /// <summary>
    /// <paramref name="clients"/> closed-loop clients from now until <paramref name="warmup"/> + <paramref name="duration"/>;
    /// the tally covers the last <paramref name="duration"/> (see <see cref="SteadyWindow"/>).
    /// </summary>
    public static async Task<Tally> ClosedLoopAsync(Target target, HttpClient http, int clients, TimeSpan duration, TimeSpan warmup = default)
    {
        var window = SteadyWindow.After(warmup, duration);
        var tally = new Tally(window);
        Task<TimeSpan> ownProcessorTime = window.OwnProcessorTimeAsync();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (window.IsOpen)
            {
                tally.Add(await target.SendAsync(http));
            }
        }));
        tally.Stop();
        tally.GeneratorProcessorTime = await ownProcessorTime;
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

    /// <param name="scenario">Overrides --scenario.</param>
    /// <param name="maxTokens">Overrides --max-tokens.</param>
    public Target(BenchOptions options, string? scenario = null, int? maxTokens = null)
    {
        Scenario = scenario ?? options.Text("scenario", "embed-image");
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
                max_tokens = maxTokens ?? options.Int("max-tokens", 16),
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
            return new Outcome(0, start, Stopwatch.GetTimestamp(), 0, null!);
        }
        string text = await response.Content.ReadAsStringAsync();
        long ended = Stopwatch.GetTimestamp();
        int tokens = Scenario == "vqa" && response.IsSuccessStatusCode ? JsonNode.Parse(text)?["usage"]?["completion_tokens"]?.GetValue<int>() ?? 0 : 0;
        return new Outcome((int)response.StatusCode, start, ended, tokens, response);
    }
}

/// <summary>One answer: its status, when the request was sent and its answer read (Stopwatch timestamps), tokens generated.</summary>
public sealed record Outcome(int Status, long Started, long Ended, int Tokens, HttpResponseMessage Response)
{
    public double Milliseconds => Stopwatch.GetElapsedTime(Started, Ended).TotalMilliseconds;
}

/// <summary>
/// Outcomes of one phase: status counts, latencies of 200s, tokens. With a window, only answers that arrived inside
/// it are counted, and throughput is each successful request's share inside it (see <see cref="SteadyWindow"/>);
/// without one (an open-loop burst), every answer counts over the phase's wall time.
/// </summary>
public sealed class Tally(SteadyWindow? window = null)
{
    private readonly Lock _gate = new();
    private readonly List<double> _latencies = [];
    private readonly SortedDictionary<int, int> _statuses = [];
    private readonly Stopwatch _wall = Stopwatch.StartNew();
    private double _served;
    private double _tokens;

    public int Failures { get; private set; }

    /// <summary>The generator's own processor time inside the window, where it has one.</summary>
    public TimeSpan? GeneratorProcessorTime { get; set; }

    public void Add(Outcome outcome)
    {
        lock (_gate)
        {
            double share = window is { } open ? open.Share(outcome.Started, outcome.Ended) : 1;
            if (window is null || window.Value.Contains(outcome.Ended))
            {
                _statuses[outcome.Status] = _statuses.GetValueOrDefault(outcome.Status) + 1;
                if (outcome.Status == 200)
                {
                    _latencies.Add(outcome.Milliseconds);
                }
                else
                {
                    Failures++;
                }
            }
            if (outcome.Status == 200)
            {
                _served += share;
                _tokens += share * outcome.Tokens;
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

    /// <summary>Successful requests per second: over the window where there is one, else over the wall time.</summary>
    public double PerSecond
    {
        get
        {
            lock (_gate)
            {
                return _served / Seconds;
            }
        }
    }

    /// <summary>Generated tokens per second, counted as <see cref="PerSecond"/> counts requests.</summary>
    public double TokensPerSecond
    {
        get
        {
            lock (_gate)
            {
                return _tokens / Seconds;
            }
        }
    }

    /// <summary>The generator's processor time in the window as a percentage of one core, where it was measured.</summary>
    public double? GeneratorCorePercent => GeneratorProcessorTime is { } cpu ? cpu.TotalSeconds / Seconds * 100 : null;

    private double Seconds => window?.Seconds ?? _wall.Elapsed.TotalSeconds;

    public string Summary(string label)
    {
        lock (_gate)
        {
            double seconds = Seconds;
            string statuses = string.Join(' ', _statuses.Select(s => $"{s.Key}:{s.Value}"));
            string generator = GeneratorCorePercent is { } percent
                ? string.Create(CultureInfo.InvariantCulture, $" generator-cpu={percent:F1}%-of-a-core")
                : string.Empty;
            return string.Create(CultureInfo.InvariantCulture,
                $"{label} seconds={seconds:F1} ok={_latencies.Count} req/s={_served / seconds:F2} tokens/s={_tokens / seconds:F1} " +
                $"p50={Percentile(0.5):F1}ms p95={Percentile(0.95):F1}ms p99={Percentile(0.99):F1}ms statuses=[{statuses}]{generator}");
        }
    }
}
