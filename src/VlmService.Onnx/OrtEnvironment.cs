namespace VlmService.Onnx;

/// <summary>
/// The process-wide <c>OrtEnv</c> (ONNX Runtime allows one per process). It owns one shared intra-op thread pool that
/// every model session runs on, so sessions running at the same time divide the cores instead of each starting a
/// pool the size of the machine and oversubscribing it.
/// </summary>
internal static unsafe class OrtEnvironment
{
    private const int LogSeverityWarning = 2;

    private static readonly Lock Gate = new();
    private static int _requestedThreads;
    private static nint _env;

    /// <summary>Threads of the shared pool, fixed when the environment is created.</summary>
    public static int SharedThreads { get; private set; }

    public static nint Handle
    {
        get
        {
            lock (Gate)
            {
                return _env != 0 ? _env : _env = Create();
            }
        }
    }

    /// <summary>
    /// Sizes the shared pool (0 = one thread per core). Only the first environment creation reads it; returns false
    /// when the environment already exists with another size.
    /// </summary>
    public static bool ConfigureSharedThreads(int threads)
    {
        lock (Gate)
        {
            if (_env == 0)
            {
                _requestedThreads = threads;
                return true;
            }
            return SharedThreads == Resolve(threads);
        }
    }

    private static int Resolve(int threads) => threads > 0 ? threads : Environment.ProcessorCount;

    private static nint Create()
    {
        nint threading;
        OrtApi.Check(OrtApi.CreateThreadingOptions(&threading));
        try
        {
            SharedThreads = Resolve(_requestedThreads);
            OrtApi.Check(OrtApi.SetGlobalIntraOpNumThreads(threading, SharedThreads));
            OrtApi.Check(OrtApi.SetGlobalInterOpNumThreads(threading, 1));
            // Idle pool threads would spin by default; on a batched server that burns the cores other stages need.
            OrtApi.Check(OrtApi.SetGlobalSpinControl(threading, 0));
            nint env;
            fixed (byte* logId = "vlmservice\0"u8)
            {
                OrtApi.Check(OrtApi.CreateEnvWithGlobalThreadPools(LogSeverityWarning, logId, threading, &env));
            }
            return env;
        }
        finally
        {
            OrtApi.ReleaseThreadingOptions(threading);
        }
    }

    private static readonly Lazy<nint> CpuMemory = new(() =>
    {
        nint info;
        // OrtArenaAllocator = 1, OrtMemTypeDefault = 0: plain host memory, as the tensors we pin are.
        OrtApi.Check(OrtApi.CreateCpuMemoryInfo(1, 0, &info));
        return info;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    public static nint CpuMemoryInfo => CpuMemory.Value;

    public static nint DefaultAllocator
    {
        get
        {
            nint allocator;
            OrtApi.Check(OrtApi.GetAllocatorWithDefaultOptions(&allocator));
            return allocator;
        }
    }
}
