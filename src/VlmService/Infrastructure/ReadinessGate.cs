using Microsoft.AspNetCore.Mvc;
using VlmService.Engine.Models;

namespace VlmService.Infrastructure;

/// <summary>Holds API requests that arrive while models are still loading, for a while, then answers 503.</summary>
internal sealed class ReadinessGate(ModelRegistry registry) : IEndpointFilter
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (!registry.IsReady)
        {
            try
            {
                await registry.WhenReady.WaitAsync(MaxWait, context.HttpContext.RequestAborted);
            }
            catch (TimeoutException)
            {
                context.HttpContext.Response.Headers.RetryAfter = "10";
                return TypedResults.Problem(new ProblemDetails
                {
                    Status = StatusCodes.Status503ServiceUnavailable,
                    Title = "Models are loading",
                    Detail = "The service is still loading its models; retry shortly.",
                });
            }
        }
        return await next(context);
    }
}
