namespace VlmService.Onnx;

/// <summary>Run options whose terminate flag is raised when the token is cancelled.</summary>
internal sealed unsafe class TerminableRunOptions : IDisposable
{
    private readonly CancellationTokenRegistration _registration;
    private readonly Lock _gate = new();
    private nint _handle;

    public TerminableRunOptions(CancellationToken cancellationToken)
    {
        nint handle;
        OrtApi.Check(OrtApi.CreateRunOptions(&handle));
        _handle = handle;
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.Register(Terminate);
        }
    }

    public nint Handle => _handle;

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
