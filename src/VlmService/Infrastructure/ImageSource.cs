namespace VlmService.Infrastructure;

/// <summary>Turns the <c>image</c> field of a JSON request into bytes: raw base64 or a base64 <c>data:</c> URL.</summary>
public static class ImageSource
{
    public static byte[] Decode(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new RequestValidationException($"'{field}' is required: a base64 image or a data: URL.");
        }
        string text = value.Trim();
        if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            throw new RequestValidationException($"'{field}': fetching images from URLs is not enabled on this server; send the image as base64 or as a multipart file.");
        }
        if (text.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            int comma = text.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0 || !text.AsSpan(0, comma).EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                throw new RequestValidationException($"'{field}': only base64 data: URLs are accepted (data:image/png;base64,...).");
            }
            text = text[(comma + 1)..];
        }
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new RequestValidationException($"'{field}' is not valid base64.");
        }
    }
}
