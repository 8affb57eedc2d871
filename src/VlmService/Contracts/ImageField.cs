using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json.Serialization;
using VlmService.Infrastructure;

namespace VlmService.Contracts;

/// <summary>What is wrong with an image field: found while the body is read, reported by the endpoint, which knows the field's name.</summary>
public enum ImageFieldProblem
{
    None,
    Missing,
    Url,
    DataUrlNotBase64,
    NotBase64,
}

/// <summary>
/// The image of a request: base64 or a base64 <c>data:</c> URL in JSON, a file part in a form. A JSON field is decoded
/// from the body's UTF-8 bytes as it is read and is never a .NET string: as one, a photo's base64 would be copied
/// into UTF-16 (2.7 times the image's size, on the large-object heap) only to be decoded again.
/// </summary>
[JsonConverter(typeof(ImageFieldConverter))]
public sealed class ImageField
{
    private ImageField(byte[]? bytes, ImageFieldProblem problem)
    {
        Bytes = bytes;
        Problem = problem;
    }

    /// <summary>The image's bytes; null when <see cref="Problem"/> says why not.</summary>
    public byte[]? Bytes { get; }

    public ImageFieldProblem Problem { get; }

    public static ImageField FromBytes(byte[] bytes) => bytes.Length == 0 ? new(null, ImageFieldProblem.Missing) : new(bytes, ImageFieldProblem.None);

    /// <summary>Reads a field's text (UTF-8, unescaped): base64, whitespace allowed as base64 allows it, or a base64 data: URL.</summary>
    public static ImageField Parse(ReadOnlySpan<byte> text)
    {
        text = text.Trim(" \t\r\n"u8);
        if (StartsWithIgnoreCase(text, "http://"u8) || StartsWithIgnoreCase(text, "https://"u8))
        {
            return new(null, ImageFieldProblem.Url);
        }
        if (StartsWithIgnoreCase(text, "data:"u8))
        {
            int comma = text.IndexOf((byte)',');
            if (comma < ";base64".Length || !Ascii.EqualsIgnoreCase(text[(comma - ";base64".Length)..comma], ";base64"u8))
            {
                return new(null, ImageFieldProblem.DataUrlNotBase64);
            }
            text = text[(comma + 1)..];
        }
        // The exact size when no whitespace lies inside (the usual case); whitespace only makes it larger. Not zeroed
        // first: only the bytes the decoder writes are kept.
        int padding = text.EndsWith("=="u8) ? 2 : text.EndsWith("="u8) ? 1 : 0;
        byte[] bytes = GC.AllocateUninitializedArray<byte>(Math.Max(0, (text.Length / 4 * 3) - padding));
        if (Base64.DecodeFromUtf8(text, bytes, out _, out int written) != OperationStatus.Done)
        {
            return new(null, ImageFieldProblem.NotBase64);
        }
        return FromBytes(written == bytes.Length ? bytes : bytes.AsSpan(0, written).ToArray());
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> text, ReadOnlySpan<byte> prefix) =>
        text.Length >= prefix.Length && Ascii.EqualsIgnoreCase(text[..prefix.Length], prefix);
}
