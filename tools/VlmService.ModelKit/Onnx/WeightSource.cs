namespace VlmService.ModelKit.Onnx;

/// <summary>
/// Deterministic weights: each tensor's values depend only on the seed and the tensor's name, so the same
/// weight written into text_model.onnx and model.onnx is identical.
/// </summary>
internal sealed class WeightSource(int seed)
{
    public float[] Normal(string name, long count, double std)
    {
        var values = new float[count];
        ulong state = Hash(name) ^ ((ulong)(uint)seed * 0x9E3779B97F4A7C15UL);
        for (long i = 0; i < count; i += 2)
        {
            // Box–Muller over a SplitMix64 stream.
            double u1 = (Next(ref state) >> 11) * (1.0 / (1UL << 53));
            double u2 = (Next(ref state) >> 11) * (1.0 / (1UL << 53));
            double radius = Math.Sqrt(-2.0 * Math.Log(Math.Max(u1, 1e-300))) * std;
            values[i] = (float)(radius * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < count)
            {
                values[i + 1] = (float)(radius * Math.Sin(2 * Math.PI * u2));
            }
        }
        return values;
    }

    public float[] Around(string name, long count, double center, double std)
    {
        float[] values = Normal(name, count, std);
        for (long i = 0; i < count; i++)
        {
            values[i] += (float)center;
        }
        return values;
    }

    private static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong Hash(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }
        return hash;
    }
}
