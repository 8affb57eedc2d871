namespace VlmService.Imaging;

/// <summary>
/// Bilinear resizing of a float image [channels, height, width], as ONNX <c>Resize</c> (linear, half-pixel) does it.
/// The reference resizes normalized tiles with that operator, so the service runs the same operator.
/// </summary>
public interface ITensorResizer
{
    /// <summary>Resizes <paramref name="source"/> into <paramref name="destination"/> ([channels, newHeight, newWidth]).</summary>
    void Resize(ReadOnlySpan<float> source, int channels, int height, int width, Span<float> destination, int newHeight, int newWidth);
}
