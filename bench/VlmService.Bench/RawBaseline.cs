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
    internal static readonly SessionSettings Settings = new() { Provider = ExecutionProviderKind.Cpu };

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

    private const int VisionRunsTimed = 2;

    /// <summary>
    /// /vqa's work for --width requests: the vision encoder at its best batch size, each prompt prefilled, then
    /// --max-tokens steps decoded --width wide with the cache handed from step to step untouched.
    /// </summary>
    public static int Vqa(BenchOptions options)
    {
        string folder = options.Required("model-dir");
        int width = options.Int("width", 16);
        int maxTokens = options.Int("max-tokens", 128);
        using var models = new GenerativeBenchModels();
        GenerativeModel model = models.Load(folder, KvCacheOnDevice(options));
        (ProcessedImage image, int[] ids) = GenerativeBenchModels.Prompt(model, options.Required("image"), options.Text("split", "false") == "true");
        DecoderSessions sessions = model.Sessions;

        double bestPerImage = double.MaxValue;
        float[] features = [];
        foreach (int batch in new[] { 1, 2, 4, 8, 16 }.Where(b => b <= width))
        {
            ProcessedImage[] images = Enumerable.Repeat(image, batch).ToArray();
            // The first run of a shape plans its memory and the second takes the planned block: steady from the third.
            sessions.EncodeImages(images, CancellationToken.None);
            sessions.EncodeImages(images, CancellationToken.None);
            long start = Stopwatch.GetTimestamp();
            for (int run = 0; run < VisionRunsTimed; run++)
            {
                features = sessions.EncodeImages(images, CancellationToken.None)[0];
            }
            double perImage = Stopwatch.GetElapsedTime(start).TotalMilliseconds / (batch * VisionRunsTimed);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw-vqa vision batch={batch} per-image={perImage:F1}ms"));
            bestPerImage = Math.Min(bestPerImage, perImage);
        }

        var prefills = new List<double>();
        for (int i = 0; i < 4; i++)
        {
            long start = Stopwatch.GetTimestamp();
            DecodingBatch.Prefill(model, ids, features).Cache.Dispose();
            prefills.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        // The first prefill warms the session up; the median of the other three.
        double prefill = prefills.Skip(1).Order().ElementAt(1);

        using var decoding = new DecodingBatch(model, ids, features, width);
        double decode = 0;
        for (int step = 1; step < maxTokens; step++)
        {
            decode += decoding.Step().TotalMilliseconds;
        }
        double total = (width * (bestPerImage + prefill)) + decode;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"raw-vqa width={width} prompt={ids.Length} tokens={maxTokens} vision/image={bestPerImage:F0}ms prefill={prefill:F0}ms " +
            $"decode {maxTokens - 1} steps={decode:F0}ms ({decode / (maxTokens - 1):F1}ms/step) → req/s={width * 1000 / total:F3} tokens/s={width * maxTokens * 1000 / total:F1}"));
        return 0;
    }
}
