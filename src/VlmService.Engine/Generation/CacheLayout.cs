using VlmService.Native;

namespace VlmService.Engine.Generation;

/// <summary>Row <paramref name="Row"/> of a cache laid out [batch, kvHeads, cache.Length, headDim], whose last <paramref name="Length"/> positions hold entries.</summary>
internal readonly record struct CacheRow(KvCache Cache, int Row, int Length);

/// <summary>Moves caches' rows into a left-padded batch layout.</summary>
internal static class CacheLayout
{
    /// <summary>
    /// A new batch [rows.Count, kvHeads, length, headDim] in buffers from <paramref name="allocate"/> (which may be
    /// longer than needed): row b holds <paramref name="rows"/>[b]'s entries right-aligned, and the padding on its left
    /// is zeroed, so a reused buffer never leaks old values into a row (they are masked out, but zeros keep runs exact).
    /// <paramref name="layerCopied"/>, when given, hears of each layer once its rows are in place, before the next
    /// layer's buffers are allocated: its sources may then be handed back for that layer to reuse.
    /// </summary>
    public static KvCache Gather(IReadOnlyList<CacheRow> rows, int length, int kvHeads, int headDim, Func<int, NativeBuffer<float>> allocate, Action<int>? layerCopied = null)
    {
        int layers = rows[0].Cache.Keys.Length;
        int elements = rows.Count * kvHeads * length * headDim;
        var keys = new NativeBuffer<float>[layers];
        var values = new NativeBuffer<float>[layers];
        for (int layer = 0; layer < layers; layer++)
        {
            keys[layer] = allocate(elements);
            values[layer] = allocate(elements);
            for (int b = 0; b < rows.Count; b++)
            {
                CacheRow row = rows[b];
                Place(row.Cache.Keys[layer].Span, row, keys[layer].Span, b, length, kvHeads, headDim);
                Place(row.Cache.Values[layer].Span, row, values[layer].Span, b, length, kvHeads, headDim);
            }
            layerCopied?.Invoke(layer);
        }
        return new KvCache(keys, values, length);
    }

    private static void Place(ReadOnlySpan<float> source, CacheRow row, Span<float> target, int batchIndex, int length, int kvHeads, int headDim)
    {
        int padding = length - row.Length;
        int sourceLength = row.Cache.Length;
        for (int h = 0; h < kvHeads; h++)
        {
            int targetStart = ((batchIndex * kvHeads) + h) * length * headDim;
            target.Slice(targetStart, padding * headDim).Clear();
            int sourceStart = ((((row.Row * kvHeads) + h) * sourceLength) + sourceLength - row.Length) * headDim;
            source.Slice(sourceStart, row.Length * headDim).CopyTo(target.Slice(targetStart + (padding * headDim)));
        }
    }
}
