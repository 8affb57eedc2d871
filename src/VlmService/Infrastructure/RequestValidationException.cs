namespace VlmService.Infrastructure;

/// <summary>A request field is missing or wrong; answered 400 naming the field.</summary>
public sealed class RequestValidationException : Exception
{
    public RequestValidationException(string message) : base(message) { }

    public RequestValidationException() : base("Invalid request") { }

    public RequestValidationException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>The request body's media type is neither JSON nor multipart form data (415).</summary>
public sealed class UnsupportedMediaTypeException : Exception
{
    public UnsupportedMediaTypeException(string message) : base(message) { }

    public UnsupportedMediaTypeException() : base("Unsupported media type") { }

    public UnsupportedMediaTypeException(string message, Exception innerException) : base(message, innerException) { }
}
