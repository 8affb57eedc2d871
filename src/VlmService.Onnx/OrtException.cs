namespace VlmService.Onnx;

/// <summary>An error reported by ONNX Runtime, with its <c>OrtErrorCode</c>.</summary>
public sealed class OrtException : Exception
{
    public OrtException(string message, int code = 1) : base(message) => ErrorCode = code;

    public OrtException() : base("ONNX Runtime error") { }

    public OrtException(string message, Exception inner) : base(message, inner) { }

    public int ErrorCode { get; }
}
