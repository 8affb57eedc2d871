using VlmService.Engine;

namespace VlmService.Infrastructure;

/// <summary>The service's web application, built in the order the registrations depend on.</summary>
public static class VlmHost
{
    public static WebApplication Build(string[] args)
    {
        // Settings come from the appsettings.json beside the binaries, whatever directory the service is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddVlmLogging();
        builder.Services.AddVlmEngine();
        // After the web host's own services, whose memory pool factory it replaces.
        builder.Services.AddVlmApi();
        WebApplication app = builder.Build();
        app.UseVlmApi();
        return app;
    }
}
