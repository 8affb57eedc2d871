using VlmService.ModelKit.Onnx;

namespace VlmService.ModelKit.Families;

/// <summary>
/// The three sessions of a transformers.js image-text-to-text export: embed_tokens.onnx, vision_encoder.onnx
/// (projector included) and decoder_model_merged.onnx (with past/present key-value cache).
/// </summary>
internal static class GenerativeGraphs
{
    public static GraphBuilder EmbedTokens(DecoderSpec spec, WeightSource weights)
    {
        var g = new GraphBuilder("embed_tokens");
        string ids = g.Input("input_ids", DataType.Int64, "batch_size", "sequence_length");
        string table = g.Weight("model.embed_tokens.weight", weights.Normal("model.embed_tokens.weight", (long)spec.VocabSize * spec.Hidden, 0.5), spec.VocabSize, spec.Hidden);
        g.Output(g.Node("Gather", [table, ids]), "inputs_embeds", DataType.Float, "batch_size", "sequence_length", spec.Hidden);
        return g;
    }

    public static GraphBuilder Decoder(DecoderSpec spec, WeightSource weights)
    {
        var g = new GraphBuilder("decoder_model_merged");
        var layers = new Layers(g, weights);
        var decoder = new DecoderLayers(layers);
        string embeds = g.Input("inputs_embeds", DataType.Float, "batch_size", "sequence_length", spec.Hidden);
        string mask = g.Input("attention_mask", DataType.Int64, "batch_size", "total_sequence_length");
        string positions = g.Input("position_ids", DataType.Int64, "batch_size", "sequence_length");
        var pasts = new List<(string Key, string Value)>();
        for (int i = 0; i < spec.Layers; i++)
        {
            pasts.Add((
                g.Input($"past_key_values.{i}.key", DataType.Float, "batch_size", spec.KeyValueHeads, "past_sequence_length", spec.HeadDim),
                g.Input($"past_key_values.{i}.value", DataType.Float, "batch_size", spec.KeyValueHeads, "past_sequence_length", spec.HeadDim)));
        }
        (string cos, string sin) = decoder.Rotary(positions, spec.HeadDim, spec.RopeTheta);
        string additiveMask = decoder.CausalPaddingMask(embeds, mask);
        string x = embeds;
        var presents = new List<(string Key, string Value)>();
        for (int i = 0; i < spec.Layers; i++)
        {
            (x, string key, string value) = decoder.Block(x, i, spec, cos, sin, additiveMask, pasts[i].Key, pasts[i].Value);
            presents.Add((key, value));
        }
        string normed = decoder.RmsNorm(x, "model.norm", spec.Hidden, spec.RmsEpsilon);
        string logits = layers.Linear(normed, "lm_head", spec.Hidden, spec.VocabSize, bias: false);
        g.Output(logits, "logits", DataType.Float, "batch_size", "sequence_length", spec.VocabSize);
        for (int i = 0; i < spec.Layers; i++)
        {
            g.Output(presents[i].Key, $"present.{i}.key", DataType.Float, "batch_size", spec.KeyValueHeads, "total_sequence_length", spec.HeadDim);
            g.Output(presents[i].Value, $"present.{i}.value", DataType.Float, "batch_size", spec.KeyValueHeads, "total_sequence_length", spec.HeadDim);
        }
        return g;
    }

