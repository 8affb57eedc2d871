using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace VlmService.Tests.Api;

/// <summary>One export as the collector received it; protobuf keeps strings as UTF-8, so names can be found in the body text.</summary>
public sealed record OtlpExportRequest(string Path, string? ContentType, string Body);

/// <summary>A stand-in OTLP/HTTP collector on a free local port: answers every export with 200 and keeps what it was sent.</summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Channel<OtlpExportRequest> _received = Channel.CreateUnbounded<OtlpExportRequest>();
    private readonly Task _accepting;

    public OtlpCollector()
    {
        Endpoint = $"http://127.0.0.1:{FreePort()}";
        _listener.Prefixes.Add($"{Endpoint}/");
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Endpoint { get; }

    /// <summary>Forgets what has come in so far.</summary>
    public void Clear()
    {
        while (_received.Reader.TryRead(out _))
        {
        }
    }

    /// <summary>The first export from now on whose body satisfies <paramref name="match"/>, or null if none comes in time.</summary>
    public async Task<OtlpExportRequest?> WaitForAsync(Func<string, bool> match, TimeSpan timeout)
    {
        using var expiry = new CancellationTokenSource(timeout);
        try
        {
            await foreach (OtlpExportRequest request in _received.Reader.ReadAllAsync(expiry.Token))
            {
                if (match(request.Body))
                {
                    return request;
                }
            }
        }
        catch (OperationCanceledException) when (expiry.IsCancellationRequested)
        {
        }
        return null;
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return; // stopped
            }
            try
            {
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                context.Response.StatusCode = 200;
                context.Response.Close();
                _received.Writer.TryWrite(new OtlpExportRequest(context.Request.Url!.AbsolutePath, context.Request.ContentType, Encoding.UTF8.GetString(body.ToArray())));
            }
            catch (Exception e) when (e is HttpListenerException or IOException)
            {
                // An exporter that gave up mid-request (its host shutting down): nothing was received.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Close();
        await _accepting;
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
