using System.Runtime.InteropServices;
using VlmService.Native;

namespace VlmService.Onnx;

/// <summary>
/// The ONNX Runtime C API function table. Entries are read by their index in <c>struct OrtApi</c>
/// of onnxruntime_c_api.h; the table only ever grows, so these indices hold for every version ≥ 11.
/// Every entry used here is exercised by a unit test, because a wrong index kills the process.
/// </summary>
internal static unsafe class OrtApi
{
    public const uint ApiVersion = 23;

    private static readonly Lazy<nint> Table = new(LoadTable, LazyThreadSafetyMode.ExecutionAndPublication);

    private static nint LoadTable()
    {
        nint library = NativeLibraryLocator.Load("libonnxruntime.so.1");
        var getApiBase = (delegate* unmanaged<nint>)NativeLibrary.GetExport(library, "OrtGetApiBase");
        nint apiBase = getApiBase();
        var getApi = (delegate* unmanaged<uint, nint>)Marshal.ReadIntPtr(apiBase, 0);
        nint api = getApi(ApiVersion);
        if (api == 0)
        {
            throw new OrtException($"ONNX Runtime does not offer C API version {ApiVersion}; version {VersionString(apiBase)} is loaded.");
        }
        return api;
    }

    private static string VersionString(nint apiBase)
    {
        var getVersion = (delegate* unmanaged<nint>)Marshal.ReadIntPtr(apiBase, nint.Size);
        return Marshal.PtrToStringUTF8(getVersion()) ?? "?";
    }

    private static nint Fn(int index) => Marshal.ReadIntPtr(Table.Value, index * nint.Size);

    // Status
    public static delegate* unmanaged<nint, int> GetErrorCode => (delegate* unmanaged<nint, int>)Fn(1);
    public static delegate* unmanaged<nint, nint> GetErrorMessage => (delegate* unmanaged<nint, nint>)Fn(2);
    public static delegate* unmanaged<nint, void> ReleaseStatus => (delegate* unmanaged<nint, void>)Fn(93);

    // Env
    public static delegate* unmanaged<int, byte*, nint*, nint> CreateEnv => (delegate* unmanaged<int, byte*, nint*, nint>)Fn(3);
    public static delegate* unmanaged<nint, void> ReleaseEnv => (delegate* unmanaged<nint, void>)Fn(92);
    public static delegate* unmanaged<int, byte*, nint, nint*, nint> CreateEnvWithGlobalThreadPools => (delegate* unmanaged<int, byte*, nint, nint*, nint>)Fn(119);

    // Threading options (the shared pool)
    public static delegate* unmanaged<nint*, nint> CreateThreadingOptions => (delegate* unmanaged<nint*, nint>)Fn(121);
    public static delegate* unmanaged<nint, void> ReleaseThreadingOptions => (delegate* unmanaged<nint, void>)Fn(122);
    public static delegate* unmanaged<nint, int, nint> SetGlobalIntraOpNumThreads => (delegate* unmanaged<nint, int, nint>)Fn(147);
    public static delegate* unmanaged<nint, int, nint> SetGlobalInterOpNumThreads => (delegate* unmanaged<nint, int, nint>)Fn(148);
    public static delegate* unmanaged<nint, int, nint> SetGlobalSpinControl => (delegate* unmanaged<nint, int, nint>)Fn(149);

