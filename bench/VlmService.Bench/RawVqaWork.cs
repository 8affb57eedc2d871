using System.Diagnostics;
using System.Globalization;
using VlmService.Engine.Generation;
using VlmService.Imaging;

namespace VlmService.Bench;

/// <summary>
/// The /vqa work of --width requests for one photo and prompt, in-process with no HTTP: each image through the
/// vision encoder, each prompt prefilled, then the new tokens decoded --width wide with the cache handed from step
/// to step untouched. The raw limit a served /vqa is set against.
/// </summary>
internal sealed class RawVqaWork(GenerativeModel model, ProcessedImage image, int[] ids)
{
    private const int VisionRunsTimed = 2;

    private float[] _features = [];

    /// <summary>
    /// Milliseconds per image of <paramref name="runs"/> vision-encoder runs of <paramref name="batch"/> copies of the
    /// photo. The first run of a shape plans its memory and the second takes the planned block: timed from the third.
    /// </summary>
    public double VisionPerImage(int batch, int runs = VisionRunsTimed)
    {
        ProcessedImage[] images = Enumerable.Repeat(image, batch).ToArray();
        model.Sessions.EncodeImages(images, CancellationToken.None);
        model.Sessions.EncodeImages(images, CancellationToken.None);
        long start = Stopwatch.GetTimestamp();
        for (int run = 0; run < runs; run++)
        {
            _features = model.Sessions.EncodeImages(images, CancellationToken.None)[0];
        }
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds / (batch * runs);
    }

    /// <summary>The batch size in <paramref name="batches"/> with the fewest milliseconds per image, printing each.</summary>
    public (int Batch, double PerImage) BestVisionBatch(IEnumerable<int> batches)
    {
        (int Batch, double PerImage) best = (0, double.MaxValue);
        foreach (int batch in batches)
        {
            double perImage = VisionPerImage(batch);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw-vqa vision batch={batch} per-image={perImage:F1}ms"));
            best = perImage < best.PerImage ? (batch, perImage) : best;
        }
        return best;
    }

    /// <summary>
    /// The whole work with the vision encoder's figure already taken (<paramref name="visionPerImage"/>, after which
    /// the features are at hand): the prompt's prefill, the median of three after one that warms the session up, and
    /// <paramref name="maxTokens"/> − 1 steps <paramref name="width"/> wide.
    /// </summary>
    public RawVqaFigures Measure(double visionPerImage, int width, int maxTokens)
    {
        if (_features.Length == 0)
        {
            throw new InvalidOperationException("Time the vision encoder first: the prefill needs its features.");
        }
        var prefills = new List<double>();
        for (int i = 0; i < 4; i++)
        {
            long start = Stopwatch.GetTimestamp();
            DecodingBatch.Prefill(model, ids, _features).Cache.Dispose();
            prefills.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        double prefill = prefills.Skip(1).Order().ElementAt(1);

        using var decoding = new DecodingBatch(model, ids, _features, width);
        double decode = 0;
        for (int step = 1; step < maxTokens; step++)
        {
            decode += decoding.Step().TotalMilliseconds;
        }
        return new RawVqaFigures(ids.Length, visionPerImage, prefill, decode, width, maxTokens);
    }
}

/// <summary>What one pass of <see cref="RawVqaWork"/> took; the first token of each request comes from its prefill.</summary>
internal sealed record RawVqaFigures(int PromptTokens, double VisionPerImageMs, double PrefillMs, double DecodeMs, int Width, int MaxTokens)
{
    private double TotalMs => (Width * (VisionPerImageMs + PrefillMs)) + DecodeMs;

    public double RequestsPerSecond => Width * 1000 / TotalMs;

    public double TokensPerSecond => Width * MaxTokens * 1000 / TotalMs;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"width={Width} prompt={PromptTokens} tokens={MaxTokens} vision/image={VisionPerImageMs:F0}ms prefill={PrefillMs:F0}ms " +
        $"decode {MaxTokens - 1} steps={DecodeMs:F0}ms ({DecodeMs / (MaxTokens - 1):F1}ms/step) → req/s={RequestsPerSecond:F3} tokens/s={TokensPerSecond:F1}");
}