    /// <summary>
    /// Idefics3: pixel_values [batch, images, 3, H, W] (+ pixel_attention_mask) → SigLIP ViT → pixel shuffle →
    /// linear connector → image_features [images, tokens, text hidden].
    /// </summary>
    public static GraphBuilder Idefics3VisionEncoder(VisionTowerSpec vision, DecoderSpec text, WeightSource weights)
    {
        var g = new GraphBuilder("vision_encoder");
        var layers = new Layers(g, weights);
        string pixels = g.Input("pixel_values", DataType.Float, "batch_size", "num_images", 3, "height", "width");
        g.Input("pixel_attention_mask", DataType.Bool, "batch_size", "num_images", "height", "width");
        string flat = g.Node("Reshape", [pixels, g.Node("Concat", [g.Int64s(-1), g.Node("Shape", [pixels], ("start", 2L))], ("axis", 0L))]);
        string hidden = VisionTower(layers, flat, vision, withClassToken: false, activation: layers.GeluTanh);
        int s = vision.ScaleFactor;
        int side = vision.PatchesPerSide;
        int e = vision.Hidden;
        // Pixel shuffle: every s×s block of patches becomes one token with s²× the channels.
        string grid = g.Node("Reshape", [hidden, g.Int64s(-1, side, side / s, e * s)]);
        string swapped = g.Node("Transpose", [grid], ("perm", new long[] { 0, 2, 1, 3 }));
        string merged = g.Node("Reshape", [swapped, g.Int64s(-1, side / s, side / s, e * s * s)]);
        string tokens = g.Node("Reshape", [g.Node("Transpose", [merged], ("perm", new long[] { 0, 2, 1, 3 })), g.Int64s(-1, vision.TokensPerImage, e * s * s)]);
        string features = layers.Linear(tokens, "connector.modality_projection.proj", e * s * s, text.Hidden, bias: false);
        g.Output(features, "image_features", DataType.Float, "num_images", vision.TokensPerImage, text.Hidden);
        return g;
    }

    /// <summary>LLaVA: pixel_values [batch, 3, H, W] → CLIP ViT (patch tokens) → 2-layer GELU projector → image_features.</summary>
    public static GraphBuilder LlavaVisionEncoder(VisionTowerSpec vision, DecoderSpec text, WeightSource weights)
    {
        var g = new GraphBuilder("vision_encoder");
        var layers = new Layers(g, weights);
        string pixels = g.Input("pixel_values", DataType.Float, "batch_size", 3, "height", "width");
        string hidden = VisionTower(layers, pixels, vision, withClassToken: true, activation: layers.QuickGelu);
        // The "default" feature strategy drops the class token and keeps the patch tokens.
        string patches = g.Node("Slice", [hidden, g.Int64s(1), g.Int64s(vision.Patches + 1), g.Int64s(1)]);
        string projected = layers.Linear(layers.GeluTanh(layers.Linear(patches, "multi_modal_projector.linear_1", vision.Hidden, text.Hidden)),
            "multi_modal_projector.linear_2", text.Hidden, text.Hidden);
        g.Output(projected, "image_features", DataType.Float, "batch_size", vision.Patches, text.Hidden);
        return g;
    }

    private static string VisionTower(Layers layers, string pixels, VisionTowerSpec vision, bool withClassToken, Func<string, string> activation)
    {
        GraphBuilder g = layers.Graph;
        WeightSource w = layers.Weights;
        int h = vision.Hidden;
        int p = vision.PatchSize;
        string kernel = g.Weight("vision_model.embeddings.patch_embedding.weight", w.Normal("vision_model.embeddings.patch_embedding.weight", (long)h * 3 * p * p, 1.0 / Math.Sqrt(3 * p * p)), h, 3, p, p);
        string bias = g.Weight("vision_model.embeddings.patch_embedding.bias", w.Normal("vision_model.embeddings.patch_embedding.bias", h, 0.02), h);
        string conv = g.Node("Conv", [pixels, kernel, bias], ("kernel_shape", new long[] { p, p }), ("strides", new long[] { p, p }));
        string x = g.Node("Transpose", [g.Node("Reshape", [conv, g.Int64s(0, 0, -1)])], ("perm", new long[] { 0, 2, 1 }));
        int positions = vision.Patches;
        if (withClassToken)
        {
            string classToken = g.Weight("vision_model.embeddings.class_embedding", w.Normal("vision_model.embeddings.class_embedding", h, 0.02), 1, 1, h);
            string batch = g.Node("Shape", [pixels], ("start", 0L), ("end", 1L));
            x = g.Node("Concat", [g.Node("Expand", [classToken, g.Node("Concat", [batch, g.Int64s(1, h)], ("axis", 0L))]), x], ("axis", 1L));
            positions++;
        }
        string table = g.Weight("vision_model.embeddings.position_embedding.weight", w.Normal("vision_model.embeddings.position_embedding.weight", (long)positions * h, 0.02), positions, h);
        x = g.Node("Add", [x, table]);
        var shape = new EncoderShape(h, vision.Layers, vision.Heads, vision.Intermediate, 1e-6f);
        return layers.LayerNorm(layers.Encoder(x, "vision_model.encoder", shape, null, activation), "vision_model.post_layernorm", h, 1e-6f);
    }
}
