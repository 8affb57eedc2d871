using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace VlmService.Native;

/// <summary>
/// Free items (buffers, handles) kept for reuse by any thread, up to <c>limit</c>: beyond it a returned item is refused,
/// for the caller to leave to the GC or release, so that a burst's worth of them is not held afterwards.
/// </summary>
public sealed class KeptItems<T>(int limit) where T : notnull
{
    private readonly ConcurrentBag<T> _items = [];
    private int _count;

    /// <summary>Items kept now.</summary>
    public int Count => Volatile.Read(ref _count);

    public bool TryTake([MaybeNullWhen(false)] out T item)
    {
        if (!_items.TryTake(out item))
        {
            return false;
        }
        Interlocked.Decrement(ref _count);
        return true;
    }

    /// <summary>Keeps <paramref name="item"/> unless <c>limit</c> are kept already; false when refused.</summary>
    public bool TryKeep(T item)
    {
        if (Interlocked.Increment(ref _count) <= limit)
        {
            _items.Add(item);
            return true;
        }
        Interlocked.Decrement(ref _count);
        return false;
    }

    /// <summary>Lets go of every kept item (for items the GC reclaims).</summary>
    public void Clear()
    {
        while (TryTake(out _))
        {
        }
    }
}
