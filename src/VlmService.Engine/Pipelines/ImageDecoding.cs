using Microsoft.Extensions.Options;
using VlmService.Engine.Models;
using VlmService.Imaging;

namespace VlmService.Engine.Pipelines;

/// <summary>
/// Decoding and resizing off the stage loops, on the thread pool, with bounded concurrency so a burst of large
/// photos cannot take every core from the model stages.
/// </summary>
public sealed class ImageDecoding(IOptions<ImageOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(Math.Max(1, options.Value.MaxConcurrentDecodes));
    private readonly ImageLimits _limits = new(options.Value.MaxPixels, options.Value.MaxSide);

    /// <summary>Header checks only (format, size limits): cheap, so every image of a request is checked before any is decoded.</summary>
    public ImageHeader Probe(byte[] data) => ImageDecoder.Probe(data, _limits);

    /// <summary>Decodes to RGB and runs <paramref name="process"/> on it, within the decode slots.</summary>
    public Task<T> DecodeAsync<T>(byte[] data, Func<RgbImage, T> process, CancellationToken cancellationToken) =>
        InSlotAsync(() => process(ImageDecoder.Decode(data, _limits)), cancellationToken);

    /// <summary>
    /// Decode and CLIP/SigLIP preprocessing in one pass (the resize runs inside the decoder) into an array from
    /// <paramref name="rentDestination"/>, within the decode slots; JPEGs may be decoded at reduced scale
    /// (Images:JpegShrinkMargin). The array is taken only once a slot is free, so requests waiting for one hold none.
    /// </summary>
    /// <returns>The rented array, filled.</returns>
    public Task<float[]> DecodeAndProcessAsync(byte[] data, DualEncoderImageProcessor processor, Func<float[]> rentDestination, CancellationToken cancellationToken)
    {
        (int height, int width) = processor.OutputSize;
        int shrinkToShortSide = options.Value.JpegShrinkMargin * Math.Max(height, width);
        return InSlotAsync(() =>
        {
            float[] destination = rentDestination();
            processor.Process(data, _limits, destination, shrinkToShortSide);
            return destination;
        }, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the calling thread once a slot is free. Callers are request handlers on the
    /// thread pool, never a stage loop, and a slot that had to be waited for resumes on the pool too (ConfigureAwait),
    /// so handing the work to yet another pool thread would only add a wake-up to every request's latency.
    /// </summary>
    private async Task<T> InSlotAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            return work();
        }
        finally
        {
            _slots.Release();
        }
    }

    public void Dispose() => _slots.Dispose();
}
