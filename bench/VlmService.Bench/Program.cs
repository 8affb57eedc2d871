using System.Globalization;

namespace VlmService.Bench;

/// <summary>
/// Benchmarks run by hand (never in CI); see bench/README.md.
///   load        closed-loop HTTP load against VlmService or the peer server
///   raw-embed   CLIP or SigLIP vision_model in-process at batch sizes 1…32, no HTTP
///   embed-ratio served /embed throughput ÷ raw's, in alternating windows, each against the raw windows around it
///   one-client  /embed calls and the same work in-process, one at a time, in alternating pairs
///   raw-vqa     vision encoder at its best batch size + prefill + decoding batched N wide, in-process, no HTTP
///   vqa-ratio   served /vqa tokens/s ÷ raw-vqa's, in alternating runs, each against the raw runs around it
///   kv-ab       decode steps over host and device KV caches in turn, in one process
///   vision-ab   one view through a vision encoder that keeps its arena and one that gives it back, in turn
///   preprocess  JPEG → CLIP pixel_values with the service's decoder and processor, in parallel
///   gpu-check   the CUDA path against the CPU on the same folders: registration, outputs, KV caches in GPU memory, speed
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Any(a => a is "--help" or "-h"))
        {
            return Usage(exitCode: 0);
        }
        var options = new BenchOptions(args.Skip(1).ToArray());
        // The C heap as the service sets it, so in-process figures (preprocessing above all) are the service's;
        // --c-heap glibc keeps glibc's own defaults (or GLIBC_TUNABLES) to compare.
        if (options.Text("c-heap", "service") == "service")
        {
            Native.NativeHeap.ReturnLargeBlocksPromptly();
        }
        RawBaseline.UseProvider(options);
        return args.FirstOrDefault() switch
        {
            "load" => await LoadGenerator.RunAsync(options),
            "raw-embed" => RawBaseline.Embed(options),
            "embed-ratio" => await EmbedRatio.RunAsync(options),
            "one-client" => await OneClient.RunAsync(options),
            "raw-vqa" => RawBaseline.Vqa(options),
            "vqa-ratio" => await VqaRatio.RunAsync(options),
            "kv-ab" => KvPathAb.Run(options),
            "vision-ab" => VisionArenaAb.Run(options),
            "preprocess" => PreprocessBench.Run(options),
            "gpu-check" => GpuCheck.Run(options),
            _ => Usage(exitCode: 2),
        };
    }

    private static int Usage(int exitCode)
    {
        Console.Error.WriteLine("usage: VlmService.Bench load|raw-embed|embed-ratio|one-client|raw-vqa|vqa-ratio|kv-ab|vision-ab|preprocess|gpu-check --option value …  (see bench/README.md)");
        return exitCode;
    }
}

/// <summary>--name value pairs.</summary>
public sealed class BenchOptions(string[] args)
{
    private readonly Dictionary<string, string> _values = Enumerable.Range(0, args.Length / 2)
        .ToDictionary(i => args[2 * i].TrimStart('-'), i => args[(2 * i) + 1], StringComparer.Ordinal);

    public string Text(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    public string? Optional(string name) => _values.GetValueOrDefault(name);

    public string Required(string name) => _values.TryGetValue(name, out string? value) ? value : throw new ArgumentException($"--{name} is required.");

    public int Int(string name, int fallback) => _values.TryGetValue(name, out string? value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) => _values.TryGetValue(name, out string? value) ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
