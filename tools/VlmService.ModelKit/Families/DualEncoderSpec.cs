namespace VlmService.ModelKit.Families;

/// <summary>Sizes of a CLIP-style dual encoder (text tower, vision tower, shared embedding space).</summary>
internal sealed record DualEncoderSpec(
    int VocabSize,
    int MaxPositions,
    int TextHidden,
    int TextLayers,
    int TextHeads,
    int TextIntermediate,
    int ImageSize,
    int PatchSize,
    int VisionHidden,
    int VisionLayers,
    int VisionHeads,
    int VisionIntermediate,
    int ProjectionDim)
{
    public int PatchesPerSide => ImageSize / PatchSize;

    public int Patches => PatchesPerSide * PatchesPerSide;

    public static DualEncoderSpec Clip(string preset, int vocabSize) => preset switch
    {
        "tiny" => new(vocabSize, 77, 32, 2, 2, 64, 224, 32, 48, 2, 2, 96, 24),
        "base" => new(vocabSize, 77, 512, 12, 8, 2048, 224, 32, 768, 12, 12, 3072, 512),
        _ => throw new ArgumentException($"Unknown preset '{preset}' (tiny or base)."),
    };

    /// <summary>SigLIP has no projection: both towers share one width, and the embedding is the pooler output.</summary>
    public static DualEncoderSpec Siglip(string preset, int vocabSize) => preset switch
    {
        "tiny" => new(vocabSize, 64, 32, 2, 2, 64, 224, 16, 32, 2, 2, 64, 32),
        "base" => new(vocabSize, 64, 768, 12, 12, 3072, 224, 16, 768, 12, 12, 3072, 768),
        _ => throw new ArgumentException($"Unknown preset '{preset}' (tiny or base)."),
    };
}
