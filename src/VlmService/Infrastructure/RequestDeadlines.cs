using System.Globalization;
using Microsoft.AspNetCore.Mvc;

namespace VlmService.Infrastructure;

/// <summary>
/// <c>X-Request-Timeout-Ms</c>: the request's cancellation token fires at the deadline, so queued work past it is
/// dropped before it runs and a running sequence stops at its next step; the answer is then 504. (The outer
/// exception handler would call any cancellation with an aborted token a client disconnect, so the deadline's
/// own expiry is answered here.)
/// </summary>
internal sealed class RequestDeadlineMiddleware(RequestDelegate next, TimeProvider time, IProblemDetailsService problems)
{
    public const string Header = "X-Request-Timeout-Ms";
    private const int MaxMilliseconds = 600_000;

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Headers.TryGetValue(Header, out var values))
        {
            await next(context);
            return;
        }
        if (!int.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out int milliseconds) || milliseconds is < 1 or > MaxMilliseconds)
        {
            await WriteProblemAsync(context, StatusCodes.Status400BadRequest, "Invalid request",
                $"{Header} must be a whole number of milliseconds between 1 and {MaxMilliseconds}.");
            return;
        }
        CancellationToken clientGone = context.RequestAborted;
        using var timer = new CancellationTokenSource(TimeSpan.FromMilliseconds(milliseconds), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(clientGone, timer.Token);
        context.RequestAborted = linked.Token;
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !clientGone.IsCancellationRequested && !context.Response.HasStarted)
        {
            context.RequestAborted = clientGone;
            context.Response.Clear();
            await WriteProblemAsync(context, StatusCodes.Status504GatewayTimeout, "Deadline exceeded",
                $"The request's deadline ({Header}: {milliseconds}) passed before it finished; its remaining work was dropped.");
        }
    }

    private async Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
}
