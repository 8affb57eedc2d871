using System.Runtime.InteropServices;
using System.Text;

namespace VlmService.Onnx;

/// <summary>
/// One ONNX Runtime session over a model file. <see cref="Run"/> is thread-safe (ORT allows concurrent
/// runs on one session); the schedulers above decide how many run at once.
/// </summary>
public sealed unsafe class InferenceSession : IDisposable
{
    private nint _handle;

    /// <summary>The CUDA device the session runs on, when it does.</summary>
    private readonly int _deviceId;

    private InferenceSession(nint handle, string path, string provider, string? providerFallbackReason, int deviceId = 0)
    {
        _handle = handle;
        _deviceId = deviceId;
        ModelPath = path;
        Provider = provider;
        ProviderFallbackReason = providerFallbackReason;
        Inputs = ReadInfos(isInput: true);
        Outputs = ReadInfos(isInput: false);
    }

    public string ModelPath { get; }

    /// <summary>The execution provider the session runs on.</summary>
    public string Provider { get; }

    /// <summary>
    /// Sizes the thread pool that every session without threads of its own shares (0 = one per core). It is fixed
    /// when the first session is created; false when that already happened with another size.
    /// </summary>
    public static bool ConfigureSharedThreads(int threads) => OrtEnvironment.ConfigureSharedThreads(threads);

    /// <summary>Threads of the shared pool (known once the first session exists).</summary>
    public static int SharedThreads => OrtEnvironment.SharedThreads;

    /// <summary>Why CUDA was not used although it was asked for (Auto), or null.</summary>
    public string? ProviderFallbackReason { get; }

    public IReadOnlyList<TensorInfo> Inputs { get; }

    public IReadOnlyList<TensorInfo> Outputs { get; }

    public bool HasInput(string name) => Inputs.Any(i => i.Name == name);

    public TensorInfo Input(string name) =>
        Inputs.FirstOrDefault(i => i.Name == name) ?? throw new KeyNotFoundException($"{Path.GetFileName(ModelPath)} has no input '{name}'.");

