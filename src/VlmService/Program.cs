using VlmService.Engine;
using VlmService.Infrastructure;

// Before any native library allocates: large inference buffers go back to the OS when freed (see NativeHeap).
VlmService.Native.NativeHeap.ReturnLargeBlocksPromptly();

// Settings come from the appsettings.json beside the binaries, whatever directory the service is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddVlmLogging();
builder.Services.AddVlmEngine();
builder.Services.AddVlmApi();

var app = builder.Build();
app.UseVlmApi();
app.Run();

public partial class Program;
