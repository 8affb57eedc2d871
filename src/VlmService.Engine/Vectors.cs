namespace VlmService.Engine;

internal static class Vectors
{
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }
        return sum;
    }

    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => Dot(a, b) / Math.Sqrt(Dot(a, a) * Dot(b, b));

    public static float[] Normalized(float[] vector)
    {
        double norm = Math.Sqrt(Dot(vector, vector));
        return norm > 0 ? vector.Select(v => (float)(v / norm)).ToArray() : (float[])vector.Clone();
    }
}
