using VlmService.ModelKit.Onnx;

namespace VlmService.ModelKit.Families;

/// <summary>
/// CLIP as exported for transformers.js: text_model.onnx (→ text_embeds), vision_model.onnx (→ image_embeds)
/// and model.onnx (→ logits_per_image, logits_per_text, text_embeds, image_embeds), sharing weights.
/// </summary>
internal static class ClipGraphs
{
    private const float Epsilon = 1e-5f;
    private static readonly float LogitScale = MathF.Log(100f);

    public static GraphBuilder TextModel(DualEncoderSpec spec, WeightSource weights)
    {
        var g = new GraphBuilder("clip_text_model");
        var layers = new Layers(g, weights);
        (string embeds, string hidden) = Text(layers, spec);
        g.Output(embeds, "text_embeds", DataType.Float, "batch_size", spec.ProjectionDim);
        g.Output(hidden, "last_hidden_state", DataType.Float, "batch_size", "sequence_length", spec.TextHidden);
        return g;
    }

    public static GraphBuilder VisionModel(DualEncoderSpec spec, WeightSource weights)
    {
        var g = new GraphBuilder("clip_vision_model");
        var layers = new Layers(g, weights);
        (string embeds, string hidden) = Vision(layers, spec);
        g.Output(embeds, "image_embeds", DataType.Float, "batch_size", spec.ProjectionDim);
        g.Output(hidden, "last_hidden_state", DataType.Float, "batch_size", spec.Patches + 1, spec.VisionHidden);
        return g;
    }

    public static GraphBuilder FullModel(DualEncoderSpec spec, WeightSource weights)
    {
        var g = new GraphBuilder("clip_model");
        var layers = new Layers(g, weights);
        string text = layers.Normalize(Text(layers, spec, "text_batch_size").Embeds);
        string image = layers.Normalize(Vision(layers, spec, "image_batch_size").Embeds);
        string scale = g.Node("Exp", [g.Weight("logit_scale", [LogitScale])]);
        string perText = g.Node("Mul", [g.Node("MatMul", [text, g.Node("Transpose", [image], ("perm", new long[] { 1, 0 }))]), scale]);
        g.Output(g.Node("Transpose", [perText], ("perm", new long[] { 1, 0 })), "logits_per_image", DataType.Float, "image_batch_size", "text_batch_size");
        g.Output(perText, "logits_per_text", DataType.Float, "text_batch_size", "image_batch_size");
        g.Output(text, "text_embeds", DataType.Float, "text_batch_size", spec.ProjectionDim);
        g.Output(image, "image_embeds", DataType.Float, "image_batch_size", spec.ProjectionDim);
        return g;
    }

    private static (string Embeds, string Hidden) Text(Layers layers, DualEncoderSpec spec, string batch = "batch_size")
    {
        GraphBuilder g = layers.Graph;
        WeightSource w = layers.Weights;
        string ids = g.Input("input_ids", DataType.Int64, batch, "sequence_length");
        string mask = g.Input("attention_mask", DataType.Int64, batch, "sequence_length");
        int h = spec.TextHidden;
        string tokenTable = g.Weight("text.embeddings.token_embedding.weight", w.Normal("text.embeddings.token_embedding.weight", (long)spec.VocabSize * h, 0.02), spec.VocabSize, h);
        string positionTable = g.Weight("text.embeddings.position_embedding.weight", w.Normal("text.embeddings.position_embedding.weight", spec.MaxPositions * h, 0.01), spec.MaxPositions, h);
        string length = g.Node("Shape", [ids], ("start", 1L), ("end", 2L));
        string positions = g.Node("Slice", [positionTable, g.Int64s(0), length, g.Int64s(0)]);
        string x = g.Node("Add", [g.Node("Gather", [tokenTable, ids]), positions]);

        // Causal mask [S,S] plus the padding mask [B,1,1,S], both additive.
        string square = g.Node("Concat", [length, length], ("axis", 0L));
        string ones = g.Node("ConstantOfShape", [square], ("value", new Initializer("one", DataType.Float, [1], new[] { 1f })));
        string causal = g.Node("Mul", [g.Node("Trilu", [ones, g.Int64Scalar(1)], ("upper", 1L)), g.Constant(-1e9f)]);
        string padding = g.Node("Mul", [g.Node("Sub", [g.Constant(1f), g.Node("Cast", [mask], ("to", (long)DataType.Float))]), g.Constant(-1e9f)]);
        string additive = g.Node("Add", [causal, g.Node("Unsqueeze", [padding, g.Int64s(1, 2)])]);

        var shape = new EncoderShape(h, spec.TextLayers, spec.TextHeads, spec.TextIntermediate, Epsilon);
        string hidden = layers.LayerNorm(layers.Encoder(x, "text.encoder", shape, additive, layers.QuickGelu), "text.final_layer_norm", h, Epsilon);

        // Pool at the end-of-text token: it has the highest id, so its position is the argmax (first one wins for padding).
        string eos = g.Node("ArgMax", [ids], ("axis", 1L), ("keepdims", 1L));
        string pooled = g.Node("GatherND", [hidden, eos], ("batch_dims", 1L));
        string embeds = layers.Linear(pooled, "text_projection", h, spec.ProjectionDim, bias: false);
        return (embeds, hidden);
    }

    private static (string Embeds, string Hidden) Vision(Layers layers, DualEncoderSpec spec, string batch = "batch_size")
    {
        GraphBuilder g = layers.Graph;
        WeightSource w = layers.Weights;
        int h = spec.VisionHidden;
        int p = spec.PatchSize;
        string pixels = g.Input("pixel_values", DataType.Float, batch, "num_channels", "height", "width");
        string kernel = g.Weight("vision.embeddings.patch_embedding.weight", w.Normal("vision.embeddings.patch_embedding.weight", (long)h * 3 * p * p, 1.0 / Math.Sqrt(3 * p * p)), h, 3, p, p);
        string patches = g.Node("Conv", [pixels, kernel], ("kernel_shape", new long[] { p, p }), ("strides", new long[] { p, p }));
        string tokens = g.Node("Transpose", [g.Node("Reshape", [patches, g.Int64s(0, 0, -1)])], ("perm", new long[] { 0, 2, 1 }));
        string classToken = g.Weight("vision.embeddings.class_embedding", w.Normal("vision.embeddings.class_embedding", h, 0.02), 1, 1, h);
        string batchSize = g.Node("Shape", [pixels], ("start", 0L), ("end", 1L));
        string classTokens = g.Node("Expand", [classToken, g.Node("Concat", [batchSize, g.Int64s(1, h)], ("axis", 0L))]);
        string positionTable = g.Weight("vision.embeddings.position_embedding.weight", w.Normal("vision.embeddings.position_embedding.weight", (spec.Patches + 1) * h, 0.02), spec.Patches + 1, h);
        string x = g.Node("Add", [g.Node("Concat", [classTokens, tokens], ("axis", 1L)), positionTable]);
        x = layers.LayerNorm(x, "vision.pre_layrnorm", h, Epsilon);
        var shape = new EncoderShape(h, spec.VisionLayers, spec.VisionHeads, spec.VisionIntermediate, Epsilon);
        string hidden = layers.Encoder(x, "vision.encoder", shape, null, layers.QuickGelu);
        string pooled = layers.LayerNorm(layers.TakeToken(hidden, 0), "vision.post_layernorm", h, Epsilon);
        return (layers.Linear(pooled, "visual_projection", h, spec.ProjectionDim, bias: false), hidden);
    }
}
