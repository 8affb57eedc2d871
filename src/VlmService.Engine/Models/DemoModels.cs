using VlmService.ModelKit;

namespace VlmService.Engine.Models;

/// <summary>
/// Built-in demo models so a fresh start serves at once: tiny CLIP, SigLIP and SmolVLM folders written by the model kit
/// (generated tokenizers, random weights) into a cache folder on first start.
/// </summary>
internal static class DemoModels
{
    /// <summary>Bumped whenever the model kit writes different graphs, so a cache from an older build is not served.</summary>
    private const string Version = "v3";
    private const string CompleteMarker = ".complete";

    public static readonly IReadOnlyList<(string Id, string Family)> All = [("demo-clip", "clip"), ("demo-siglip", "siglip"), ("demo-smolvlm", "smolvlm")];

    public static string DefaultCache => Path.Combine(Path.GetTempPath(), "vlmservice", "demo-models", Version);

    /// <summary>Writes any demo folder that is missing or incomplete and returns the cache folder.</summary>
    public static string Ensure(string? cache)
    {
        string root = Path.GetFullPath(cache ?? DefaultCache);
        foreach ((string id, string family) in All)
        {
            string folder = Path.Combine(root, id);
            if (File.Exists(Path.Combine(folder, CompleteMarker)))
            {
                continue;
            }
            // Written beside and moved into place, so a concurrent start never sees half a folder.
            string staging = Path.Combine(root, $".{id}-{Guid.NewGuid():N}");
            ModelFolderWriter.Write(new ModelKitRequest(family, "tiny", 42, staging));
            File.WriteAllText(Path.Combine(staging, CompleteMarker), "demo weights: random, outputs are meaningless\n");
            try
            {
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
                Directory.Move(staging, folder);
            }
            catch (IOException) when (File.Exists(Path.Combine(folder, CompleteMarker)))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
        return root;
    }

    public static bool IsDemo(string id) => All.Any(d => d.Id == id);
}
