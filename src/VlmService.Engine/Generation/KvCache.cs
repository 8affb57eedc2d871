using VlmService.Native;

namespace VlmService.Engine.Generation;

/// <summary>
/// Per-layer key and value tensors [batch, kvHeads, length, headDim] of the sequences in a batch, in native memory.
/// Whoever holds a cache either hands it to a <see cref="KvBufferPool"/> or disposes it.
/// </summary>
public sealed class KvCache(NativeBuffer<float>[] keys, NativeBuffer<float>[] values, int length) : IDisposable
{
    public NativeBuffer<float>[] Keys { get; } = keys;

    public NativeBuffer<float>[] Values { get; } = values;

    public int Length { get; } = length;

    /// <summary>No entries yet: the first pass feeds zero-length past tensors, whatever the batch size.</summary>
    public static KvCache Empty(int layers) =>
        new(Enumerable.Range(0, layers).Select(_ => new NativeBuffer<float>(0)).ToArray(), Enumerable.Range(0, layers).Select(_ => new NativeBuffer<float>(0)).ToArray(), 0);

    public void Dispose()
    {
        foreach (NativeBuffer<float> buffer in Keys.Concat(Values))
        {
            buffer.Dispose();
        }
    }
}
