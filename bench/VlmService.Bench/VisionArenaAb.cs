using System.Diagnostics;
using System.Globalization;
using VlmService.Engine.Generation;

namespace VlmService.Bench;

/// <summary>
/// One view through the vision encoder of two loads of one folder, in turn: one keeping its CPU arena after each run
/// (Generation:VisionArenaKeptViews 1) and one giving it back after every run (0, the default). Each run of one is
/// followed by a run of the other, the order swapping every pair, so both see the same machine from moment to moment.
/// Prints each side's time per run, the process's page faults per run and what each arena holds afterwards; both must
/// give the same features.
/// </summary>
internal static class VisionArenaAb
{
    public static int Run(BenchOptions options)
    {
        string folder = options.Required("model-dir");
        int pairs = options.Int("pairs", 8);
        int warmup = options.Int("warmup", 1);
        using var models = new GenerativeBenchModels();
        var kept = models.Load(folder, cacheOnDevice: false, visionArenaKeptViews: 1);
        var shrinking = models.Load(folder, cacheOnDevice: false, visionArenaKeptViews: 0);
        (ProcessedImage image, _) = GenerativeBenchModels.Prompt(kept, options.Required("image"), split: false);

        var keptSide = new Side(kept);
        var shrinkingSide = new Side(shrinking);
        for (int pair = 0; pair < warmup + pairs; pair++)
        {
            bool counted = pair >= warmup;
            (Side first, Side second) = pair % 2 == 0 ? (keptSide, shrinkingSide) : (shrinkingSide, keptSide);
            float[] a = first.Encode(image, counted);
            float[] b = second.Encode(image, counted);
            if (!a.SequenceEqual(b))
            {
                Console.Error.WriteLine($"vision-ab: the two encoders gave different features in pair {pair}");
                return 1;
            }
        }
        Console.WriteLine(keptSide.Report("kept (1 view)"));
        Console.WriteLine(shrinkingSide.Report("shrinking (0)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"vision-ab pairs={pairs} kept/shrinking={keptSide.Milliseconds.Sum() / shrinkingSide.Milliseconds.Sum():F3} (time per run; pairs: {string.Join(' ', keptSide.Milliseconds.Zip(shrinkingSide.Milliseconds, (k, s) => (k / s).ToString("F3", CultureInfo.InvariantCulture)))})"));
        return 0;
    }

    private sealed class Side(GenerativeModel model)
    {
        public List<double> Milliseconds { get; } = [];

        private readonly List<long> _faults = [];

        public float[] Encode(ProcessedImage image, bool counted)
        {
            long faultsBefore = MinorFaults();
            long start = Stopwatch.GetTimestamp();
            float[] features = model.Sessions.EncodeImages([image], CancellationToken.None)[0];
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (counted)
            {
                Milliseconds.Add(ms);
                _faults.Add(MinorFaults() - faultsBefore);
            }
            return features;
        }

        public string Report(string name) => string.Create(CultureInfo.InvariantCulture,
            $"vision-ab {name}: {Milliseconds.Average():F0} ms/run (median {Milliseconds.Order().ElementAt(Milliseconds.Count / 2):F0}), {_faults.Average():F0} page faults/run, arena holds {model.Sessions.Vision.CpuArenaStats().HeldBytes / (1 << 20)} MiB after its runs");
    }

    /// <summary>The process's minor page faults so far (/proc/self/stat, field 10): ONNX Runtime's pool threads fault too.</summary>
    private static long MinorFaults()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], CultureInfo.InvariantCulture);
    }
}
