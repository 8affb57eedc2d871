using VlmService.Imaging;
using VlmService.ModelKit;
using VlmService.Onnx;

namespace VlmService.Engine.Generation;

/// <summary>Bilinear resizing with the ONNX <c>Resize</c> operator, the one the reference's tile resizing runs.</summary>
public sealed class OrtTensorResizer : ITensorResizer, IDisposable
{
    private readonly InferenceSession _session = InferenceSession.FromBytes(OperatorModels.BilinearResize(), "bilinear_resize",
        new SessionSettings { Provider = ExecutionProviderKind.Cpu, IntraOpThreads = 1 });

    public float[] Resize(float[] chw, int channels, int height, int width, int newHeight, int newWidth)
    {
        var outputs = _session.Run(
        [
            new("x", new Tensor<float>(chw, 1, channels, height, width)),
            new("s", new Tensor<long>([1, channels, newHeight, newWidth], 4)),
        ], ["y"]);
        return ((Tensor<float>)outputs["y"]).Data;
    }

    public void Dispose() => _session.Dispose();
}
