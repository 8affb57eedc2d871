using VlmService.Contracts;

namespace VlmService.Infrastructure;

/// <summary>An image field's bytes, or a 400 naming the field and what is wrong with it.</summary>
public static class ImageSource
{
    public static byte[] Decode(ImageField? value, string field) => (value?.Bytes, value?.Problem) switch
    {
        ({ } bytes, _) => bytes,
        (_, null or ImageFieldProblem.Missing) => throw new RequestValidationException($"'{field}' is required: a base64 image or a data: URL."),
        (_, ImageFieldProblem.Url) => throw new RequestValidationException(
            $"'{field}': fetching images from URLs is not enabled on this server; send the image as base64 or as a multipart file."),
        (_, ImageFieldProblem.DataUrlNotBase64) => throw new RequestValidationException($"'{field}': only base64 data: URLs are accepted (data:image/png;base64,...)."),
        _ => throw new RequestValidationException($"'{field}' is not valid base64."),
    };
}
