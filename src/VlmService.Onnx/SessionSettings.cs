namespace VlmService.Onnx;

public enum ExecutionProviderKind
{
    /// <summary>CUDA when it can be loaded, otherwise CPU.</summary>
    Auto,
    Cpu,
    Cuda,
}

/// <summary>How a session is created: its threads, provider choice, optimization.</summary>
public sealed record SessionSettings
{
    /// <summary>
    /// Null: run on the process's shared pool (model sessions, see <see cref="InferenceSession.ConfigureSharedThreads"/>).
    /// A number: a pool of the session's own; 1 runs every operator on the calling thread (small helper graphs that
    /// run beside everything else, such as image resizing in the decode slots).
    /// </summary>
    public int? IntraOpThreads { get; init; }

    public ExecutionProviderKind Provider { get; init; } = ExecutionProviderKind.Auto;

    public int CudaDeviceId { get; init; }

    /// <summary>
    /// ORT's memory pattern: each run takes one block planned for every intermediate of its input shapes. Right for
    /// graphs whose shapes repeat; off for decoder steps, whose shapes change every step (the batch widens and
    /// narrows, the cache lengthens): there every run plans anew and the blocks, up to 88 MB each measured, fragment
    /// the arena, which then keeps far more than a step's live tensors.
    /// </summary>
    public bool MemoryPattern { get; init; } = true;

    /// <summary>ORT_ENABLE_ALL; lower it only to compare against unoptimized graphs.</summary>
    public int GraphOptimizationLevel { get; init; } = 99;
}