    public static InferenceSession Open(string path, SessionSettings settings)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file not found: {path}", path);
        }
        string? fallbackReason = null;
        bool tryCuda = settings.Provider != ExecutionProviderKind.Cpu;
        if (tryCuda && !ExecutionProviders.Available().Contains(ExecutionProviders.Cuda))
        {
            if (settings.Provider == ExecutionProviderKind.Cuda)
            {
                throw new OrtException("CUDA was requested, but the loaded ONNX Runtime has no CUDA execution provider.");
            }
            tryCuda = false;
            fallbackReason = "the loaded ONNX Runtime build has no CUDA execution provider";
        }
        if (tryCuda)
        {
            try
            {
                return new InferenceSession(Create(path, settings, useCuda: true), path, ExecutionProviders.Cuda, null, settings.CudaDeviceId);
            }
            catch (OrtException ex) when (settings.Provider == ExecutionProviderKind.Auto)
            {
                fallbackReason = ex.Message;
            }
        }
        return new InferenceSession(Create(path, settings, useCuda: false), path, ExecutionProviders.Cpu, fallbackReason);
    }

    /// <summary>A session over a model held in memory (small helper graphs built at run time); CPU only.</summary>
    public static InferenceSession FromBytes(byte[] model, string name, SessionSettings settings)
    {
        var cpu = settings with { Provider = ExecutionProviderKind.Cpu };
        return new InferenceSession(Create(model, cpu, useCuda: false), name, ExecutionProviders.Cpu, null);
    }

    /// <summary>
    /// A session over a helper graph held in memory that runs on the provider <paramref name="beside"/> runs on, so that
    /// it works on that session's device memory where it is (rearranging a GPU-resident KV cache on the GPU).
    /// </summary>
    public static InferenceSession FromBytesBeside(byte[] model, string name, InferenceSession beside, SessionSettings settings)
    {
        bool cuda = beside.Provider == ExecutionProviders.Cuda;
        var placed = settings with { Provider = cuda ? ExecutionProviderKind.Cuda : ExecutionProviderKind.Cpu, CudaDeviceId = beside._deviceId };
        return new InferenceSession(Create(model, placed, useCuda: cuda), name, beside.Provider, null, beside._deviceId);
    }

    /// <summary>
    /// An allocator of the memory this session computes in: the GPU's for CUDA, the host's for CPU. Its buffers stay
    /// valid while the session is open; dispose it with (or before) the session.
    /// </summary>
    public SessionAllocator CreateAllocator()
    {
        ObjectDisposedException.ThrowIf(_handle == 0, this);
        return Provider == ExecutionProviders.Cuda ? new SessionAllocator(_handle, "Cuda", _deviceId) : new SessionAllocator(_handle, "Cpu", 0);
    }

    /// <summary>The counters of the arena this session's CPU allocations come from (its own, or zeros where it has none).</summary>
    public ArenaStats CpuArenaStats()
    {
        ObjectDisposedException.ThrowIf(_handle == 0, this);
        using var allocator = new SessionAllocator(_handle, "Cpu", 0);
        return allocator.Stats();
    }

    private static nint Create(string path, SessionSettings settings, bool useCuda) => Create(settings, useCuda, options =>
    {
        nint session;
        byte[] pathBytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = pathBytes)
        {
            OrtApi.Check(OrtApi.CreateSession(OrtEnvironment.Handle, p, options, &session));
        }
        return session;
    });

    private static nint Create(byte[] model, SessionSettings settings, bool useCuda) => Create(settings, useCuda, options =>
    {
        nint session;
        fixed (byte* p = model)
        {
            OrtApi.Check(OrtApi.CreateSessionFromArray(OrtEnvironment.Handle, p, (nuint)model.Length, options, &session));
        }
        return session;
    });

    /// <summary>Builds session options from <paramref name="settings"/>, hands them to <paramref name="open"/>, releases them.</summary>
    private static nint Create(SessionSettings settings, bool useCuda, Func<nint, nint> open)
    {
        nint options;
        OrtApi.Check(OrtApi.CreateSessionOptions(&options));
        try
        {
            if (settings.IntraOpThreads is { } own)
            {
                OrtApi.Check(OrtApi.SetIntraOpNumThreads(options, own));
                OrtApi.Check(OrtApi.SetInterOpNumThreads(options, 1));
                // Idle intra-op threads spin by default; on a shared, batched server that burns the cores other stages need.
                AddConfig(options, "session.intra_op.allow_spinning", "0");
            }
            else
            {
                OrtApi.Check(OrtApi.DisablePerSessionThreads(options));
            }
            OrtApi.Check(OrtApi.SetSessionGraphOptimizationLevel(options, settings.GraphOptimizationLevel));
            if (!settings.MemoryPattern)
            {
                OrtApi.Check(OrtApi.DisableMemPattern(options));
            }
            if (useCuda)
            {
                ExecutionProviders.AppendCuda(options, settings.CudaDeviceId);
            }
            return open(options);
        }
        finally
        {
            OrtApi.ReleaseSessionOptions(options);
        }
    }

    private static void AddConfig(nint options, string key, string value)
    {
        byte[] k = Encoding.UTF8.GetBytes(key + "\0");
        byte[] v = Encoding.UTF8.GetBytes(value + "\0");
        fixed (byte* kp = k)
        fixed (byte* vp = v)
        {
            OrtApi.Check(OrtApi.AddSessionConfigEntry(options, kp, vp));
        }
    }

    private TensorInfo[] ReadInfos(bool isInput)
    {
        nuint count;
        OrtApi.Check(isInput ? OrtApi.SessionGetInputCount(_handle, &count) : OrtApi.SessionGetOutputCount(_handle, &count));
        var infos = new TensorInfo[(int)count];
        nint allocator = OrtEnvironment.DefaultAllocator;
        for (nuint i = 0; i < count; i++)
        {
            nint namePtr;
            OrtApi.Check(isInput
                ? OrtApi.SessionGetInputName(_handle, i, allocator, &namePtr)
                : OrtApi.SessionGetOutputName(_handle, i, allocator, &namePtr));
            string name = Marshal.PtrToStringUTF8(namePtr) ?? string.Empty;
            OrtApi.Check(OrtApi.AllocatorFree(allocator, (void*)namePtr));

            nint typeInfo;
            OrtApi.Check(isInput
                ? OrtApi.SessionGetInputTypeInfo(_handle, i, &typeInfo)
                : OrtApi.SessionGetOutputTypeInfo(_handle, i, &typeInfo));
            try
            {
                nint tensorInfo;
                OrtApi.Check(OrtApi.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo));
                infos[(int)i] = tensorInfo == 0
                    ? new TensorInfo(name, TensorElementType.Undefined, [], [])
                    : ReadShape(name, tensorInfo);
            }
            finally
            {
                OrtApi.ReleaseTypeInfo(typeInfo);
            }
        }
        return infos;
    }

    internal static TensorInfo ReadShape(string name, nint tensorInfo)
    {
        int elementType;
        OrtApi.Check(OrtApi.GetTensorElementType(tensorInfo, &elementType));
        nuint rank;
        OrtApi.Check(OrtApi.GetDimensionsCount(tensorInfo, &rank));
        var dims = new long[(int)rank];
        var symbols = new nint[(int)rank];
        var symbolic = new string[(int)rank];
        if (rank > 0)
        {
            fixed (long* d = dims)
            fixed (nint* s = symbols)
            {
                OrtApi.Check(OrtApi.GetDimensions(tensorInfo, d, rank));
                OrtApi.Check(OrtApi.GetSymbolicDimensions(tensorInfo, s, rank));
            }
            for (int i = 0; i < (int)rank; i++)
            {
                symbolic[i] = symbols[i] == 0 ? string.Empty : Marshal.PtrToStringUTF8(symbols[i]) ?? string.Empty;
            }
        }
        return new TensorInfo(name, (TensorElementType)elementType, dims, symbolic);
    }

    /// <summary>
    /// Runs the graph. Inputs are pinned, not copied; outputs are copied into managed tensors.
    /// Cancelling <paramref name="cancellationToken"/> terminates the native run.
    /// </summary>
    public IReadOnlyDictionary<string, ITensor> Run(
        IReadOnlyList<KeyValuePair<string, ITensor>> inputs,
        IReadOnlyList<string> outputNames,
        CancellationToken cancellationToken = default) => Run(inputs, outputNames, null, cancellationToken);

    /// <summary>
    /// Runs the graph with outputs written straight into <paramref name="outputBuffers"/> where one is given (its shape
    /// must be the output's exact shape): no second copy, and nothing left in ONNX Runtime's arena. Null entries are
    /// allocated by ONNX Runtime and copied out as usual.
    /// </summary>
    public IReadOnlyDictionary<string, ITensor> Run(
        IReadOnlyList<KeyValuePair<string, ITensor>> inputs,
        IReadOnlyList<string> outputNames,
        IReadOnlyList<ITensor?>? outputBuffers,
        CancellationToken cancellationToken = default) => Run(inputs, outputNames, outputBuffers, shrinkCpuArena: false, cancellationToken);

    /// <summary>As <see cref="Run(IReadOnlyList{KeyValuePair{string, ITensor}}, IReadOnlyList{string}, IReadOnlyList{ITensor?}?, CancellationToken)"/>.</summary>
    /// <param name="shrinkCpuArena">
    /// After the run, ONNX Runtime's CPU arena gives back to the system what it holds beyond what is in use, so that the
    /// peak of an unusually large run does not stay resident. Without it the arena keeps its pages for the next run,
    /// which then faults none in again: about 12 µs a page on a virtual machine, a quarter of a 512² SmolVLM view's run
    /// for its 112 MB of activations (bench/README.md).
    /// </param>
    public IReadOnlyDictionary<string, ITensor> Run(
        IReadOnlyList<KeyValuePair<string, ITensor>> inputs,
        IReadOnlyList<string> outputNames,
        IReadOnlyList<ITensor?>? outputBuffers,
        bool shrinkCpuArena,
        CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_handle == 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        using var run = new NativeRun(inputs, outputNames, outputBuffers);
        using var runOptions = new TerminableRunOptions(cancellationToken, shrinkCpuArena);
        nint status;
        fixed (nint* inNames = run.InputNames)
        fixed (nint* inValues = run.InputValues)
        fixed (nint* outNames = run.OutputNames)
        fixed (nint* outValues = run.OutputValues)
        {
            status = OrtApi.Run(_handle, runOptions.Handle, inNames, inValues, (nuint)inputs.Count, outNames, (nuint)outputNames.Count, outValues);
        }
        if (status != 0 && cancellationToken.IsCancellationRequested)
        {
            OrtApi.ReleaseStatus(status);
            throw new OperationCanceledException(cancellationToken);
        }
        OrtApi.Check(status);
        var results = new Dictionary<string, ITensor>(outputNames.Count);
        for (int i = 0; i < outputNames.Count; i++)
        {
            results[outputNames[i]] = outputBuffers?[i] ?? OrtValues.CopyToManaged(run.OutputValues[i]);
        }
        return results;
    }

    public void Dispose()
    {
        nint handle = Interlocked.Exchange(ref _handle, 0);
        if (handle != 0)
        {
            OrtApi.ReleaseSession(handle);
        }
    }
}
