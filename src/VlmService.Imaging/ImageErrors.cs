namespace VlmService.Imaging;

/// <summary>Why an image was refused; the host maps each kind to its HTTP status.</summary>
public enum ImageErrorKind
{
    /// <summary>Empty, truncated, corrupt, or not an image at all (400).</summary>
    Undecodable,

    /// <summary>A real image format that the service does not accept (415).</summary>
    UnsupportedFormat,

    /// <summary>Over the configured pixel or side limit, decided from the header (413).</summary>
    TooLarge,
}

public sealed class ImageException : Exception
{
    public ImageException(ImageErrorKind kind, string message) : base(message) => Kind = kind;

    public ImageException() : base("Image error") { }

    public ImageException(string message) : base(message) { }

    public ImageException(string message, Exception innerException) : base(message, innerException) { }

    public ImageErrorKind Kind { get; }
}
