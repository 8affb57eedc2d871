namespace VlmService.Contracts;

public sealed record ModelsResponse(IReadOnlyList<ModelData> Data, IReadOnlyList<ModelFailureData> Failed, string? Notice);

public sealed record ModelData(string Id, string Family, IReadOnlyList<string> Capabilities, bool Demo, string Provider);

public sealed record ModelFailureData(string Id, string Folder, string Reason);
