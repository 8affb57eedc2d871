namespace VlmService.Engine.Generation;

/// <summary>Moves per-sequence caches into a left-padded batch and back out.</summary>
internal static class CacheLayout
{
    /// <summary>[batch, kvHeads, length, headDim] with each sequence's entries right-aligned (padding on the left is zeros).</summary>
    public static KvCache LeftPad(IReadOnlyList<KvCache> caches, int length, int kvHeads, int headDim)
    {
        int layers = caches[0].Keys.Length;
        var keys = new float[layers][];
        var values = new float[layers][];
        for (int layer = 0; layer < layers; layer++)
        {
            keys[layer] = new float[caches.Count * kvHeads * length * headDim];
            values[layer] = new float[caches.Count * kvHeads * length * headDim];
            for (int b = 0; b < caches.Count; b++)
            {
                Place(caches[b].Keys[layer], caches[b].Length, keys[layer], b, length, kvHeads, headDim);
                Place(caches[b].Values[layer], caches[b].Length, values[layer], b, length, kvHeads, headDim);
            }
        }
        return new KvCache(keys, values, length);
    }

    private static void Place(float[] source, int sourceLength, float[] target, int batchIndex, int length, int kvHeads, int headDim)
    {
        int offset = length - sourceLength;
        for (int h = 0; h < kvHeads; h++)
        {
            Array.Copy(source, h * sourceLength * headDim, target, (((batchIndex * kvHeads) + h) * length * headDim) + (offset * headDim), sourceLength * headDim);
        }
    }

    /// <summary>Row <paramref name="batchIndex"/> of a batch cache, positions [start, start + count), as a cache of its own.</summary>
    public static KvCache Take(KvCache batch, int batchIndex, int start, int count, int kvHeads, int headDim)
    {
        int layers = batch.Keys.Length;
        var keys = new float[layers][];
        var values = new float[layers][];
        for (int layer = 0; layer < layers; layer++)
        {
            keys[layer] = Slice(batch.Keys[layer], batchIndex, start, count, batch.Length, kvHeads, headDim);
            values[layer] = Slice(batch.Values[layer], batchIndex, start, count, batch.Length, kvHeads, headDim);
        }
        return new KvCache(keys, values, count);
    }

    private static float[] Slice(float[] source, int batchIndex, int start, int count, int length, int kvHeads, int headDim)
    {
        var result = new float[kvHeads * count * headDim];
        for (int h = 0; h < kvHeads; h++)
        {
            Array.Copy(source, ((((batchIndex * kvHeads) + h) * length) + start) * headDim, result, h * count * headDim, count * headDim);
        }
        return result;
    }
}
