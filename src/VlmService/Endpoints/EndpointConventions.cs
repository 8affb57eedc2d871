namespace VlmService.Endpoints;

internal static class EndpointConventions
{
    /// <summary>Declares the problem responses an endpoint can give, for the OpenAPI document.</summary>
    public static RouteHandlerBuilder ProducesProblems(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (int status in statuses)
        {
            builder.ProducesProblem(status);
        }
        return builder;
    }
}
