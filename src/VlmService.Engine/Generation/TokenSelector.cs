namespace VlmService.Engine.Generation;

/// <summary>Picks the next token from a logits row: greedy, or sampled with temperature, top-k and top-p.</summary>
public sealed class TokenSelector(SamplingOptions options, IReadOnlyList<int> suppressed)
{
    private readonly Random _random = options.Seed is int seed ? new Random(seed) : new Random();

    public int Select(ReadOnlySpan<float> logits)
    {
        if (options.IsGreedy)
        {
            int best = -1;
            float bestValue = float.NegativeInfinity;
            for (int i = 0; i < logits.Length; i++)
            {
                if (logits[i] > bestValue && !suppressed.Contains(i))
                {
                    best = i;
                    bestValue = logits[i];
                }
            }
            return best;
        }
        return Sample(logits);
    }

    private int Sample(ReadOnlySpan<float> logits)
    {
        var candidates = new List<(int Id, double Logit)>(logits.Length);
        for (int i = 0; i < logits.Length; i++)
        {
            if (!suppressed.Contains(i) && !float.IsNegativeInfinity(logits[i]))
            {
                candidates.Add((i, logits[i] / options.Temperature));
            }
        }
        candidates.Sort((a, b) => b.Logit.CompareTo(a.Logit));
        if (options.TopK > 0 && candidates.Count > options.TopK)
        {
            candidates.RemoveRange(options.TopK, candidates.Count - options.TopK);
        }
        double max = candidates[0].Logit;
        double[] weights = candidates.Select(c => Math.Exp(c.Logit - max)).ToArray();
        double total = weights.Sum();
        if (options.TopP < 1.0)
        {
            // Keep the smallest prefix whose probability reaches top_p (at least one token).
            double cumulative = 0;
            int keep = 0;
            while (keep < weights.Length && (keep == 0 || cumulative < options.TopP * total))
            {
                cumulative += weights[keep++];
            }
            candidates.RemoveRange(keep, candidates.Count - keep);
            weights = weights[..keep];
            total = weights.Sum();
        }
        double draw = _random.NextDouble() * total;
        for (int i = 0; i < weights.Length; i++)
        {
            draw -= weights[i];
            if (draw <= 0)
            {
                return candidates[i].Id;
            }
        }
        return candidates[^1].Id;
    }
}
