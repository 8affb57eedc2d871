namespace VlmService.Onnx;

/// <summary>Run options whose terminate flag is raised when the token is cancelled, optionally shrinking the CPU arena after the run.</summary>
internal sealed unsafe class TerminableRunOptions : IDisposable
{
    private readonly CancellationTokenRegistration _registration;
    private readonly Lock _gate = new();
    private nint _handle;

    /// <param name="shrinkCpuArena">
    /// The CPU arena gives back what the run grew. The CPU arena only: ORT refuses a run whose shrink list names a
    /// device without an arena, and the CUDA allocator's configuration is the deployment's choice.
    /// </param>
    public TerminableRunOptions(CancellationToken cancellationToken, bool shrinkCpuArena = false)
    {
        nint handle;
        OrtApi.Check(OrtApi.CreateRunOptions(&handle));
        _handle = handle;
        if (shrinkCpuArena)
        {
            try
            {
                fixed (byte* key = "memory.enable_memory_arena_shrinkage\0"u8)
                fixed (byte* value = "cpu:0\0"u8)
                {
                    OrtApi.Check(OrtApi.AddRunConfigEntry(handle, key, value));
                }
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
