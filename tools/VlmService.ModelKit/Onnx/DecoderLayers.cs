namespace VlmService.ModelKit.Onnx;

/// <summary>
/// LLaMA decoder blocks over a key/value cache: RMSNorm, rotary positions, grouped-query attention over the
/// concatenated cache, gated SiLU MLP.
/// </summary>
internal sealed class DecoderLayers(Layers layers)
{
    private GraphBuilder G => layers.Graph;

    private WeightSource W => layers.Weights;

    public string RmsNorm(string x, string name, int features, float epsilon)
    {
        GraphBuilder g = G;
        string meanSquare = g.Node("ReduceMean", [g.Node("Mul", [x, x])], ("axes", new long[] { -1 }), ("keepdims", 1L));
        string inverse = g.Node("Reciprocal", [g.Node("Sqrt", [g.Node("Add", [meanSquare, g.Constant(epsilon)])])]);
        string weight = g.Weight($"{name}.weight", W.Around($"{name}.weight", features, 1.0, 0.05), features);
        return g.Node("Mul", [g.Node("Mul", [x, inverse]), weight]);
    }

    public string Silu(string x) => G.Node("Mul", [x, G.Node("Sigmoid", [x])]);

    /// <summary>cos and sin of the rotary angles, [batch, 1, seq, headDim], from position ids [batch, seq].</summary>
    public (string Cos, string Sin) Rotary(string positionIds, int headDim, double theta)
    {
        GraphBuilder g = G;
        var inverseFrequencies = new float[headDim / 2];
        for (int i = 0; i < inverseFrequencies.Length; i++)
        {
            inverseFrequencies[i] = (float)(1.0 / Math.Pow(theta, 2.0 * i / headDim));
        }
        string frequencies = g.Weight("rotary.inv_freq", inverseFrequencies, headDim / 2);
        string positions = g.Node("Unsqueeze", [g.Node("Cast", [positionIds], ("to", (long)DataType.Float)), g.Int64s(-1)]);
        string angles = g.Node("Mul", [positions, frequencies]);
        string both = g.Node("Unsqueeze", [g.Node("Concat", [angles, angles], ("axis", -1L)), g.Int64s(1)]);
        return (g.Node("Cos", [both]), g.Node("Sin", [both]));
    }

    private string ApplyRotary(string x, string cos, string sin, int headDim)
    {
        GraphBuilder g = G;
        string first = g.Node("Slice", [x, g.Int64s(0), g.Int64s(headDim / 2), g.Int64s(-1)]);
        string second = g.Node("Slice", [x, g.Int64s(headDim / 2), g.Int64s(headDim), g.Int64s(-1)]);
        string rotated = g.Node("Concat", [g.Node("Neg", [second]), first], ("axis", -1L));
        return g.Node("Add", [g.Node("Mul", [x, cos]), g.Node("Mul", [rotated, sin])]);
    }

    /// <summary>
    /// Additive mask [batch, 1, seq, total]: a query at absolute position past+i sees keys at positions ≤ past+i
    /// whose attention_mask is 1.
    /// </summary>
    public string CausalPaddingMask(string inputsEmbeds, string attentionMask)
    {
        GraphBuilder g = G;
        string total = g.Node("Squeeze", [g.Node("Shape", [attentionMask], ("start", 1L), ("end", 2L)), g.Int64s(0)]);
        string length = g.Node("Squeeze", [g.Node("Shape", [inputsEmbeds], ("start", 1L), ("end", 2L)), g.Int64s(0)]);
        string past = g.Node("Sub", [total, length]);
        string queryPositions = g.Node("Unsqueeze", [g.Node("Range", [past, total, g.Int64Scalar(1)]), g.Int64s(1)]);
        string keyPositions = g.Node("Unsqueeze", [g.Node("Range", [g.Int64Scalar(0), total, g.Int64Scalar(1)]), g.Int64s(0)]);
        string causal = g.Node("LessOrEqual", [keyPositions, queryPositions]);
        string padding = g.Node("Unsqueeze", [g.Node("Cast", [attentionMask], ("to", (long)DataType.Bool)), g.Int64s(1, 2)]);
        return g.Node("Where", [g.Node("And", [causal, padding]), g.Constant(0f), g.Constant(-1e9f)]);
    }

