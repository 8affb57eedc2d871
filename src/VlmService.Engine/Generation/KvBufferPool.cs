namespace VlmService.Engine.Generation;

/// <summary>
/// Reuses the arrays a decoding batch's KV cache lives in. A step reads one set of per-layer arrays (the past) and
/// writes another (the present, one position longer); renting the present here and returning the past afterwards
/// lets two sets take turns instead of allocating two large arrays per layer per step, which the GC hands back to
/// the OS late, if at all. Arrays get an eighth of headroom, so a set serves many steps before it must grow.
/// The pass's logits go to one reused array too: they are read before the next pass runs.
/// Used by the decoding loop only: not thread-safe.
/// </summary>
internal sealed class KvBufferPool
{
    private readonly List<float[]> _free = [];
    private float[] _logits = [];

    /// <summary>Elements held by arrays waiting to be rented again.</summary>
    public long FreeElements => _free.Sum(a => a.LongLength);

    /// <summary>
    /// The smallest free array of at least <paramref name="elements"/>, or a new one with headroom. A free array more
    /// than a quarter larger than asked for is let go instead of lent: after sequences leave, the batch needs less,
    /// and arrays sized for the old batch would otherwise keep its memory (all of it touched) for as long as the model
    /// is busy.
    /// </summary>
    public float[] Rent(int elements)
    {
        int best = -1;
        int smallest = -1;
        for (int i = 0; i < _free.Count; i++)
        {
            int length = _free[i].Length;
            if (length >= elements && (best < 0 || length < _free[best].Length))
            {
                best = i;
            }
            if (smallest < 0 || length < _free[smallest].Length)
            {
                smallest = i;
            }
        }
        if (best >= 0 && _free[best].Length - elements <= elements / 4)
        {
            return Take(best);
        }
        // Nothing fits closely: the oversized array, or else one the cache has outgrown, goes to the GC.
        if (_free.Count > 0)
        {
            Take(best >= 0 ? best : smallest);
        }
        return new float[elements + (elements / 8)];
    }

    /// <summary>The reused logits array, grown to at least <paramref name="elements"/>.</summary>
    public float[] Logits(int elements)
    {
        if (_logits.Length < elements)
        {
            _logits = new float[elements];
        }
        return _logits;
    }

    public void Return(KvCache cache)
    {
        foreach (float[] array in cache.Keys.Concat(cache.Values))
        {
            if (array.Length > 0)
            {
                _free.Add(array);
            }
        }
    }

    /// <summary>Lets every free array and the logits array go (an idle model should not hold a batch's worth of cache).</summary>
    public void Clear()
    {
        _free.Clear();
        _logits = [];
    }

    private float[] Take(int index)
    {
        float[] array = _free[index];
        _free[index] = _free[^1];
        _free.RemoveAt(_free.Count - 1);
        return array;
    }
}
