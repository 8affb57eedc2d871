using System.Runtime.InteropServices;

namespace VlmService.ModelKit.Onnx;

internal enum DataType
{
    Float = 1,
    Int64 = 7,
    Bool = 9,
    Float16 = 10,
}

internal sealed record ValueInfo(string Name, DataType ElementType, object[] Dims);

/// <summary>A weight: its values stay in their typed array until written, so a large model is not copied in memory.</summary>
internal sealed record Initializer(string Name, DataType ElementType, long[] Dims, Array Values)
{
    public ReadOnlySpan<byte> RawData => Values switch
    {
        float[] f => MemoryMarshal.AsBytes(f.AsSpan()),
        long[] l => MemoryMarshal.AsBytes(l.AsSpan()),
        byte[] b => b,
        _ => throw new NotSupportedException(Values.GetType().Name),
    };

    public long RawLength => (long)Buffer.ByteLength(Values);
}

internal sealed record GraphNode(string OpType, string Name, string[] Inputs, string[] Outputs, IReadOnlyList<(string Name, object Value)> Attributes, string Domain);

/// <summary>Collects nodes, weights and the graph signature; op helpers return the name of their output.</summary>
internal sealed class GraphBuilder(string name)
{
    public const long Opset = 17;

    private readonly Dictionary<string, Initializer> _initializers = [];
    private readonly Dictionary<string, string> _renamed = [];
    private int _counter;

    public string Name { get; } = name;

    public List<GraphNode> Nodes { get; } = [];

    public IEnumerable<Initializer> Initializers => _initializers.Values;

    public List<ValueInfo> Inputs { get; } = [];

    public List<ValueInfo> Outputs { get; } = [];

    public string Input(string name, DataType type, params object[] dims)
    {
        Inputs.Add(new ValueInfo(name, type, dims));
        return name;
    }

    /// <summary>
    /// Declares <paramref name="value"/> a graph output called <paramref name="name"/>. A value computed by a node is
    /// renamed, as exporters name their outputs: the node then writes straight into a buffer the caller binds to the
    /// output. An Identity in between would make the runtime keep the node's result in its own arena until the copy
    /// (for a decoder's present.* that is a whole KV cache per step).
    /// </summary>
    public void Output(string value, string name, DataType type, params object[] dims)
    {
        if (value != name)
        {
            bool computed = Nodes.Any(n => n.Outputs.Contains(value));
            if (computed && !Outputs.Any(o => o.Name == value))
            {
                Rename(value, name);
            }
            else
            {
                // A graph input, a weight or a value already given out under another name.
                Node("Identity", [value], [name]);
            }
        }
        Outputs.Add(new ValueInfo(name, type, dims));
    }

    /// <summary>Renames a value in the nodes so far; nodes added later that name it are rewired as they are added.</summary>
    private void Rename(string from, string to)
    {
        _renamed[from] = to;
        for (int i = 0; i < Nodes.Count; i++)
        {
            Nodes[i] = Nodes[i] with { Inputs = Renamed(Nodes[i].Inputs), Outputs = Renamed(Nodes[i].Outputs) };
        }
    }

    private string[] Renamed(string[] names) => names.Select(n => _renamed.GetValueOrDefault(n, n)).ToArray();

    /// <summary>Adds a weight once; a second call with the same name reuses it (text and vision share names in model.onnx).</summary>
    public string Weight(string name, float[] data, params long[] dims)
    {
        if (!_initializers.ContainsKey(name))
        {
            _initializers[name] = new Initializer(name, DataType.Float, dims, data);
        }
        return name;
    }

    public string Constant(float value) => Weight($"const_f_{BitConverter.SingleToInt32Bits(value):x8}", [value]);

    public string Int64s(params long[] values)
    {
        string key = $"const_i64_{string.Join('_', values).Replace('-', 'm')}";
        if (!_initializers.ContainsKey(key))
        {
            _initializers[key] = new Initializer(key, DataType.Int64, [values.Length], values);
        }
        return key;
    }

    public string Int64Scalar(long value)
    {
        string key = $"const_i64s_{value.ToString(System.Globalization.CultureInfo.InvariantCulture).Replace('-', 'm')}";
        if (!_initializers.ContainsKey(key))
        {
            _initializers[key] = new Initializer(key, DataType.Int64, [], new[] { value });
        }
        return key;
    }

    public string Node(string op, string[] inputs, params (string, object)[] attributes) => Node(op, inputs, 1, attributes)[0];

    public string[] Node(string op, string[] inputs, int outputCount, params (string, object)[] attributes)
    {
        string id = $"{op}_{_counter++}";
        string[] outputs = Enumerable.Range(0, outputCount).Select(i => $"{id}_out{i}").ToArray();
        Nodes.Add(new GraphNode(op, id, Renamed(inputs), outputs, attributes, string.Empty));
        return outputs;
    }

    public void Node(string op, string[] inputs, string[] outputs, params (string, object)[] attributes) =>
        Nodes.Add(new GraphNode(op, $"{op}_{_counter++}", Renamed(inputs), outputs, attributes, string.Empty));

    public byte[] Serialize()
    {
        using var buffer = new MemoryStream();
        OnnxModelWriter.Write(this, buffer);
        return buffer.ToArray();
    }

    public void WriteTo(Stream stream) => OnnxModelWriter.Write(this, stream);
}
