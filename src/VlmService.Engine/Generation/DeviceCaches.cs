using VlmService.ModelKit;
using VlmService.Native;
using VlmService.Onnx;

namespace VlmService.Engine.Generation;

/// <summary>
/// KV caches in a decoder's device memory: their buffers come from the decoder session's own allocator, and since host
/// code cannot reach their entries, a small graph (<see cref="OperatorModels.CacheRows"/>) on the decoder's provider
/// moves rows between layouts, reading and writing them where they are.
/// </summary>
internal sealed class DeviceCaches(InferenceSession decoder) : IDisposable
{
    private readonly SessionAllocator _memory = decoder.CreateAllocator();
    private readonly InferenceSession _rows = InferenceSession.FromBytesBeside(OperatorModels.CacheRows(), "cache_rows", decoder, new SessionSettings());

    /// <summary>Where the caches live ("Cuda:0").</summary>
    public string Memory => _memory.Name;

    public NativeBuffer<float> Allocate(int elements) => _memory.Allocate<float>(elements);

    /// <summary>
    /// The same contract as <see cref="CacheLayout.Gather"/>. Consecutive rows from one cache move in one run, into the
    /// new batch at their offset.
    /// </summary>
    public KvCache Gather(IReadOnlyList<CacheRow> rows, int length, int kvHeads, int headDim, Func<int, NativeBuffer<float>> allocate, Action<int>? layerCopied = null)
    {
        int layers = rows[0].Cache.Keys.Length;
        int elements = rows.Count * kvHeads * length * headDim;
        List<RowRun> runs = Runs(rows, length, kvHeads, headDim);
        var keys = new NativeBuffer<float>[layers];
        var values = new NativeBuffer<float>[layers];
        for (int layer = 0; layer < layers; layer++)
        {
            keys[layer] = allocate(elements);
            values[layer] = allocate(elements);
            foreach (RowRun run in runs)
            {
                Move(run, run.Cache.Keys[layer], keys[layer]);
                Move(run, run.Cache.Values[layer], values[layer]);
            }
            layerCopied?.Invoke(layer);
        }
        return new KvCache(keys, values, length);
    }

    /// <summary>
    /// Rows of one cache that land next to each other in the new batch: the graph's inputs other than the cache itself
    /// (the same for every layer), the shape the source is read with and the new rows' place.
    /// </summary>
    private sealed record RowRun(KvCache Cache, long[] SourceShape, KeyValuePair<string, ITensor>[] Selection, int TargetOffset, long[] TargetShape);

    private static List<RowRun> Runs(IReadOnlyList<CacheRow> rows, int length, int kvHeads, int headDim)
    {
        var runs = new List<RowRun>();
        int rowElements = kvHeads * length * headDim;
        for (int first = 0; first < rows.Count;)
        {
            KvCache cache = rows[first].Cache;
            int end = first + 1;
            while (end < rows.Count && ReferenceEquals(rows[end].Cache, cache))
            {
                end++;
            }
            long[] picked = [.. rows.Skip(first).Take(end - first).Select(r => (long)r.Row)];
            long[] lengths = [.. rows.Skip(first).Take(end - first).Select(r => (long)r.Length)];
            // The source's last `length` positions (all it has when it is shorter), then zeros on the left up to `length`.
            int start = Math.Max(0, cache.Length - length);
            int padding = length - (cache.Length - start);
            runs.Add(new RowRun(cache, [picked.Max() + 1, kvHeads, cache.Length, headDim],
            [
                new("rows", new Tensor<long>(picked, picked.Length)),
                new("lengths", new Tensor<long>(lengths, lengths.Length)),
                new("start", new Tensor<long>([start], 1)),
                new("pads", new Tensor<long>([0, 0, padding, 0, 0, 0, 0, 0], 8)),
            ], first * rowElements, [picked.Length, kvHeads, length, headDim]));
            first = end;
        }
        return runs;
    }

    private void Move(RowRun run, NativeBuffer<float> source, NativeBuffer<float> target) =>
        _rows.Run([new("x", Tensor.OverPrefix(source, run.SourceShape)), .. run.Selection], ["y"], [Tensor.At(target, run.TargetOffset, run.TargetShape)]);

    public void Dispose()
    {
        _rows.Dispose();
        _memory.Dispose();
    }
}
