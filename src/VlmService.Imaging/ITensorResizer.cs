namespace VlmService.Imaging;

/// <summary>
/// Bilinear resizing of a float image [channels, height, width], as ONNX <c>Resize</c> (linear, half-pixel) does it.
/// The reference resizes normalized tiles with that operator, so the service runs the same operator.
/// </summary>
public interface ITensorResizer
{
    float[] Resize(float[] chw, int channels, int height, int width, int newHeight, int newWidth);
}
