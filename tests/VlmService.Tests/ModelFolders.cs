using VlmService.ModelKit;

namespace VlmService.Tests;

/// <summary>Tiny model-kit folders with the real CLIP and SigLIP tokenizers, built once per test run.</summary>
public sealed class ModelFolders : IDisposable
{
    public ModelFolders()
    {
        Root = Path.Combine(Path.GetTempPath(), $"vlm-models-{Guid.NewGuid():N}");
        ModelFolderWriter.Write(new ModelKitRequest("clip", "tiny", 7, Clip, TestPaths.Reference("clip-vit-base-patch32")));
        ModelFolderWriter.Write(new ModelKitRequest("siglip", "tiny", 7, Siglip, TestPaths.Reference("siglip-base-patch16-224")));
    }

    public string Root { get; }

    public string Clip => Path.Combine(Root, "clip-tiny");

    public string Siglip => Path.Combine(Root, "siglip-tiny");

    public string Folder(string family) => family == "clip" ? Clip : Siglip;

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

[CollectionDefinition(Name)]
public sealed class ModelFoldersCollection : ICollectionFixture<ModelFolders>
{
    public const string Name = "model folders";
}
