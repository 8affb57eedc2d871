namespace VlmService.Engine.Models;

/// <summary>What a model can be asked for.</summary>
public static class Capabilities
{
    public const string Embed = "embed";
    public const string ZeroShot = "classify:zero-shot";
    public const string Tokenize = "tokenize";
    public const string Caption = "caption";
    public const string Vqa = "vqa";
    public const string Describe = "classify:describe";
}

/// <summary>Model types (config.json <c>model_type</c>) the service serves.</summary>
public static class ModelFamilies
{
    public const string Clip = "clip";
    public const string Siglip = "siglip";

    public static bool IsDualEncoder(string modelType) => modelType is Clip or Siglip;
}
