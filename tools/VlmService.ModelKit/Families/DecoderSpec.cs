namespace VlmService.ModelKit.Families;

/// <summary>Sizes of a LLaMA-style decoder (SmolLM2 in SmolVLM, the LLM in LLaVA).</summary>
internal sealed record DecoderSpec(
    int VocabSize,
    int Hidden,
    int Layers,
    int Heads,
    int KeyValueHeads,
    int Intermediate,
    double RopeTheta,
    float RmsEpsilon)
{
    public int HeadDim => Hidden / Heads;

    public int GroupSize => Heads / KeyValueHeads;
}

/// <summary>Sizes of a ViT vision tower and its projector into the decoder's embedding space.</summary>
internal sealed record VisionTowerSpec(int ImageSize, int PatchSize, int Hidden, int Layers, int Heads, int Intermediate, int ScaleFactor)
{
    public int PatchesPerSide => ImageSize / PatchSize;

    public int Patches => PatchesPerSide * PatchesPerSide;

    /// <summary>Tokens per image after pixel shuffle (Idefics3) or all patches (LLaVA).</summary>
    public int TokensPerImage => Patches / (ScaleFactor * ScaleFactor);
}
