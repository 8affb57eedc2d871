using VlmService.Text;

namespace VlmService.Engine.Models;

/// <summary>A model the registry serves.</summary>
public interface ILoadedModel : IAsyncDisposable
{
    string Id { get; }

    string Family { get; }

    string Folder { get; }

    bool IsDemo { get; }

    IReadOnlyList<string> Capabilities { get; }

    Tokenizer Tokenizer { get; }

    /// <summary>The execution provider its sessions run on.</summary>
    string Provider { get; }
}

/// <summary>A folder under the models root that could not be loaded, and why.</summary>
public sealed record ModelLoadFailure(string Id, string Folder, string Reason);
