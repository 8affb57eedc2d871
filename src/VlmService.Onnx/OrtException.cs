namespace VlmService.Onnx;

/// <summary>An error reported by ONNX Runtime, with its <c>OrtErrorCode</c>.</summary>
public sealed class OrtException : Exception
{
    public OrtException(string message, int code = 1) : base(message) => ErrorCode = code;

    public OrtException() : base("ONNX Runtime error") { }

    public OrtException(string message, Exception inner) : base(message, inner) { }

    public int ErrorCode { get; }

    /// <summary>ORT reports a run stopped through <c>RunOptionsSetTerminate</c> with this message.</summary>
    public bool IsTermination => Message.Contains("terminate", StringComparison.OrdinalIgnoreCase);
}