    // Session
    public static delegate* unmanaged<nint, byte*, nint, nint*, nint> CreateSession => (delegate* unmanaged<nint, byte*, nint, nint*, nint>)Fn(7);
    public static delegate* unmanaged<nint, void*, nuint, nint, nint*, nint> CreateSessionFromArray => (delegate* unmanaged<nint, void*, nuint, nint, nint*, nint>)Fn(8);
    public static delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint> Run =>
        (delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint>)Fn(9);
    public static delegate* unmanaged<nint, nuint*, nint> SessionGetInputCount => (delegate* unmanaged<nint, nuint*, nint>)Fn(30);
    public static delegate* unmanaged<nint, nuint*, nint> SessionGetOutputCount => (delegate* unmanaged<nint, nuint*, nint>)Fn(31);
    public static delegate* unmanaged<nint, nuint, nint*, nint> SessionGetInputTypeInfo => (delegate* unmanaged<nint, nuint, nint*, nint>)Fn(33);
    public static delegate* unmanaged<nint, nuint, nint*, nint> SessionGetOutputTypeInfo => (delegate* unmanaged<nint, nuint, nint*, nint>)Fn(34);
    public static delegate* unmanaged<nint, nuint, nint, nint*, nint> SessionGetInputName => (delegate* unmanaged<nint, nuint, nint, nint*, nint>)Fn(36);
    public static delegate* unmanaged<nint, nuint, nint, nint*, nint> SessionGetOutputName => (delegate* unmanaged<nint, nuint, nint, nint*, nint>)Fn(37);
    public static delegate* unmanaged<nint, void> ReleaseSession => (delegate* unmanaged<nint, void>)Fn(95);

    // Session options
    public static delegate* unmanaged<nint*, nint> CreateSessionOptions => (delegate* unmanaged<nint*, nint>)Fn(10);
    public static delegate* unmanaged<nint, nint> DisableMemPattern => (delegate* unmanaged<nint, nint>)Fn(17);
    public static delegate* unmanaged<nint, int, nint> SetSessionGraphOptimizationLevel => (delegate* unmanaged<nint, int, nint>)Fn(23);
    public static delegate* unmanaged<nint, int, nint> SetIntraOpNumThreads => (delegate* unmanaged<nint, int, nint>)Fn(24);
    public static delegate* unmanaged<nint, int, nint> SetInterOpNumThreads => (delegate* unmanaged<nint, int, nint>)Fn(25);
    public static delegate* unmanaged<nint, nint> DisablePerSessionThreads => (delegate* unmanaged<nint, nint>)Fn(120);
    public static delegate* unmanaged<nint, byte*, byte*, nint> AddSessionConfigEntry => (delegate* unmanaged<nint, byte*, byte*, nint>)Fn(130);
    public static delegate* unmanaged<nint, void> ReleaseSessionOptions => (delegate* unmanaged<nint, void>)Fn(100);
    public static delegate* unmanaged<nint, nint, nint> SessionOptionsAppendExecutionProvider_CUDA_V2 => (delegate* unmanaged<nint, nint, nint>)Fn(204);
    public static delegate* unmanaged<nint*, nint> CreateCUDAProviderOptions => (delegate* unmanaged<nint*, nint>)Fn(205);
    public static delegate* unmanaged<nint, byte**, byte**, nuint, nint> UpdateCUDAProviderOptions => (delegate* unmanaged<nint, byte**, byte**, nuint, nint>)Fn(206);
    public static delegate* unmanaged<nint, void> ReleaseCUDAProviderOptions => (delegate* unmanaged<nint, void>)Fn(208);
    public static delegate* unmanaged<byte***, int*, nint> GetAvailableProviders => (delegate* unmanaged<byte***, int*, nint>)Fn(125);
    public static delegate* unmanaged<byte**, int, nint> ReleaseAvailableProviders => (delegate* unmanaged<byte**, int, nint>)Fn(126);

    // Run options
    public static delegate* unmanaged<nint*, nint> CreateRunOptions => (delegate* unmanaged<nint*, nint>)Fn(39);
    public static delegate* unmanaged<nint, nint> RunOptionsSetTerminate => (delegate* unmanaged<nint, nint>)Fn(46);
    public static delegate* unmanaged<nint, byte*, byte*, nint> AddRunConfigEntry => (delegate* unmanaged<nint, byte*, byte*, nint>)Fn(165);
    public static delegate* unmanaged<nint, void> ReleaseRunOptions => (delegate* unmanaged<nint, void>)Fn(97);

