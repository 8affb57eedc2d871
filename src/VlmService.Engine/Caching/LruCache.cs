namespace VlmService.Engine.Caching;

/// <summary>
/// A thread-safe least-recently-used map bounded by total cost: each entry costs <c>cost(value)</c> (1 when no
/// cost function is given, which bounds the entry count). An entry that alone exceeds the capacity is not kept.
/// </summary>
public sealed class LruCache<TKey, TValue>(long capacity, Func<TValue, long>? cost = null) where TKey : notnull
{
    private readonly Dictionary<TKey, LinkedListNode<(TKey Key, TValue Value, long Cost)>> _entries = [];
    private readonly LinkedList<(TKey Key, TValue Value, long Cost)> _order = new();
    private readonly Lock _gate = new();
    private long _total;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The summed cost of the entries held now.</summary>
    public long TotalCost
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }
    }

    public bool TryGet(TKey key, out TValue value)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                value = node.Value.Value;
                return true;
            }
        }
        value = default!;
        return false;
    }

    public void Set(TKey key, TValue value)
    {
        long entryCost = cost?.Invoke(value) ?? 1;
        lock (_gate)
        {
            if (_entries.Remove(key, out var existing))
            {
                _order.Remove(existing);
                _total -= existing.Value.Cost;
            }
            if (entryCost > capacity)
            {
                return;
            }
            _entries[key] = _order.AddFirst((key, value, entryCost));
            _total += entryCost;
            while (_total > capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _entries.Remove(last.Value.Key);
                _total -= last.Value.Cost;
            }
        }
    }
}
