using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace VlmService.Infrastructure;

/// <summary>
/// Reads a request body as JSON or as multipart form data. Each endpoint supplies how to build its request from
/// a form; both paths end in the same request record, so validation happens once.
/// </summary>
public static class RequestBodies
{
    public const long MaxImageBytes = 32 * 1024 * 1024;

    public static async Task<T> ReadAsync<T>(HttpRequest request, Func<IFormCollection, Task<T>> fromForm, CancellationToken cancellationToken)
        where T : class
    {
        if (request.HasJsonContentType())
        {
            JsonSerializerOptions options = request.HttpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
            try
            {
                return await JsonSerializer.DeserializeAsync<T>(request.Body, options, cancellationToken).ConfigureAwait(false)
                    ?? throw new RequestValidationException("The JSON body is empty (null).");
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

    /// <summary>A file part as a base64 string, so form requests flow through the same validation as JSON.</summary>
    public static async Task<string> FileAsBase64Async(IFormFile file)
    {
        if (file.Length == 0)
        {
            throw new RequestValidationException($"The file '{file.FileName}' is empty (0 bytes).");
        }
        if (file.Length > MaxImageBytes)
        {
            throw new RequestValidationException($"The file '{file.FileName}' is larger than {MaxImageBytes / (1024 * 1024)} MiB.");
        }
        using var buffer = new MemoryStream((int)file.Length);
        await file.CopyToAsync(buffer).ConfigureAwait(false);
        return Convert.ToBase64String(buffer.GetBuffer(), 0, (int)buffer.Length);
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