    // Values
    public static delegate* unmanaged<nint, void*, nuint, long*, nuint, int, nint*, nint> CreateTensorWithDataAsOrtValue =>
        (delegate* unmanaged<nint, void*, nuint, long*, nuint, int, nint*, nint>)Fn(49);
    public static delegate* unmanaged<nint, void**, nint> GetTensorMutableData => (delegate* unmanaged<nint, void**, nint>)Fn(51);
    public static delegate* unmanaged<nint, nint*, nint> GetTensorTypeAndShape => (delegate* unmanaged<nint, nint*, nint>)Fn(65);
    public static delegate* unmanaged<nint, void> ReleaseValue => (delegate* unmanaged<nint, void>)Fn(96);

    // Type info
    public static delegate* unmanaged<nint, nint*, nint> CastTypeInfoToTensorInfo => (delegate* unmanaged<nint, nint*, nint>)Fn(55);
    public static delegate* unmanaged<nint, int*, nint> GetTensorElementType => (delegate* unmanaged<nint, int*, nint>)Fn(60);
    public static delegate* unmanaged<nint, nuint*, nint> GetDimensionsCount => (delegate* unmanaged<nint, nuint*, nint>)Fn(61);
    public static delegate* unmanaged<nint, long*, nuint, nint> GetDimensions => (delegate* unmanaged<nint, long*, nuint, nint>)Fn(62);
    public static delegate* unmanaged<nint, nint*, nuint, nint> GetSymbolicDimensions => (delegate* unmanaged<nint, nint*, nuint, nint>)Fn(63);
    public static delegate* unmanaged<nint, void> ReleaseTypeInfo => (delegate* unmanaged<nint, void>)Fn(98);
    public static delegate* unmanaged<nint, void> ReleaseTensorTypeAndShapeInfo => (delegate* unmanaged<nint, void>)Fn(99);

    // Memory
    public static delegate* unmanaged<int, int, nint*, nint> CreateCpuMemoryInfo => (delegate* unmanaged<int, int, nint*, nint>)Fn(69);
    public static delegate* unmanaged<nint*, nint> GetAllocatorWithDefaultOptions => (delegate* unmanaged<nint*, nint>)Fn(78);
    public static delegate* unmanaged<nint, void*, nint> AllocatorFree => (delegate* unmanaged<nint, void*, nint>)Fn(76);
    public static delegate* unmanaged<byte*, int, int, int, nint*, nint> CreateMemoryInfo => (delegate* unmanaged<byte*, int, int, int, nint*, nint>)Fn(68);
    public static delegate* unmanaged<nint, byte**, nint> MemoryInfoGetName => (delegate* unmanaged<nint, byte**, nint>)Fn(71);
    public static delegate* unmanaged<nint, nuint, void**, nint> AllocatorAlloc => (delegate* unmanaged<nint, nuint, void**, nint>)Fn(75);
    public static delegate* unmanaged<nint, nint*, nint> AllocatorGetInfo => (delegate* unmanaged<nint, nint*, nint>)Fn(77);
    public static delegate* unmanaged<nint, void> ReleaseMemoryInfo => (delegate* unmanaged<nint, void>)Fn(94);
    public static delegate* unmanaged<nint, nint, nint*, nint> CreateAllocator => (delegate* unmanaged<nint, nint, nint*, nint>)Fn(131);
    public static delegate* unmanaged<nint, void> ReleaseAllocator => (delegate* unmanaged<nint, void>)Fn(132);
    public static delegate* unmanaged<nint, nint*, nint> AllocatorGetStats => (delegate* unmanaged<nint, nint*, nint>)Fn(319);

    // Key-value pairs (allocator statistics)
    public static delegate* unmanaged<nint, byte*, byte*> GetKeyValue => (delegate* unmanaged<nint, byte*, byte*>)Fn(297);
    public static delegate* unmanaged<nint, void> ReleaseKeyValuePairs => (delegate* unmanaged<nint, void>)Fn(300);

    /// <summary>Throws when <paramref name="status"/> is an error, releasing it either way.</summary>
    public static void Check(nint status)
    {
        if (status == 0)
        {
            return;
        }
        int code = GetErrorCode(status);
        string message = Marshal.PtrToStringUTF8(GetErrorMessage(status)) ?? "unknown error";
        ReleaseStatus(status);
        throw new OrtException(message, code);
    }
}
