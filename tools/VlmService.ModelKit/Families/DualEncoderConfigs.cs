using System.Text.Json.Nodes;

namespace VlmService.ModelKit.Families;

/// <summary>config.json and preprocessor_config.json with the keys and values the real exports carry.</summary>
internal static class DualEncoderConfigs
{
    public static JsonObject Clip(DualEncoderSpec s) => new()
    {
        ["architectures"] = new JsonArray("CLIPModel"),
        ["model_type"] = "clip",
        ["projection_dim"] = s.ProjectionDim,
        ["logit_scale_init_value"] = 2.6592,
        ["text_config"] = new JsonObject
        {
            ["model_type"] = "clip_text_model",
            ["hidden_size"] = s.TextHidden,
            ["intermediate_size"] = s.TextIntermediate,
            ["num_attention_heads"] = s.TextHeads,
            ["num_hidden_layers"] = s.TextLayers,
            ["max_position_embeddings"] = s.MaxPositions,
            ["vocab_size"] = s.VocabSize,
            ["hidden_act"] = "quick_gelu",
            ["layer_norm_eps"] = 1e-5,
            ["projection_dim"] = s.ProjectionDim,
        },
        ["vision_config"] = new JsonObject
        {
            ["model_type"] = "clip_vision_model",
            ["hidden_size"] = s.VisionHidden,
            ["intermediate_size"] = s.VisionIntermediate,
            ["num_attention_heads"] = s.VisionHeads,
            ["num_hidden_layers"] = s.VisionLayers,
            ["image_size"] = s.ImageSize,
            ["patch_size"] = s.PatchSize,
            ["num_channels"] = 3,
            ["hidden_act"] = "quick_gelu",
            ["layer_norm_eps"] = 1e-5,
            ["projection_dim"] = s.ProjectionDim,
        },
    };

    public static JsonObject Siglip(DualEncoderSpec s) => new()
    {
        ["architectures"] = new JsonArray("SiglipModel"),
        ["model_type"] = "siglip",
        ["text_config"] = new JsonObject
        {
            ["model_type"] = "siglip_text_model",
            ["hidden_size"] = s.TextHidden,
            ["intermediate_size"] = s.TextIntermediate,
            ["num_attention_heads"] = s.TextHeads,
            ["num_hidden_layers"] = s.TextLayers,
            ["max_position_embeddings"] = s.MaxPositions,
            ["vocab_size"] = s.VocabSize,
        },
        ["vision_config"] = new JsonObject
        {
            ["model_type"] = "siglip_vision_model",
            ["hidden_size"] = s.VisionHidden,
            ["intermediate_size"] = s.VisionIntermediate,
            ["num_attention_heads"] = s.VisionHeads,
            ["num_hidden_layers"] = s.VisionLayers,
            ["image_size"] = s.ImageSize,
            ["patch_size"] = s.PatchSize,
        },
    };

    public static JsonObject ClipPreprocessor(DualEncoderSpec s) => ClipStylePreprocessor(s.ImageSize, "CLIPProcessor");

    /// <summary>CLIPImageProcessor settings (shortest edge, center crop, bicubic, CLIP mean/std), as CLIP and LLaVA ship them.</summary>
    public static JsonObject ClipStylePreprocessor(int imageSize, string processorClass) => new()
    {
        ["crop_size"] = new JsonObject { ["height"] = imageSize, ["width"] = imageSize },
        ["do_center_crop"] = true,
        ["do_convert_rgb"] = true,
        ["do_normalize"] = true,
        ["do_rescale"] = true,
        ["do_resize"] = true,
        ["image_mean"] = new JsonArray(0.48145466, 0.4578275, 0.40821073),
        ["image_std"] = new JsonArray(0.26862954, 0.26130258, 0.27577711),
        ["image_processor_type"] = "CLIPImageProcessor",
        ["processor_class"] = processorClass,
        ["resample"] = 3,
        ["rescale_factor"] = 1.0 / 255,
        ["size"] = new JsonObject { ["shortest_edge"] = imageSize },
    };

    public static JsonObject SiglipPreprocessor(DualEncoderSpec s) => new()
    {
        ["do_normalize"] = true,
        ["do_rescale"] = true,
        ["do_resize"] = true,
        ["image_mean"] = new JsonArray(0.5, 0.5, 0.5),
        ["image_std"] = new JsonArray(0.5, 0.5, 0.5),
        ["image_processor_type"] = "SiglipImageProcessor",
        ["processor_class"] = "SiglipProcessor",
        ["resample"] = 3,
        ["rescale_factor"] = 1.0 / 255,
        ["size"] = new JsonObject { ["height"] = s.ImageSize, ["width"] = s.ImageSize },
    };
}
