using VlmService.Engine;
using VlmService.Infrastructure;

// Settings come from the appsettings.json beside the binaries, whatever directory the service is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddVlmLogging();
builder.Services.AddVlmEngine();
builder.Services.AddVlmApi();

var app = builder.Build();
app.UseVlmApi();
app.Run();

public partial class Program;
