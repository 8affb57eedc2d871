using System.Diagnostics;
using System.Globalization;
using VlmService.Engine.Batching;
using VlmService.Engine.Generation;
using VlmService.Imaging;
using VlmService.Onnx;

namespace VlmService.Bench;

/// <summary>
/// The hardware limit the service is compared with: the same ONNX sessions run in-process, no HTTP, no queue,
/// preprocessing done once up front.
/// </summary>
internal static class RawBaseline
{
    /// <summary>How the in-process modes open sessions: on the CPU unless --provider cuda (see <see cref="UseProvider"/>).</summary>
    internal static SessionSettings Settings { get; private set; } = new() { Provider = ExecutionProviderKind.Cpu };

    /// <summary>--provider cpu|cuda and --cuda-device N: where every in-process mode runs its sessions.</summary>
    internal static void UseProvider(BenchOptions options) => Settings = new SessionSettings
    {
        Provider = options.Text("provider", "cpu") switch
        {
            "cpu" => ExecutionProviderKind.Cpu,
            "cuda" => ExecutionProviderKind.Cuda,
            string other => throw new ArgumentException($"--provider takes cpu or cuda, not '{other}'."),
        },
        CudaDeviceId = options.Int("cuda-device", 0),
    };

    /// <summary>
    /// CLIP or SigLIP vision_model: images/s at each batch size, and the single-image latency. With --lanes N, N
    /// threads run batches on the session at once, each run on cores ÷ N threads (the service's Batching:EncoderLanes).
    /// </summary>
    public static int Embed(BenchOptions options)
    {
        string folder = options.Required("model-dir");
        var processor = ClipFolder.ImageProcessor(folder);
        byte[] jpeg = File.ReadAllBytes(options.Required("image"));
        float[] pixels = processor.Process(ImageDecoder.Decode(jpeg, ImageLimits.Default));
        int lanes = options.Int("lanes", 1);
        using InferenceSession session = OpenForLanes(folder, lanes);
        double seconds = options.Double("seconds", 8);
        // Each batch size's lanes run this long before its window opens, and on until it closes (see SteadyWindow).
        var warmup = TimeSpan.FromSeconds(options.Double("warmup-seconds", 1));
        SingleImageEndToEnd(session, processor, jpeg, options.Double("single-seconds", seconds));
        foreach (int batch in options.Text("batches", "1,2,4,8,16,32").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)))
        {
            (double imagesPerSecond, List<double> times) = RunLanes(session, BatchInput(pixels, batch, processor.OutputSize), lanes, warmup, TimeSpan.FromSeconds(seconds));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"raw-embed lanes={lanes} batch={batch} runs={times.Count} p50={times[times.Count / 2]:F1}ms images/s={imagesPerSecond:F2}"));
        }
        return 0;
    }

    /// <summary>The vision session as the service opens it for <paramref name="lanes"/> lanes: each run on cores ÷ lanes threads.</summary>
    internal static InferenceSession OpenForLanes(string folder, int lanes) => ClipFolder.OpenVision(folder,
        lanes > 1 ? Settings with { IntraOpThreads = new ExecutionLanes(lanes).ThreadsPerRun(Environment.ProcessorCount) } : Settings);

    /// <summary>A pixel_values batch of <paramref name="batch"/> copies of one image's pixels.</summary>
    internal static KeyValuePair<string, ITensor>[] BatchInput(float[] pixels, int batch, (int Height, int Width) size)
    {
        var input = new float[batch * pixels.Length];
        for (int b = 0; b < batch; b++)
        {
            pixels.CopyTo(input, b * pixels.Length);
        }
        return [new("pixel_values", new Tensor<float>(input, batch, 3, size.Height, size.Width))];
    }

    /// <summary>
    /// <paramref name="lanes"/> threads running <paramref name="inputs"/> back to back through a steady window that
    /// opens after <paramref name="warmup"/>: images per second inside it, and the times of the runs that ended in it
    /// (all runs where one outlasts the window).
    /// </summary>
    internal static (double ImagesPerSecond, List<double> RunTimes) RunLanes(InferenceSession session, KeyValuePair<string, ITensor>[] inputs,
        int lanes, TimeSpan warmup, TimeSpan length)
    {
        int batch = (int)inputs[0].Value.Shape[0];
        string output = ClipFolder.VisionOutput(session);
        session.Run(inputs, [output]);
        var runs = new List<(long Started, long Ended)>();
        var window = SteadyWindow.After(warmup, length);
        Parallel.For(0, lanes, new ParallelOptions { MaxDegreeOfParallelism = lanes }, _ =>
        {
            var mine = new List<(long, long)>();
            while (window.IsOpen)
            {
                long start = Stopwatch.GetTimestamp();
                session.Run(inputs, [output]);
                mine.Add((start, Stopwatch.GetTimestamp()));
            }
            lock (runs)
            {
                runs.AddRange(mine);
            }
        });
        double images = batch * runs.Sum(r => window.Share(r.Started, r.Ended));
        List<double> times = [.. (runs.Any(r => window.Contains(r.Ended)) ? runs.Where(r => window.Contains(r.Ended)) : runs)
            .Select(r => Stopwatch.GetElapsedTime(r.Started, r.Ended).TotalMilliseconds).Order()];
        return (images / window.Seconds, times);
    }

    /// <summary>The same work as one /embed call without HTTP or queue: decode, preprocess, run at batch 1.</summary>
    private static void SingleImageEndToEnd(InferenceSession session, DualEncoderImageProcessor processor, byte[] jpeg, double seconds)
    {
        var work = new SingleImageWork(session, processor, jpeg);
        var times = new List<double>();
        var wall = Stopwatch.StartNew();
        while (wall.Elapsed.TotalSeconds < seconds || times.Count < 3)
        {
            times.Add(work.Run().TotalMs);
        }
        times.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw-embed decode+preprocess+run batch=1 runs={times.Count} p50={times[times.Count / 2]:F1}ms"));
    }

    /// <summary>--kv-on-device true|false as Generation:KvCacheOnDevice; unset lets the provider decide.</summary>
    private static bool? KvCacheOnDevice(BenchOptions options) => options.Text("kv-on-device", string.Empty) switch
    {
        "true" => true,
        "false" => false,
        "" => null,
        string other => throw new ArgumentException($"--kv-on-device takes true or false, not '{other}'."),
    };

    /// <summary>
    /// /vqa's work for --width requests (<see cref="RawVqaWork"/>) with the vision encoder at its best batch size of
    /// 1, 2, 4, 8 and 16 up to the width.
    /// </summary>
    public static int Vqa(BenchOptions options)
    {
        int width = options.Int("width", 16);
        using var models = new GenerativeBenchModels();
        GenerativeModel model = models.Load(options.Required("model-dir"), KvCacheOnDevice(options));
        (ProcessedImage image, int[] ids) = GenerativeBenchModels.Prompt(model, options.Required("image"), options.Text("split", "false") == "true");
        var work = new RawVqaWork(model, image, ids);
        (_, double visionPerImage) = work.BestVisionBatch(VisionBatches(width));
        RawVqaFigures figures = work.Measure(visionPerImage, width, options.Int("max-tokens", 128));
        Console.WriteLine($"raw-vqa {figures}");
        return 0;
    }

    public static IEnumerable<int> VisionBatches(int width) => new[] { 1, 2, 4, 8, 16 }.Where(b => b <= width);
}
