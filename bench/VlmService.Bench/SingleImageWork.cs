using System.Diagnostics;
using VlmService.Imaging;
using VlmService.Onnx;

namespace VlmService.Bench;

/// <summary>
/// The work of one /embed call done in-process: decode and preprocess into one reused array (as the service reuses
/// its pixel arrays), then run the vision model at batch 1.
/// </summary>
internal sealed class SingleImageWork(InferenceSession session, DualEncoderImageProcessor processor, byte[] jpeg)
{
    private readonly float[] _pixels = new float[3 * processor.OutputSize.Height * processor.OutputSize.Width];
    private readonly string _output = ClipFolder.VisionOutput(session);

    /// <summary>Does the work once; returns the milliseconds of decode + preprocess and of the whole.</summary>
    public (double DecodeMs, double TotalMs) Run()
    {
        (int height, int width) = processor.OutputSize;
        long start = Stopwatch.GetTimestamp();
        processor.Process(jpeg, ImageLimits.Default, _pixels);
        double decode = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        session.Run([new("pixel_values", new Tensor<float>(_pixels, 1, 3, height, width))], [_output]);
        return (decode, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }
}
