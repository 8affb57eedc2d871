using System.Text.Json.Nodes;

namespace VlmService.ModelKit.Families;

/// <summary>config.json, generation_config.json, preprocessor_config.json, processor_config.json of the generative families.</summary>
internal static class GenerativeConfigs
{
    public static JsonObject TextConfig(DecoderSpec t, int bos, int eos, int pad) => new()
    {
        ["model_type"] = "llama",
        ["architectures"] = new JsonArray("LlamaForCausalLM"),
        ["hidden_size"] = t.Hidden,
        ["intermediate_size"] = t.Intermediate,
        ["num_attention_heads"] = t.Heads,
        ["num_hidden_layers"] = t.Layers,
        ["num_key_value_heads"] = t.KeyValueHeads,
        ["head_dim"] = t.HeadDim,
        ["hidden_act"] = "silu",
        ["rms_norm_eps"] = t.RmsEpsilon,
        ["rope_theta"] = t.RopeTheta,
        ["max_position_embeddings"] = 8192,
        ["vocab_size"] = t.VocabSize,
        ["tie_word_embeddings"] = false,
        ["bos_token_id"] = bos,
        ["eos_token_id"] = eos,
        ["pad_token_id"] = pad,
    };

    public static JsonObject SmolVlm(VisionTowerSpec v, DecoderSpec t, int imageTokenId) => new()
    {
        ["architectures"] = new JsonArray("Idefics3ForConditionalGeneration"),
        ["model_type"] = "idefics3",
        ["image_token_id"] = imageTokenId,
        ["scale_factor"] = v.ScaleFactor,
        ["text_config"] = TextConfig(t, bos: 1, eos: 2, pad: 2),
        ["vision_config"] = VisionConfig(v, "idefics3_vision"),
    };

    public static JsonObject Llava(VisionTowerSpec v, DecoderSpec t, int imageTokenId, int eos, int pad) => new()
    {
        ["architectures"] = new JsonArray("LlavaForConditionalGeneration"),
        ["model_type"] = "llava",
        ["image_token_index"] = imageTokenId,
        ["vision_feature_select_strategy"] = "default",
        ["projector_hidden_act"] = "gelu",
        ["text_config"] = TextConfig(t, bos: eos, eos: eos, pad: pad),
        ["vision_config"] = VisionConfig(v, "clip_vision_model"),
    };

    private static JsonObject VisionConfig(VisionTowerSpec v, string modelType) => new()
    {
        ["model_type"] = modelType,
        ["hidden_size"] = v.Hidden,
        ["intermediate_size"] = v.Intermediate,
        ["num_attention_heads"] = v.Heads,
        ["num_hidden_layers"] = v.Layers,
        ["image_size"] = v.ImageSize,
        ["patch_size"] = v.PatchSize,
    };

    public static JsonObject GenerationConfig(int bos, int eos, int pad) => new()
    {
        ["bos_token_id"] = bos,
        ["eos_token_id"] = eos,
        ["pad_token_id"] = pad,
    };

    public static JsonObject SmolVlmPreprocessor(VisionTowerSpec v) => new()
    {
        ["do_convert_rgb"] = true,
        ["do_image_splitting"] = true,
        ["do_normalize"] = true,
        ["do_pad"] = true,
        ["do_rescale"] = true,
        ["do_resize"] = true,
        ["image_mean"] = new JsonArray(0.5, 0.5, 0.5),
        ["image_std"] = new JsonArray(0.5, 0.5, 0.5),
        ["image_processor_type"] = "Idefics3ImageProcessor",
        ["max_image_size"] = new JsonObject { ["longest_edge"] = v.ImageSize },
        ["processor_class"] = "Idefics3Processor",
        ["resample"] = 1,
        ["rescale_factor"] = 1.0 / 255,
        ["size"] = new JsonObject { ["longest_edge"] = v.ImageSize * 4 },
    };

    public static JsonObject SmolVlmProcessor(VisionTowerSpec v) => new()
    {
        ["image_seq_len"] = v.TokensPerImage,
        ["processor_class"] = "Idefics3Processor",
    };

    public static JsonObject LlavaPreprocessor(VisionTowerSpec v) => DualEncoderConfigs.ClipStylePreprocessor(v.ImageSize, "LlavaProcessor");

    /// <summary>The vision tower's patch tokens are the image tokens (its class token is dropped), so no additional tokens.</summary>
    public static JsonObject LlavaProcessor(VisionTowerSpec v) => new()
    {
        ["image_token"] = "<image>",
        ["patch_size"] = v.PatchSize,
        ["num_additional_image_tokens"] = 0,
        ["vision_feature_select_strategy"] = "default",
        ["processor_class"] = "LlavaProcessor",
    };
}
