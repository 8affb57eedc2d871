namespace VlmService.Onnx;

public enum ExecutionProviderKind
{
    /// <summary>CUDA when it can be loaded, otherwise CPU.</summary>
    Auto,
    Cpu,
    Cuda,
}

/// <summary>How a session is created: threads planned by the caller, provider choice, optimization.</summary>
public sealed record SessionSettings
{
    /// <summary>Threads inside one operator; 0 lets ONNX Runtime use every core.</summary>
    public int IntraOpThreads { get; init; }

    public int InterOpThreads { get; init; } = 1;

    public ExecutionProviderKind Provider { get; init; } = ExecutionProviderKind.Auto;

    public int CudaDeviceId { get; init; }

    /// <summary>ORT_ENABLE_ALL; lower it only to compare against unoptimized graphs.</summary>
    public int GraphOptimizationLevel { get; init; } = 99;
}
