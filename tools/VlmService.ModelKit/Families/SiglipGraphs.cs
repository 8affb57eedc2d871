using VlmService.ModelKit.Onnx;

namespace VlmService.ModelKit.Families;

/// <summary>
/// SigLIP as exported for transformers.js: text_model.onnx and vision_model.onnx (→ pooler_output) and
/// model.onnx (→ logits with the learned scale and bias, normalized embeddings).
/// </summary>
internal static class SiglipGraphs
{
    private const float Epsilon = 1e-6f;
    // Trained SigLIP lands near exp(4.7) and -16; on random weights these keep sigmoid scores apart from 0 and 1.
    private static readonly float LogitScale = MathF.Log(30f);
    private const float LogitBias = -2f;

    public static GraphBuilder TextModel(DualEncoderSpec spec, WeightSource weights)
    {
        var g = new GraphBuilder("siglip_text_model");
        (string pooled, string hidden) = Text(new Layers(g, weights), spec);
        g.Output(hidden, "last_hidden_state", DataType.Float, "batch_size", "sequence_length", spec.TextHidden);
        g.Output(pooled, "pooler_output", DataType.Float, "batch_size", spec.TextHidden);
        return g;
    }

    public static GraphBuilder VisionModel(DualEncoderSpec spec, WeightSource weights)
    {
        var g = new GraphBuilder("siglip_vision_model");
        (string pooled, string hidden) = Vision(new Layers(g, weights), spec);
        g.Output(hidden, "last_hidden_state", DataType.Float, "batch_size", spec.Patches, spec.VisionHidden);
        g.Output(pooled, "pooler_output", DataType.Float, "batch_size", spec.VisionHidden);
        return g;
    }

    public static GraphBuilder FullModel(DualEncoderSpec spec, WeightSource weights)
    {
        var g = new GraphBuilder("siglip_model");
        var layers = new Layers(g, weights);
        string text = layers.Normalize(Text(layers, spec, "text_batch_size").Pooled);
        string image = layers.Normalize(Vision(layers, spec, "image_batch_size").Pooled);
        string similarity = g.Node("MatMul", [text, g.Node("Transpose", [image], ("perm", new long[] { 1, 0 }))]);
        string scale = g.Node("Exp", [g.Weight("logit_scale", [LogitScale])]);
        string perText = g.Node("Add", [g.Node("Mul", [similarity, scale]), g.Weight("logit_bias", [LogitBias])]);
        g.Output(g.Node("Transpose", [perText], ("perm", new long[] { 1, 0 })), "logits_per_image", DataType.Float, "image_batch_size", "text_batch_size");
        g.Output(perText, "logits_per_text", DataType.Float, "text_batch_size", "image_batch_size");
        g.Output(text, "text_embeds", DataType.Float, "text_batch_size", spec.TextHidden);
        g.Output(image, "image_embeds", DataType.Float, "image_batch_size", spec.VisionHidden);
        return g;
    }

    private static (string Pooled, string Hidden) Text(Layers layers, DualEncoderSpec spec, string batch = "batch_size")
    {
        GraphBuilder g = layers.Graph;
        WeightSource w = layers.Weights;
        int h = spec.TextHidden;
        string ids = g.Input("input_ids", DataType.Int64, batch, "sequence_length");
        string tokenTable = g.Weight("text.embeddings.token_embedding.weight", w.Normal("text.embeddings.token_embedding.weight", (long)spec.VocabSize * h, 0.02), spec.VocabSize, h);
        string positionTable = g.Weight("text.embeddings.position_embedding.weight", w.Normal("text.embeddings.position_embedding.weight", spec.MaxPositions * h, 0.01), spec.MaxPositions, h);
        string length = g.Node("Shape", [ids], ("start", 1L), ("end", 2L));
        string x = g.Node("Add", [g.Node("Gather", [tokenTable, ids]), g.Node("Slice", [positionTable, g.Int64s(0), length, g.Int64s(0)])]);
        var shape = new EncoderShape(h, spec.TextLayers, spec.TextHeads, spec.TextIntermediate, Epsilon);
        string hidden = layers.LayerNorm(layers.Encoder(x, "text.encoder", shape, null, layers.GeluTanh), "text.final_layer_norm", h, Epsilon);
        // SigLIP pools the last position (the tokenizer pads to max_length, so that is always the same slot).
        string pooled = layers.Linear(layers.TakeToken(hidden, -1), "text.head", h, h);
        return (pooled, hidden);
    }

    private static (string Pooled, string Hidden) Vision(Layers layers, DualEncoderSpec spec, string batch = "batch_size")
    {
        GraphBuilder g = layers.Graph;
        WeightSource w = layers.Weights;
        int h = spec.VisionHidden;
        int p = spec.PatchSize;
        string pixels = g.Input("pixel_values", DataType.Float, batch, "num_channels", "height", "width");
        string kernel = g.Weight("vision.embeddings.patch_embedding.weight", w.Normal("vision.embeddings.patch_embedding.weight", (long)h * 3 * p * p, 1.0 / Math.Sqrt(3 * p * p)), h, 3, p, p);
        string bias = g.Weight("vision.embeddings.patch_embedding.bias", w.Normal("vision.embeddings.patch_embedding.bias", h, 0.02), h);
        string patches = g.Node("Conv", [pixels, kernel, bias], ("kernel_shape", new long[] { p, p }), ("strides", new long[] { p, p }));
        string tokens = g.Node("Transpose", [g.Node("Reshape", [patches, g.Int64s(0, 0, -1)])], ("perm", new long[] { 0, 2, 1 }));
        string positionTable = g.Weight("vision.embeddings.position_embedding.weight", w.Normal("vision.embeddings.position_embedding.weight", spec.Patches * h, 0.02), spec.Patches, h);
        var shape = new EncoderShape(h, spec.VisionLayers, spec.VisionHeads, spec.VisionIntermediate, Epsilon);
        string hidden = layers.LayerNorm(layers.Encoder(g.Node("Add", [tokens, positionTable]), "vision.encoder", shape, null, layers.GeluTanh), "vision.post_layernorm", h, Epsilon);

        // Multihead attention pooling: a learned probe attends over all patches, then a residual MLP.
        string probe = g.Weight("vision.head.probe", w.Normal("vision.head.probe", h, 0.5), 1, 1, h);
        string batchSize = g.Node("Shape", [pixels], ("start", 0L), ("end", 1L));
        string probes = g.Node("Expand", [probe, g.Node("Concat", [batchSize, g.Int64s(1, h)], ("axis", 0L))]);
        string attended = layers.Attention(probes, hidden, "vision.head.attention", h, spec.VisionHeads, null);
        string normed = layers.LayerNorm(attended, "vision.head.layernorm", h, Epsilon);
        string pooled = g.Node("Add", [attended, layers.Mlp(normed, "vision.head.mlp", h, spec.VisionIntermediate, layers.GeluTanh)]);
        return (layers.TakeToken(pooled, 0), hidden);
    }
}
