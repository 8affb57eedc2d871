using System.Collections.Concurrent;
using VlmService.Native;

namespace VlmService.Engine.Models;

/// <summary>
/// Reused pixel memory of one dual encoder's vision stage: the arrays the decode slots fill, one per image, and the batch
/// tensors they are copied into. Allocated afresh, each CLIP image was 0.6 MB on the large-object heap and each batch of
/// 16 another 9.6 MB, zeroed and faulted in every time and left for full collections; under load that was about a
/// millisecond of CPU per image, spent beside the model on the same cores.
/// </summary>
internal sealed class PixelBuffers(int imageLength, int batchLimit, int imagesKept) : IDisposable
{
    private readonly KeptItems<float[]> _images = new(imagesKept);
    private readonly ConcurrentBag<NativeBuffer<float>> _batches = [];

    /// <summary>An image's array, its contents left as they were: the processor writes every element.</summary>
    public float[] RentImage() => _images.TryTake(out float[]? image) ? image : GC.AllocateUninitializedArray<float>(imageLength);

    /// <summary>Takes an image's array back once its pixels are in a batch; beyond <c>imagesKept</c> it is left to the GC.</summary>
    public void ReturnImage(float[] image)
    {
        if (image.Length == imageLength)
        {
            _images.TryKeep(image);
        }
    }

    /// <summary>Memory for a batch tensor of up to the stage's batch limit; one is kept for each batch running at once.</summary>
    public NativeBuffer<float> RentBatch() =>
        _batches.TryTake(out NativeBuffer<float>? batch) ? batch : new NativeBuffer<float>(batchLimit * imageLength);

    public void ReturnBatch(NativeBuffer<float> batch) => _batches.Add(batch);

    public void Dispose()
    {
        while (_batches.TryTake(out NativeBuffer<float>? batch))
        {
            batch.Dispose();
        }
    }
}
