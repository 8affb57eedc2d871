namespace VlmService.Tests;

/// <summary>Where the repository, the shared reference files and the test images are.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Shared => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    public static string Reference(string name) => Path.Combine(Shared, "reference", name);

    public static string Images => Path.Combine(Shared, "images");

    public static IEnumerable<string> Photos => Directory.GetFiles(Path.Combine(Images, "photos")).Order(StringComparer.Ordinal);

    public static IEnumerable<string> EdgeImages => Directory.GetFiles(Path.Combine(Images, "edge")).Order(StringComparer.Ordinal);

    public static string ReferenceRunner => Path.Combine(RepoRoot, "tests", "reference-runner");

    private static string FindRepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "VlmService.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }
        return dir ?? throw new DirectoryNotFoundException("VlmService.sln not found above the test binaries.");
    }
}
