namespace VlmService.Onnx;

/// <summary>The process-wide <c>OrtEnv</c>; ONNX Runtime allows one per process.</summary>
internal static unsafe class OrtEnvironment
{
    private const int LogSeverityWarning = 2;

    private static readonly Lazy<nint> Env = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    public static nint Handle => Env.Value;

    private static nint Create()
    {
        nint env;
        fixed (byte* logId = "vlmservice\0"u8)
        {
            OrtApi.Check(OrtApi.CreateEnv(LogSeverityWarning, logId, &env));
        }
        return env;
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
