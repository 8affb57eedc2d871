using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using VlmService.Engine.Batching;
using VlmService.Engine.Generation;
using VlmService.Engine.Models;
using VlmService.Imaging;

namespace VlmService.Infrastructure;

/// <summary>
/// Maps every failure a request can cause to an RFC 9457 problem response that names the problem.
/// Only a fault of the service itself is a 500. (A cancellation after the client went away never gets here:
/// the exception-handler middleware answers it with 499 before calling handlers.)
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        (int status, string title) = exception switch
        {
            RequestValidationException => (StatusCodes.Status400BadRequest, "Invalid request"),
            UnsupportedMediaTypeException => (StatusCodes.Status415UnsupportedMediaType, "Unsupported media type"),
            ImageException { Kind: ImageErrorKind.TooLarge } => (StatusCodes.Status413PayloadTooLarge, "Image too large"),
            ImageException { Kind: ImageErrorKind.UnsupportedFormat } => (StatusCodes.Status415UnsupportedMediaType, "Unsupported image format"),
            ImageException => (StatusCodes.Status400BadRequest, "Undecodable image"),
            ModelNotFoundException => (StatusCodes.Status404NotFound, "Unknown model"),
            CapabilityNotSupportedException => (StatusCodes.Status422UnprocessableEntity, "Not supported by this model"),
            QueueFullException => (StatusCodes.Status503ServiceUnavailable, "Server busy"),
            // The process ran into its memory limit (a container's, which the GC adopts as its heap limit) while this
            // request's work was allocating; the work is dropped and its memory freed, so a retry may well succeed.
            OutOfMemoryException => (StatusCodes.Status503ServiceUnavailable, "Out of memory"),
            CacheBudgetExceededException => (StatusCodes.Status422UnprocessableEntity, "Request exceeds the KV-cache budget"),
            BadHttpRequestException bad => (bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request too large" : "Bad request"),
            _ => (StatusCodes.Status500InternalServerError, "Internal error"),
        };
        if (status == StatusCodes.Status500InternalServerError)
        {
            LogUnhandled(logger, exception, context.Request.Path);
        }
        if (exception is QueueFullException full)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(full.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (exception is OutOfMemoryException)
        {
            LogOutOfMemory(logger, exception, context.Request.Path);
            context.Response.Headers.RetryAfter = OutOfMemoryRetrySeconds;
        }
        context.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = status,
                Title = title,
                Detail = status == StatusCodes.Status500InternalServerError ? "The server failed to process the request." : exception.Message,
            },
        }).ConfigureAwait(false);
    }

    /// <summary>Long enough for the failed work's memory to be collected.</summary>
    private const string OutOfMemoryRetrySeconds = "2";

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Out of memory on {Path}; answered 503")]
    private static partial void LogOutOfMemory(ILogger logger, Exception exception, PathString path);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, PathString path);
}
