using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using VlmService.Contracts;

namespace VlmService.Infrastructure;

/// <summary>
/// Reads a request body as JSON or as multipart form data. Each endpoint supplies how to build its request from
/// a form; both paths end in the same request record, so validation happens once.
/// </summary>
public static class RequestBodies
{
    public const long MaxImageBytes = 32 * 1024 * 1024;

    /// <summary>
    /// JSON bodies up to this size (a photo of a few megabytes as base64) are read whole into pooled memory; larger
    /// ones, and bodies of unknown length, are parsed as they stream in, so the pool never keeps a huge buffer.
    /// </summary>
    public const int MaxBufferedJsonBytes = 8 * 1024 * 1024;

    public static async Task<T> ReadAsync<T>(HttpRequest request, Func<IFormCollection, Task<T>> fromForm, CancellationToken cancellationToken)
        where T : class
    {
        if (request.HasJsonContentType())
        {
            JsonSerializerOptions options = request.HttpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
            try
            {
                T? body = request.ContentLength is long length and <= MaxBufferedJsonBytes
                    ? await ReadBufferedAsync<T>(request.Body, (int)length, options, cancellationToken).ConfigureAwait(false)
                    : await JsonSerializer.DeserializeAsync<T>(request.Body, options, cancellationToken).ConfigureAwait(false);
                return body ?? throw new RequestValidationException("The JSON body is empty (null).");
            }
            catch (JsonException ex)
            {
                throw new RequestValidationException($"The JSON body is malformed: {ex.Message}");
            }
        }
        if (request.HasFormContentType)
        {
            IFormCollection form = await request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
            return await fromForm(form).ConfigureAwait(false);
        }
        throw new UnsupportedMediaTypeException(
            $"Content-Type '{request.ContentType ?? "(none)"}' is not accepted; send application/json or multipart/form-data.");
    }

    /// <summary>A file part as an image field, so form requests flow through the same validation as JSON.</summary>
    public static async Task<ImageField> FileAsImageAsync(IFormFile file)
    {
        if (file.Length == 0)
        {
            throw new RequestValidationException($"The file '{file.FileName}' is empty (0 bytes).");
        }
        if (file.Length > MaxImageBytes)
        {
            throw new RequestValidationException($"The file '{file.FileName}' is larger than {MaxImageBytes / (1024 * 1024)} MiB.");
        }
        var bytes = new byte[file.Length];
        await using Stream stream = file.OpenReadStream();
        await stream.ReadExactlyAsync(bytes).ConfigureAwait(false);
        return ImageField.FromBytes(bytes);
    }

    /// <summary>
    /// A body of known length read whole into pooled memory and parsed in one pass. Read as a stream, the parser's
    /// buffer starts at 16 KB and doubles whenever a value does not fit, re-reading the value from its start each
    /// time: an image's base64 is one value, so a 180 KB one was scanned more than twice and copied at each doubling.
    /// </summary>
    private static async Task<T?> ReadBufferedAsync<T>(Stream body, int length, JsonSerializerOptions options, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            await body.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            return JsonSerializer.Deserialize<T>(buffer.AsSpan(0, length), options);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static string? Field(IFormCollection form, string name) =>
        form.TryGetValue(name, out var values) && values.Count > 0 ? values[^1] : null;

    public static bool? BoolField(IFormCollection form, string name) => Field(form, name) switch
    {
        null => null,
        string s when bool.TryParse(s, out bool b) => b,
        string s => throw new RequestValidationException($"'{name}' must be true or false, not '{s}'."),
    };

    public static double? DoubleField(IFormCollection form, string name) => Field(form, name) switch
    {
        null => null,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        string s => throw new RequestValidationException($"'{name}' must be a number, not '{s}'."),
    };

    public static int? IntField(IFormCollection form, string name) => Field(form, name) switch
    {
        null => null,
        string s when int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) => i,
        string s => throw new RequestValidationException($"'{name}' must be an integer, not '{s}'."),
    };
}
