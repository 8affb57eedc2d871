using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using VlmService.Engine.Models;

namespace VlmService.Tests.Api;

/// <summary>The service in memory over a chosen models root (or demo models in a chosen cache folder), with optional settings.</summary>
public sealed class VlmServiceFactory(string? modelsRoot, string? demoCache = null, IReadOnlyDictionary<string, string>? settings = null)
    : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        if (modelsRoot is not null)
        {
            builder.UseSetting("Models:Root", modelsRoot);
        }
        if (demoCache is not null)
        {
            builder.UseSetting("Models:DemoCache", demoCache);
        }
        builder.UseSetting("Models:IntraOpThreads", "1");
        foreach ((string key, string value) in settings ?? new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }
    }

    /// <summary>A client once every model folder has been loaded (or reported failed).</summary>
    public async Task<HttpClient> ReadyClientAsync()
    {
        HttpClient client = CreateClient();
        await Services.GetRequiredService<ModelRegistry>().WhenReady.WaitAsync(TimeSpan.FromMinutes(2));
        return client;
    }
}