    /// <summary>One decoder block; returns the new hidden state and this layer's present key and value.</summary>
    public (string Hidden, string Key, string Value) Block(string x, int index, Families.DecoderSpec spec, string cos, string sin, string mask, string pastKey, string pastValue)
    {
        GraphBuilder g = G;
        string name = $"model.layers.{index}";
        int hd = spec.HeadDim;
        string normed = RmsNorm(x, $"{name}.input_layernorm", spec.Hidden, spec.RmsEpsilon);
        string q = Heads(layers.Linear(normed, $"{name}.self_attn.q_proj", spec.Hidden, spec.Heads * hd, bias: false), spec.Heads, hd);
        string k = Heads(layers.Linear(normed, $"{name}.self_attn.k_proj", spec.Hidden, spec.KeyValueHeads * hd, bias: false), spec.KeyValueHeads, hd);
        string v = Heads(layers.Linear(normed, $"{name}.self_attn.v_proj", spec.Hidden, spec.KeyValueHeads * hd, bias: false), spec.KeyValueHeads, hd);
        q = ApplyRotary(q, cos, sin, hd);
        k = ApplyRotary(k, cos, sin, hd);
        string key = g.Node("Concat", [pastKey, k], ("axis", 2L));
        string value = g.Node("Concat", [pastValue, v], ("axis", 2L));
        string keys = RepeatKeyValue(key, spec);
        string values = RepeatKeyValue(value, spec);
        string scores = g.Node("Mul", [g.Node("MatMul", [q, g.Node("Transpose", [keys], ("perm", new long[] { 0, 1, 3, 2 }))]), g.Constant((float)(1 / Math.Sqrt(hd)))]);
        string probabilities = g.Node("Softmax", [g.Node("Add", [scores, mask])], ("axis", -1L));
        string context = g.Node("Reshape", [g.Node("Transpose", [g.Node("MatMul", [probabilities, values])], ("perm", new long[] { 0, 2, 1, 3 })), g.Int64s(0, 0, spec.Heads * hd)]);
        string h = g.Node("Add", [x, layers.Linear(context, $"{name}.self_attn.o_proj", spec.Heads * hd, spec.Hidden, bias: false)]);
        string normed2 = RmsNorm(h, $"{name}.post_attention_layernorm", spec.Hidden, spec.RmsEpsilon);
        string gate = Silu(layers.Linear(normed2, $"{name}.mlp.gate_proj", spec.Hidden, spec.Intermediate, bias: false));
        string up = layers.Linear(normed2, $"{name}.mlp.up_proj", spec.Hidden, spec.Intermediate, bias: false);
        string down = layers.Linear(g.Node("Mul", [gate, up]), $"{name}.mlp.down_proj", spec.Intermediate, spec.Hidden, bias: false);
        return (g.Node("Add", [h, down]), key, value);
    }

    private string Heads(string x, int heads, int headDim) =>
        G.Node("Transpose", [G.Node("Reshape", [x, G.Int64s(0, 0, heads, headDim)])], ("perm", new long[] { 0, 2, 1, 3 }));

    /// <summary>[batch, kvHeads, t, hd] → [batch, heads, t, hd], each key/value head shared by a group of query heads.</summary>
    private string RepeatKeyValue(string x, Families.DecoderSpec spec)
    {
        if (spec.GroupSize == 1)
        {
            return x;
        }
        GraphBuilder g = G;
        string tiled = g.Node("Tile", [g.Node("Unsqueeze", [x, g.Int64s(2)]), g.Int64s(1, 1, spec.GroupSize, 1, 1)]);
        return g.Node("Reshape", [tiled, g.Int64s(0, spec.Heads, -1, spec.HeadDim)]);
    }
}
