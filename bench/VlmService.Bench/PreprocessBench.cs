using System.Diagnostics;
using System.Globalization;
using VlmService.Imaging;

namespace VlmService.Bench;

/// <summary>JPEG bytes → CLIP pixel_values with the service's decoder and processor, --concurrency workers for --seconds.</summary>
internal static class PreprocessBench
{
    public static int Run(BenchOptions options)
    {
        string folder = options.Required("model-dir");
        var processor = new DualEncoderImageProcessor(ImageProcessorConfig.FromFile(Path.Combine(folder, "preprocessor_config.json")));
        byte[] bytes = File.ReadAllBytes(options.Required("image"));
        for (int i = 0; i < 5; i++)
        {
            processor.Process(ImageDecoder.Decode(bytes, ImageLimits.Default));
        }
        int concurrency = options.Int("concurrency", Environment.ProcessorCount);
        var seconds = TimeSpan.FromSeconds(options.Double("seconds", 20));
        int done = 0;
        var wall = Stopwatch.StartNew();
        Parallel.For(0, concurrency, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, _ =>
        {
            while (wall.Elapsed < seconds)
            {
                processor.Process(ImageDecoder.Decode(bytes, ImageLimits.Default));
                Interlocked.Increment(ref done);
            }
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"service preprocess images={done} seconds={wall.Elapsed.TotalSeconds:F1} images/s={done / wall.Elapsed.TotalSeconds:F2} concurrency={concurrency}"));
        return 0;
    }
}
