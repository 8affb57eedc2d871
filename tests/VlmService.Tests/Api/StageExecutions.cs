using System.Diagnostics.Metrics;

namespace VlmService.Tests.Api;

/// <summary>Batches run per stage, seen through vlm_batch_size as they happen.</summary>
internal sealed class StageExecutions : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, (int Count, int Largest)> _stages = [];
    private readonly List<string> _order = [];
    private bool _recordOrder;

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

    public void Dispose() => _listener.Dispose();
}
