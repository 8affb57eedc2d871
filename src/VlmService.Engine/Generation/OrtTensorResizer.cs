using VlmService.Imaging;
using VlmService.ModelKit;
using VlmService.Onnx;

namespace VlmService.Engine.Generation;

/// <summary>Bilinear resizing with the ONNX <c>Resize</c> operator, the one the reference's tile resizing runs.</summary>
public sealed unsafe class OrtTensorResizer : ITensorResizer, IDisposable
{
    private readonly InferenceSession _session = InferenceSession.FromBytes(OperatorModels.BilinearResize(), "bilinear_resize",
        new SessionSettings { Provider = ExecutionProviderKind.Cpu, IntraOpThreads = 1 });

    public void Resize(ReadOnlySpan<float> source, int channels, int height, int width, Span<float> destination, int newHeight, int newWidth)
    {
        // Read and written in place: the source may be a native buffer, the destination the request's own tile array.
        fixed (float* x = source)
        fixed (float* y = destination)
        {
            _session.Run(
            [
                new("x", new UnmanagedTensor<float>(x, source.Length, 1, channels, height, width)),
                new("s", new Tensor<long>([1, channels, newHeight, newWidth], 4)),
            ], ["y"], [new UnmanagedTensor<float>(y, destination.Length, 1, channels, newHeight, newWidth)]);
        }
    }

    public void Dispose() => _session.Dispose();
}
