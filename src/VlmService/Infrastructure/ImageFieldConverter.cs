using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using VlmService.Contracts;

namespace VlmService.Infrastructure;

/// <summary>Reads an image field straight from the JSON reader's bytes (see <see cref="ImageField"/>); writes it as base64.</summary>
public sealed class ImageFieldConverter : JsonConverter<ImageField>
{
    public override ImageField Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("An image must be a string: base64 or a base64 data: URL.");
        }
        if (!reader.HasValueSequence && !reader.ValueIsEscaped)
        {
            return ImageField.Parse(reader.ValueSpan);
        }
        // Escaped (a data: URL's "\/", base64 broken into lines with "\n") or split across buffers: unescape it first.
        int length = checked((int)(reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length));
        byte[] text = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            return ImageField.Parse(text.AsSpan(0, reader.CopyString(text)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(text);
        }
    }

    public override void Write(Utf8JsonWriter writer, ImageField value, JsonSerializerOptions options)
    {
        if (value.Bytes is { } bytes)
        {
            writer.WriteBase64StringValue(bytes);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
