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
        ModelFolderWriter.Write(new ModelKitRequest("smolvlm", "tiny", 7, SmolVlm, TestPaths.Reference("SmolVLM-256M-Instruct")));
        // LLaVA with SmolLM2's tokenizer and chat template: the architecture is what matters here.
        ModelFolderWriter.Write(new ModelKitRequest("llava", "tiny", 7, Llava, TestPaths.Reference("SmolVLM-256M-Instruct")));
    }

    public string Root { get; }

    public string Clip => Path.Combine(Root, "clip-tiny");

    public string Siglip => Path.Combine(Root, "siglip-tiny");

    public string SmolVlm => Path.Combine(Root, "smolvlm-tiny");

    public string Llava => Path.Combine(Root, "llava-tiny");

    public string Folder(string family) => family switch
    {
        "clip" => Clip,
        "siglip" => Siglip,
        "smolvlm" => SmolVlm,
        _ => Llava,
    };

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

[CollectionDefinition(Name)]
public sealed class ModelFoldersCollection : ICollectionFixture<ModelFolders>
{
    public const string Name = "model folders";
}
