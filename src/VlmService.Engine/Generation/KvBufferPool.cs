using VlmService.Native;

namespace VlmService.Engine.Generation;

/// <summary>
/// Reuses the native buffers a decoding batch's KV cache lives in. A step reads one set of per-layer buffers (the
/// past) and writes another (the present, one position longer). Where the export allows, each layer's present is
/// written over the previous layer's past (<see cref="DecoderSessions.DecodeTakingPast"/>), so the pool lends only the
/// first layer's pair per step and takes back the last layer's; otherwise renting the present here and returning the
/// past afterwards lets two sets take turns. Either way no step allocates large buffers afresh. Buffers get an
/// eighth of headroom, so a set serves many steps before it must grow; C-heap buffers grow and shrink in place
/// (<see cref="NativeBuffer{T}.Resize"/>), and a buffer the pool lets go is freed at once, so the memory of a batch
/// that shrank goes back to the OS rather than lingering as garbage on the GC heap.
/// The pass's logits go to one reused array: they are read before the next pass runs.
/// Used by the decoding loop only: not thread-safe.
/// </summary>
/// <param name="allocate">Where new buffers come from (<see cref="DecoderSessions.NewCacheBuffer"/>); the C heap by default.</param>
internal sealed class KvBufferPool(Func<int, NativeBuffer<float>>? allocate = null)
{
    private readonly Func<int, NativeBuffer<float>> _allocate = allocate ?? (elements => new NativeBuffer<float>(elements));
    private readonly List<NativeBuffer<float>> _free = [];
    private float[] _logits = [];

    /// <summary>Elements held by arrays waiting to be rented again.</summary>
    public long FreeElements => _free.Sum(a => (long)a.Length);

    /// <summary>
    /// The smallest free buffer of at least <paramref name="elements"/>, or one resized to fit with headroom. A free
    /// buffer more than a quarter larger than asked for is not lent as it is: after sequences leave, the batch needs
    /// less, and buffers sized for the old batch would otherwise keep its memory (all of it touched) for as long as the
    /// model is busy.
    /// </summary>
    public NativeBuffer<float> Rent(int elements)
    {
        int best = -1;
        int largest = -1;
        for (int i = 0; i < _free.Count; i++)
        {
            int length = _free[i].Length;
            if (length >= elements && (best < 0 || length < _free[best].Length))
            {
                best = i;
            }
            if (largest < 0 || length > _free[largest].Length)
            {
                largest = i;
            }
        }
        if (best >= 0 && _free[best].Length - elements <= elements / 4)
        {
            return Take(best);
        }
        // Nothing fits closely: the oversized buffer, or else the largest one the cache has outgrown, is resized where
        // it lives on the C heap (its pages stay; a shrink hands the tail back to the OS), or freed for a new one.
        if (_free.Count > 0)
        {
            NativeBuffer<float> outgrown = Take(best >= 0 ? best : largest);
            if (outgrown.Allocator is null)
            {
                return outgrown.Resize(WithHeadroom(elements));
            }
            outgrown.Dispose();
        }
        return _allocate(WithHeadroom(elements));
    }

    /// <summary>
    /// Makes <paramref name="buffer"/> hold at least <paramref name="elements"/>, keeping its values: as it is when it
    /// does, resized with headroom when it is C-heap memory. False, and the buffer untouched, when it is too small and
    /// another allocator's, or empty (a pool's free buffer serves then).
    /// </summary>
    public static bool TryFit(ref NativeBuffer<float> buffer, int elements)
    {
        if (buffer.Length >= elements)
        {
            return true;
        }
        if (buffer.Length == 0 || buffer.Allocator is not null)
        {
            return false;
        }
        buffer = buffer.Resize(WithHeadroom(elements));
        return true;
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
        foreach (NativeBuffer<float> buffer in cache.Keys.Concat(cache.Values))
        {
            Return(buffer);
        }
    }

    /// <summary>Takes back one layer's key and value buffers of <paramref name="cache"/>.</summary>
    public void Return(KvCache cache, int layer)
    {
        Return(cache.Keys[layer]);
        Return(cache.Values[layer]);
    }

    public void Return(NativeBuffer<float> buffer)
    {
        if (buffer.Length > 0)
        {
            _free.Add(buffer);
        }
    }

    /// <summary>Frees every free buffer and lets the logits array go (an idle model should not hold a batch's worth of cache).</summary>
    public void Clear()
    {
        _free.ForEach(buffer => buffer.Dispose());
        _free.Clear();
        _logits = [];
    }

    /// <summary>An eighth more than asked for, so that a growing cache fits for several steps before it must grow again.</summary>
    private static int WithHeadroom(int elements) => elements + (elements / 8);

    private NativeBuffer<float> Take(int index)
    {
        NativeBuffer<float> buffer = _free[index];
        _free[index] = _free[^1];
        _free.RemoveAt(_free.Count - 1);
        return buffer;
    }
}
