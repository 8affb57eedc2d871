namespace VlmService.ModelKit.Onnx;

/// <summary>Transformer building blocks as ONNX subgraphs, weights drawn from a <see cref="WeightSource"/>.</summary>
internal sealed class Layers(GraphBuilder g, WeightSource weights)
{
    public GraphBuilder Graph => g;

    public string Linear(string x, string name, int inFeatures, int outFeatures, bool bias = true)
    {
        string w = g.Weight($"{name}.weight", weights.Normal($"{name}.weight", inFeatures * outFeatures, 1.0 / Math.Sqrt(inFeatures)), inFeatures, outFeatures);
        string y = g.Node("MatMul", [x, w]);
        return bias ? g.Node("Add", [y, g.Weight($"{name}.bias", weights.Normal($"{name}.bias", outFeatures, 0.02), outFeatures)]) : y;
    }

    public string LayerNorm(string x, string name, int features, float epsilon)
    {
        string scale = g.Weight($"{name}.weight", weights.Around($"{name}.weight", features, 1.0, 0.05), features);
        string shift = g.Weight($"{name}.bias", weights.Normal($"{name}.bias", features, 0.02), features);
        return g.Node("LayerNormalization", [x, scale, shift], ("axis", -1L), ("epsilon", epsilon));
    }

    public string QuickGelu(string x) => g.Node("Mul", [x, g.Node("Sigmoid", [g.Node("Mul", [x, g.Constant(1.702f)])])]);

    /// <summary>GELU with the tanh approximation (gelu_pytorch_tanh).</summary>
    public string GeluTanh(string x)
    {
        string cube = g.Node("Mul", [g.Node("Mul", [x, x]), x]);
        string inner = g.Node("Mul", [g.Node("Add", [x, g.Node("Mul", [cube, g.Constant(0.044715f)])]), g.Constant(0.7978845608f)]);
        string tanh = g.Node("Tanh", [inner]);
        return g.Node("Mul", [g.Node("Mul", [x, g.Constant(0.5f)]), g.Node("Add", [tanh, g.Constant(1f)])]);
    }

    public string Mlp(string x, string name, int hidden, int intermediate, Func<string, string> activation) =>
        Linear(activation(Linear(x, $"{name}.fc1", hidden, intermediate)), $"{name}.fc2", intermediate, hidden);

    /// <summary>
    /// Multi-head attention; <paramref name="additiveMask"/> broadcasts to [batch, heads, query, key].
    /// </summary>
    public string Attention(string query, string keyValue, string name, int hidden, int heads, string? additiveMask)
    {
        int headDim = hidden / heads;
        string q = SplitHeads(Linear(query, $"{name}.q_proj", hidden, hidden), heads, headDim);
        string k = SplitHeads(Linear(keyValue, $"{name}.k_proj", hidden, hidden), heads, headDim);
        string v = SplitHeads(Linear(keyValue, $"{name}.v_proj", hidden, hidden), heads, headDim);
        string kT = g.Node("Transpose", [k], ("perm", new long[] { 0, 1, 3, 2 }));
        string scores = g.Node("Mul", [g.Node("MatMul", [q, kT]), g.Constant((float)(1.0 / Math.Sqrt(headDim)))]);
        if (additiveMask is not null)
        {
            scores = g.Node("Add", [scores, additiveMask]);
        }
        string probs = g.Node("Softmax", [scores], ("axis", -1L));
        string context = g.Node("MatMul", [probs, v]);
        string merged = g.Node("Reshape", [g.Node("Transpose", [context], ("perm", new long[] { 0, 2, 1, 3 })), g.Int64s(0, 0, hidden)]);
        return Linear(merged, $"{name}.out_proj", hidden, hidden);
    }

    private string SplitHeads(string x, int heads, int headDim) =>
        g.Node("Transpose", [g.Node("Reshape", [x, g.Int64s(0, 0, heads, headDim)])], ("perm", new long[] { 0, 2, 1, 3 }));

    /// <summary>Pre-norm encoder layer as CLIP and SigLIP use it.</summary>
    public string EncoderLayer(string x, string name, EncoderShape shape, string? mask, Func<string, string> activation)
    {
        string normed = LayerNorm(x, $"{name}.layer_norm1", shape.Hidden, shape.Epsilon);
        string h = g.Node("Add", [x, Attention(normed, normed, $"{name}.self_attn", shape.Hidden, shape.Heads, mask)]);
        string normed2 = LayerNorm(h, $"{name}.layer_norm2", shape.Hidden, shape.Epsilon);
        return g.Node("Add", [h, Mlp(normed2, $"{name}.mlp", shape.Hidden, shape.Intermediate, activation)]);
    }

    public string Encoder(string x, string name, EncoderShape shape, string? mask, Func<string, string> activation)
    {
        for (int i = 0; i < shape.Layers; i++)
        {
            x = EncoderLayer(x, $"{name}.layers.{i}", shape, mask, activation);
        }
        return x;
    }

    /// <summary>L2-normalizes the last axis.</summary>
    public string Normalize(string x) => g.Node("Div", [x, g.Node("ReduceL2", [x], ("axes", new long[] { -1 }), ("keepdims", 1L))]);

    /// <summary>Row <paramref name="index"/> of axis 1: [batch, seq, hidden] → [batch, hidden].</summary>
    public string TakeToken(string x, long index) => g.Node("Gather", [x, g.Int64Scalar(index)], ("axis", 1L));

    public WeightSource Weights => weights;
}

internal sealed record EncoderShape(int Hidden, int Layers, int Heads, int Intermediate, float Epsilon);
