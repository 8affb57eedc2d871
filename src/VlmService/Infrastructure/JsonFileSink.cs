using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace VlmService.Infrastructure;

/// <summary>The same JSON lines as stdout, appended to a file (<c>Logging:JsonFile</c>) for a log shipper that tails files.</summary>
internal sealed class JsonFileSink(string path, ITextFormatter formatter) : ILogEventSink, IDisposable
{
    private readonly StreamWriter _writer = new(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    private readonly Lock _gate = new();

    public void Emit(LogEvent logEvent)
    {
        lock (_gate)
        {
            formatter.Format(logEvent, _writer);
        }
    }

    public void Dispose() => _writer.Dispose();
}
