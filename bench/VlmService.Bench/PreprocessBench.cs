using System.Diagnostics;
using System.Globalization;
using VlmService.Imaging;

namespace VlmService.Bench;

/// <summary>
/// JPEG bytes → CLIP pixel_values with the service's decoder and processor, --concurrency workers for --seconds;
/// --shrink-margin N decodes at reduced scale as Images:JpegShrinkMargin does, and reports how far the pixels move.
/// --path separate decodes to full-size RGB first and resizes afterwards (as before decode and resize were fused).
/// </summary>
internal static class PreprocessBench
{
    public static int Run(BenchOptions options)
    {
        string folder = options.Required("model-dir");
        var processor = ClipFolder.ImageProcessor(folder);
        byte[] bytes = File.ReadAllBytes(options.Required("image"));
        (int height, int width) = processor.OutputSize;
        int shrinkTo = options.Int("shrink-margin", 0) * Math.Max(height, width);
        bool separate = options.Text("path", "fused") == "separate";
        float[] Preprocess() => separate
            ? processor.Process(ImageDecoder.Decode(bytes, ImageLimits.Default, shrinkTo))
            : processor.Process(bytes, ImageLimits.Default, shrinkTo);
        float[] exact = processor.Process(ImageDecoder.Decode(bytes, ImageLimits.Default));
        float[] served = Preprocess();
        double largest = exact.Zip(served, (a, b) => Math.Abs(a - b)).Max();
        double mean = exact.Zip(served, (a, b) => Math.Abs(a - b)).Average();
        for (int i = 0; i < 5; i++)
        {
            Preprocess();
        }
        int concurrency = options.Int("concurrency", Environment.ProcessorCount);
        var seconds = TimeSpan.FromSeconds(options.Double("seconds", 20));
        int done = 0;
        var wall = Stopwatch.StartNew();
        Parallel.For(0, concurrency, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, _ =>
        {
            while (wall.Elapsed < seconds)
            {
                Preprocess();
                Interlocked.Increment(ref done);
            }
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"service preprocess images={done} seconds={wall.Elapsed.TotalSeconds:F1} images/s={done / wall.Elapsed.TotalSeconds:F2} concurrency={concurrency} " +
            $"shrink-margin={options.Int("shrink-margin", 0)} {(separate ? "separate" : "fused")} pixel difference from a full decode: max {largest:F3} mean {mean:F4}"));
        return 0;
    }
}
