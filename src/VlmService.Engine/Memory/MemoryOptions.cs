namespace VlmService.Engine.Memory;

/// <summary>How the process hands unused native memory back.</summary>
public sealed record MemoryOptions
{
    public const string Section = "Memory";

    /// <summary>
    /// How often the C heap's free memory is checked and, past <see cref="NativeHeapTrimmer.WorthTrimmingBytes"/>,
    /// handed back to the OS; zero turns it off.
    /// </summary>
    public TimeSpan TrimInterval { get; set; } = TimeSpan.FromSeconds(2);
}
