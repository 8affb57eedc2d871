using System.Runtime.InteropServices;
using System.Text;

namespace VlmService.Onnx;

/// <summary>Provider discovery and CUDA registration through <c>SessionOptionsAppendExecutionProvider_CUDA_V2</c>.</summary>
public static unsafe class ExecutionProviders
{
    public const string Cuda = "CUDAExecutionProvider";
    public const string Cpu = "CPUExecutionProvider";

    /// <summary>Providers compiled into the loaded ONNX Runtime (not a promise that they load).</summary>
    public static IReadOnlyList<string> Available()
    {
        byte** names;
        int count;
        OrtApi.Check(OrtApi.GetAvailableProviders(&names, &count));
        var result = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            result.Add(Marshal.PtrToStringUTF8((nint)names[i]) ?? string.Empty);
        }
        OrtApi.Check(OrtApi.ReleaseAvailableProviders(names, count));
        return result;
    }

    /// <summary>Null when CUDA can be registered for <paramref name="deviceId"/>, otherwise ONNX Runtime's reason.</summary>
    public static string? CudaUnavailableReason(int deviceId)
    {
        nint options;
        OrtApi.Check(OrtApi.CreateSessionOptions(&options));
        try
        {
            AppendCuda(options, deviceId);
            return null;
        }
        catch (OrtException ex)
        {
            return ex.Message;
        }
        finally
        {
            OrtApi.ReleaseSessionOptions(options);
        }
    }

    /// <summary>Appends CUDA to <paramref name="sessionOptions"/>; throws <see cref="OrtException"/> when it cannot load.</summary>
    internal static void AppendCuda(nint sessionOptions, int deviceId)
    {
        // Loading the CUDA provider logs through the environment's logger; before any session has created the
        // environment, ONNX Runtime answers "Attempt to use DefaultLogger but none has been registered" instead.
        _ = OrtEnvironment.Handle;
        nint cudaOptions;
        OrtApi.Check(OrtApi.CreateCUDAProviderOptions(&cudaOptions));
        try
        {
            byte[] key = Encoding.UTF8.GetBytes("device_id\0");
            byte[] value = Encoding.UTF8.GetBytes($"{deviceId}\0");
            fixed (byte* k = key)
            fixed (byte* v = value)
            {
                byte* keys = k;
                byte* values = v;
                OrtApi.Check(OrtApi.UpdateCUDAProviderOptions(cudaOptions, &keys, &values, 1));
            }
            OrtApi.Check(OrtApi.SessionOptionsAppendExecutionProvider_CUDA_V2(sessionOptions, cudaOptions));
        }
        finally
        {
            OrtApi.ReleaseCUDAProviderOptions(cudaOptions);
        }
    }
}
