namespace VlmService.Engine.Generation;

/// <summary>Per-layer key and value tensors [batch, kvHeads, length, headDim] of the sequences in a batch.</summary>
public sealed class KvCache(float[][] keys, float[][] values, int length)
{
    public float[][] Keys { get; } = keys;

    public float[][] Values { get; } = values;

    public int Length { get; } = length;

    /// <summary>No entries yet: the first pass feeds zero-length past tensors, whatever the batch size.</summary>
    public static KvCache Empty(int layers) =>
        new(Enumerable.Range(0, layers).Select(_ => Array.Empty<float>()).ToArray(), Enumerable.Range(0, layers).Select(_ => Array.Empty<float>()).ToArray(), 0);
}
