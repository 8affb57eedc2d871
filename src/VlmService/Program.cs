using VlmService.Infrastructure;

// Before any native library allocates: large inference buffers go back to the OS when freed (see NativeHeap).
VlmService.Native.NativeHeap.ReturnLargeBlocksPromptly();

VlmHost.Build(args).Run();

public partial class Program;
