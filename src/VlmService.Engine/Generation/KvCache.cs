namespace VlmService.Engine.Generation;

/// <summary>Per-layer key and value tensors [batch, kvHeads, length, headDim] of the sequences in a batch.</summary>
public sealed class KvCache(float[][] keys, float[][] values, int batch, int length)
{
    public float[][] Keys { get; } = keys;

    public float[][] Values { get; } = values;

    public int Batch { get; } = batch;

    public int Length { get; } = length;

    public static KvCache Empty(int layers, int batch) =>
        new(Enumerable.Range(0, layers).Select(_ => Array.Empty<float>()).ToArray(), Enumerable.Range(0, layers).Select(_ => Array.Empty<float>()).ToArray(), batch, 0);

    /// <summary>Bytes held, for admission by KV-cache budget.</summary>
    public long Bytes => (Keys.Sum(k => (long)k.Length) + Values.Sum(v => (long)v.Length)) * sizeof(float);
}
