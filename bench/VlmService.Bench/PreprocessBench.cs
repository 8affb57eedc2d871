using System.Diagnostics;
using System.Globalization;
using VlmService.Engine.Generation;
using VlmService.Imaging;
using VlmService.Native;

namespace VlmService.Bench;

/// <summary>
/// JPEG bytes → a model's pixels with the service's decoder and processor, --concurrency workers for --seconds: CLIP's
/// or SigLIP's pixel_values, or SmolVLM's tiles for a folder with a processor_config.json (--split true|false).
/// For CLIP/SigLIP, --shrink-margin N decodes at reduced scale as Images:JpegShrinkMargin does, and reports how far the
/// pixels move; --path separate decodes to full-size RGB first and resizes afterwards (as before decode and resize were
/// fused). --huge-pages on|off|ab: the buffers that ask for transparent huge pages (SmolVLM's intermediates) get them
/// or not; --jpeg turbo|libvips|ab: plain JPEGs decode through libjpeg-turbo (as served) or libvips' pipeline; "ab" runs
/// --rounds pairs of windows alternating the two.
/// </summary>
internal static class PreprocessBench
{
    public static int Run(BenchOptions options)
    {
        string folder = options.Required("model-dir");
        byte[] bytes = File.ReadAllBytes(options.Required("image"));
        using var resizer = new OrtTensorResizer();
        (Action preprocess, string description) = File.Exists(Path.Combine(folder, "processor_config.json"))
            ? Tiles(folder, bytes, options.Text("split", "false") == "true", resizer)
            : DualEncoderPixels(folder, bytes, options);
        for (int i = 0; i < 5; i++)
        {
            preprocess();
        }
        int concurrency = options.Int("concurrency", Environment.ProcessorCount);
        var seconds = TimeSpan.FromSeconds(options.Double("seconds", 20));
        string hugePages = options.Text("huge-pages", "on");
        string jpeg = options.Text("jpeg", "turbo");
        NativeHeap.AdvisesHugePages = hugePages != "off";
        ImageDecoder.UsesTurboJpeg = jpeg != "libvips";
        (string Name, Action<bool> Set)? compared = hugePages == "ab" ? ("huge pages", on => NativeHeap.AdvisesHugePages = on)
            : jpeg == "ab" ? ("libjpeg-turbo", on => ImageDecoder.UsesTurboJpeg = on)
            : null;
        if (compared is not { } ab)
        {
            double rate = ImagesPerSecond(preprocess, concurrency, seconds, out int done, out TimeSpan wall);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"service preprocess images={done} seconds={wall.TotalSeconds:F1} images/s={rate:F2} concurrency={concurrency} huge-pages={hugePages} jpeg={jpeg} {description}"));
            return 0;
        }
        var ratios = new List<double>();
        for (int round = 0; round < options.Int("rounds", 4); round++)
        {
            // Each pair in the other order than the last, so neither side always follows the other.
            bool onFirst = round % 2 == 0;
            ab.Set(onFirst);
            double first = ImagesPerSecond(preprocess, concurrency, seconds, out _, out _);
            ab.Set(!onFirst);
            double second = ImagesPerSecond(preprocess, concurrency, seconds, out _, out _);
            (double on, double off) = onFirst ? (first, second) : (second, first);
            ratios.Add(on / off);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"preprocess round={round + 1} {ab.Name} {on:F2} images/s, without {off:F2} images/s, ratio {on / off:F3}"));
        }
        ab.Set(true);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"preprocess {ab.Name} ÷ without: mean {ratios.Average():F3} min {ratios.Min():F3} max {ratios.Max():F3} concurrency={concurrency} {description}"));
        return 0;
    }

    private static double ImagesPerSecond(Action preprocess, int concurrency, TimeSpan seconds, out int done, out TimeSpan elapsed)
    {
        int count = 0;
        var wall = Stopwatch.StartNew();
        Parallel.For(0, concurrency, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, _ =>
        {
            while (wall.Elapsed < seconds)
            {
                preprocess();
                Interlocked.Increment(ref count);
            }
        });
        done = count;
        elapsed = wall.Elapsed;
        return count / elapsed.TotalSeconds;
    }

    private static (Action, string) Tiles(string folder, byte[] bytes, bool split, OrtTensorResizer resizer)
    {
        var processor = new Idefics3ImageProcessor(ImageProcessorConfig.FromFile(Path.Combine(folder, "preprocessor_config.json")), resizer);
        return (() => processor.Process(ImageDecoder.Decode(bytes, ImageLimits.Default), split), $"smolvlm tiles split={split}");
    }

    private static (Action, string) DualEncoderPixels(string folder, byte[] bytes, BenchOptions options)
    {
        var processor = ClipFolder.ImageProcessor(folder);
        (int height, int width) = processor.OutputSize;
        int shrinkTo = options.Int("shrink-margin", 0) * Math.Max(height, width);
        bool separate = options.Text("path", "fused") == "separate";
        // The fused path writes into an array kept by each worker, as the service's decode slots write into rented ones:
        // a fresh 0.6-MB array per image is faulted in page by page, a cost the service does not pay.
        var kept = new ThreadLocal<float[]>(() => new float[3 * height * width]);
        float[] Preprocess()
        {
            if (separate)
            {
                return processor.Process(ImageDecoder.Decode(bytes, ImageLimits.Default, shrinkTo));
            }
            processor.Process(bytes, ImageLimits.Default, kept.Value!, shrinkTo);
            return kept.Value!;
        }
        float[] exact = processor.Process(ImageDecoder.Decode(bytes, ImageLimits.Default));
        float[] served = Preprocess().ToArray();
        double largest = exact.Zip(served, (a, b) => Math.Abs(a - b)).Max();
        double mean = exact.Zip(served, (a, b) => Math.Abs(a - b)).Average();
        return (() => Preprocess(), string.Create(CultureInfo.InvariantCulture,
            $"shrink-margin={options.Int("shrink-margin", 0)} {(separate ? "separate" : "fused")} pixel difference from a full decode: max {largest:F3} mean {mean:F4}"));
    }
}
