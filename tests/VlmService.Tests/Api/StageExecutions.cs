using System.Diagnostics.Metrics;

namespace VlmService.Tests.Api;

/// <summary>
/// Batches run per stage, seen through vlm_batch_size as they happen. The size is recorded on the stage's own thread
/// just before the batch runs, so <see cref="Hold"/> can keep a stage from running.
/// </summary>
internal sealed class StageExecutions : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, (int Count, int Largest)> _stages = [];
    private readonly List<string> _order = [];
    private bool _recordOrder;
    private string? _heldStage;
    private readonly ManualResetEventSlim _holding = new();
    private readonly ManualResetEventSlim _released = new();

    public StageExecutions()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "vlm_batch_size")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((_, size, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "stage" && tag.Value is string stage)
                {
                    lock (_stages)
                    {
                        (int count, int largest) = _stages.GetValueOrDefault(stage);
                        _stages[stage] = (count + 1, Math.Max(largest, size));
                        if (_recordOrder)
                        {
                            _order.Add(stage);
                        }
                    }
                    if (stage == Volatile.Read(ref _heldStage))
                    {
                        _holding.Set();
                        _released.Wait(TimeSpan.FromSeconds(30));
                    }
                }
            }
        });
        _listener.Start();
    }

    public int Count(string stage)
    {
        lock (_stages)
        {
            return _stages.GetValueOrDefault(stage).Count;
        }
    }

    public int LargestBatch(string stage)
    {
        lock (_stages)
        {
            return _stages.GetValueOrDefault(stage).Largest;
        }
    }

    public void StartOrder()
    {
        lock (_stages)
        {
            _recordOrder = true;
        }
    }

    public IReadOnlyList<string> Order
    {
        get
        {
            lock (_stages)
            {
                return [.. _order];
            }
        }
    }

    /// <summary>
    /// The next batch of <paramref name="stage"/> (and any after it) waits before running until <see cref="Release"/>;
    /// the returned task completes once one is waiting.
    /// </summary>
    public Task Hold(string stage)
    {
        Volatile.Write(ref _heldStage, stage);
        return Task.Run(() => _holding.Wait(TimeSpan.FromSeconds(30)));
    }

    public void Release()
    {
        Volatile.Write(ref _heldStage, null);
        _released.Set();
    }

    public void Dispose()
    {
        Release();
        _listener.Dispose();
        _holding.Dispose();
        _released.Dispose();
    }
}
