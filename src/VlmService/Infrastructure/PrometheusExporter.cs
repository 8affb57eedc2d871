using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using VlmService.Engine.Diagnostics;

namespace VlmService.Infrastructure;

/// <summary>
/// Collects the service's own instruments with a <see cref="MeterListener"/> and renders them in the Prometheus
/// text exposition format: counters as running totals, histograms as cumulative buckets with sum and count,
/// gauges read at scrape time. Every published instrument is listed (HELP/TYPE) even before it records.
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    private static readonly double[] SecondBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private static readonly double[] CountBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, InstrumentSeries> _instruments = new();
    private readonly Lock _scrape = new();

    public PrometheusExporter(IMeterFactory meterFactory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // A listener sees every meter in the process; this host's meters are the ones its factory made.
            if (instrument.Meter.Name is EngineMetrics.MeterName or ApiMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory))
            {
                _instruments[instrument] = new InstrumentSeries(instrument, instrument.Unit == "s" ? SecondBuckets : CountBuckets);
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_instruments.TryGetValue(instrument, out InstrumentSeries? series))
        {
            series.Record(value, tags);
        }
    }

    public string Render()
    {
        var text = new StringBuilder();
        lock (_scrape)
        {
            foreach (InstrumentSeries series in _instruments.Values.Where(s => s.IsGauge))
            {
                series.Clear();
            }
            _listener.RecordObservableInstruments();
            foreach (InstrumentSeries series in _instruments.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
            {
                series.Write(text);
            }
        }
        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private sealed class InstrumentSeries(Instrument instrument, double[] buckets)
    {
        private readonly ConcurrentDictionary<string, Point> _points = new(StringComparer.Ordinal);

        public string Name => instrument.Name;

        public bool IsGauge => instrument is ObservableGauge<int> or ObservableGauge<long> or ObservableGauge<double>;

        private bool IsHistogram => instrument is Histogram<double> or Histogram<int> or Histogram<long>;

        public void Clear() => _points.Clear();

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string labels = Labels(tags);
            Point point = _points.GetOrAdd(labels, _ => new Point(buckets.Length));
            lock (point)
            {
                if (IsGauge)
                {
                    point.Value = value;
                    return;
                }
                point.Value += value;
                point.Count++;
                for (int b = 0; b < buckets.Length; b++)
                {
                    if (value <= buckets[b])
                    {
                        point.Buckets[b]++;
                    }
                }
            }
        }

        public void Write(StringBuilder text)
        {
            string type = IsHistogram ? "histogram" : IsGauge ? "gauge" : "counter";
            text.Append("# HELP ").Append(Name).Append(' ').Append(instrument.Description).Append('\n');
            text.Append("# TYPE ").Append(Name).Append(' ').Append(type).Append('\n');
            foreach ((string labels, Point point) in _points.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                lock (point)
                {
                    if (!IsHistogram)
                    {
                        text.Append(Name).Append(Braced(labels)).Append(' ').Append(Number(point.Value)).Append('\n');
                        continue;
                    }
                    for (int b = 0; b < buckets.Length; b++)
                    {
                        text.Append(Name).Append("_bucket").Append(Braced(Join(labels, $"le=\"{Number(buckets[b])}\""))).Append(' ').Append(point.Buckets[b]).Append('\n');
                    }
                    text.Append(Name).Append("_bucket").Append(Braced(Join(labels, "le=\"+Inf\""))).Append(' ').Append(point.Count).Append('\n');
                    text.Append(Name).Append("_sum").Append(Braced(labels)).Append(' ').Append(Number(point.Value)).Append('\n');
                    text.Append(Name).Append("_count").Append(Braced(labels)).Append(' ').Append(point.Count).Append('\n');
                }
            }
        }

        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var parts = new List<string>(tags.Length);
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                string value = Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty;
                parts.Add($"{tag.Key}=\"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"");
            }
            parts.Sort(StringComparer.Ordinal);
            return string.Join(',', parts);
        }

        private static string Join(string labels, string extra) => labels.Length == 0 ? extra : $"{labels},{extra}";

        private static string Braced(string labels) => labels.Length == 0 ? string.Empty : $"{{{labels}}}";

        private static string Number(double value) => value.ToString("G17", CultureInfo.InvariantCulture);
    }

    private sealed class Point(int buckets)
    {
        public double Value { get; set; }

        public long Count { get; set; }

        public long[] Buckets { get; } = new long[buckets];
    }
}
