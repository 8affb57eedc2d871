using VlmService.ModelKit;
using VlmService.Native;
using VlmService.Onnx;

namespace VlmService.Engine.Generation;

/// <summary>
/// <see cref="CacheLayout.Gather"/> for caches in a decoder's device memory: host code cannot reach their entries, so a
/// small graph (<see cref="OperatorModels.CacheRows"/>) on the decoder's provider moves the rows, reading and writing
/// them where they are. Consecutive rows from one cache move in one run, into the new batch at their offset.
/// </summary>
internal sealed class DeviceCacheLayout(InferenceSession decoder) : IDisposable
{
    private readonly InferenceSession _rows = InferenceSession.FromBytesBeside(OperatorModels.CacheRows(), "cache_rows", decoder, new SessionSettings());

    /// <summary>The same contract as <see cref="CacheLayout.Gather"/>.</summary>
    public KvCache Gather(IReadOnlyList<CacheRow> rows, int length, int kvHeads, int headDim, Func<int, NativeBuffer<float>> allocate, Action<int>? layerCopied = null)
    {
        int layers = rows[0].Cache.Keys.Length;
        long rowElements = (long)kvHeads * length * headDim;
        int elements = checked((int)(rows.Count * rowElements));
        List<RowRun> runs = Runs(rows);
        var keys = new NativeBuffer<float>[layers];
        var values = new NativeBuffer<float>[layers];
        for (int layer = 0; layer < layers; layer++)
        {
            keys[layer] = allocate(elements);
            values[layer] = allocate(elements);
            foreach (RowRun run in runs)
            {
                Move(run, run.Cache.Keys[layer], keys[layer], length, kvHeads, headDim);
                Move(run, run.Cache.Values[layer], values[layer], length, kvHeads, headDim);
            }
            layerCopied?.Invoke(layer);
        }
        return new KvCache(keys, values, length);
    }

    /// <summary>Rows <paramref name="First"/>… of the new batch, taken from rows <paramref name="Rows"/> of one cache.</summary>
    private sealed record RowRun(KvCache Cache, int First, List<long> Rows, List<long> Lengths);

    private static List<RowRun> Runs(IReadOnlyList<CacheRow> rows)
    {
        var runs = new List<RowRun>();
        for (int b = 0; b < rows.Count; b++)
        {
            CacheRow row = rows[b];
            if (runs.Count == 0 || !ReferenceEquals(runs[^1].Cache, row.Cache))
            {
                runs.Add(new RowRun(row.Cache, b, [], []));
            }
            runs[^1].Rows.Add(row.Row);
            runs[^1].Lengths.Add(row.Length);
        }
        return runs;
    }

    private void Move(RowRun run, NativeBuffer<float> source, NativeBuffer<float> target, int length, int kvHeads, int headDim)
    {
        int sourceLength = run.Cache.Length;
        // The source's last `length` positions (all it has when it is shorter), then zeros on the left up to `length`.
        int start = Math.Max(0, sourceLength - length);
        int padding = length - (sourceLength - start);
        long sourceRows = run.Rows.Max() + 1;
        long rowElements = (long)kvHeads * length * headDim;
        _rows.Run(
        [
            new("x", Tensor.OverPrefix(source, sourceRows, kvHeads, sourceLength, headDim)),
            new("rows", new Tensor<long>([.. run.Rows], run.Rows.Count)),
            new("lengths", new Tensor<long>([.. run.Lengths], run.Lengths.Count)),
            new("start", new Tensor<long>([start], 1)),
            new("pads", new Tensor<long>([0, 0, padding, 0, 0, 0, 0, 0], 8)),
        ], ["y"], [Tensor.At(target, checked((int)(run.First * rowElements)), run.Rows.Count, kvHeads, length, headDim)]);
    }

    public void Dispose() => _rows.Dispose();
}
