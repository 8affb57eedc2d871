namespace VlmService.Onnx;

/// <summary>Run options whose terminate flag is raised when the token is cancelled, optionally shrinking arenas after the run.</summary>
internal sealed unsafe class TerminableRunOptions : IDisposable
{
    private readonly CancellationTokenRegistration _registration;
    private readonly Lock _gate = new();
    private nint _handle;

    /// <param name="shrinkArenas">Devices whose arenas give back what the run grew ("cpu:0"), or null.</param>
    public TerminableRunOptions(CancellationToken cancellationToken, string? shrinkArenas = null)
    {
        nint handle;
        OrtApi.Check(OrtApi.CreateRunOptions(&handle));
        _handle = handle;
        if (shrinkArenas is not null)
        {
            try
            {
                AddConfigEntry("memory.enable_memory_arena_shrinkage", shrinkArenas);
            }
            catch
            {
                OrtApi.ReleaseRunOptions(handle);
                throw;
            }
        }
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.Register(Terminate);
        }
    }

    public nint Handle => _handle;

    private void AddConfigEntry(string key, string value)
    {
        byte[] keyBytes = System.Text.Encoding.UTF8.GetBytes(key + "\0");
        byte[] valueBytes = System.Text.Encoding.UTF8.GetBytes(value + "\0");
        fixed (byte* k = keyBytes)
        fixed (byte* v = valueBytes)
        {
            OrtApi.Check(OrtApi.AddRunConfigEntry(_handle, k, v));
        }
    }

    private void Terminate()
    {
        lock (_gate)
        {
            if (_handle != 0)
            {
                OrtApi.Check(OrtApi.RunOptionsSetTerminate(_handle));
            }
        }
    }

    public void Dispose()
    {
        _registration.Dispose();
        lock (_gate)
        {
            OrtApi.ReleaseRunOptions(_handle);
            _handle = 0;
        }
    }
}
