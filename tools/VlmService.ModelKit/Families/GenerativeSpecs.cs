namespace VlmService.ModelKit.Families;

/// <summary>Preset sizes of the generative families.</summary>
internal static class GenerativeSpecs
{
    /// <summary>SmolVLM-256M: vision 12×768 on 512² tiles (patch 16, pixel shuffle 4 → 64 tokens), text 30×576, 9 heads / 3 KV heads.</summary>
    public static (VisionTowerSpec Vision, DecoderSpec Text) SmolVlm(string preset, int vocabSize) => preset switch
    {
        "tiny" => (new VisionTowerSpec(512, 16, 32, 2, 2, 64, 4), new DecoderSpec(vocabSize, 64, 2, 4, 2, 128, 100000, 1e-5f)),
        "base" => (new VisionTowerSpec(512, 16, 768, 12, 12, 3072, 4), new DecoderSpec(vocabSize, 576, 30, 9, 3, 1536, 100000, 1e-5f)),
        _ => throw new ArgumentException($"Unknown preset '{preset}' (tiny or base)."),
    };

    /// <summary>LLaVA-style: a CLIP vision tower (patch tokens, no pixel shuffle) and a LLaMA decoder.</summary>
    public static (VisionTowerSpec Vision, DecoderSpec Text) Llava(string preset, int vocabSize) => preset switch
    {
        "tiny" => (new VisionTowerSpec(224, 16, 32, 2, 2, 64, 1), new DecoderSpec(vocabSize, 64, 2, 4, 2, 128, 10000, 1e-5f)),
        "base" => (new VisionTowerSpec(336, 14, 1024, 24, 16, 4096, 1), new DecoderSpec(vocabSize, 896, 24, 14, 2, 4864, 1000000, 1e-6f)),
        _ => throw new ArgumentException($"Unknown preset '{preset}' (tiny or base)."),
    };
}
