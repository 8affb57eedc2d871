namespace VlmService.ModelKit.Onnx;

/// <summary>
/// Serializes a <see cref="GraphBuilder"/> as an ONNX ModelProto. Field numbers are those of onnx.proto
/// (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto).
/// </summary>
internal static class OnnxModelWriter
{
    private const long IrVersion = 8;

    /// <summary>
    /// Streams the model: small messages are built in memory, weights go from their arrays straight to the stream,
    /// with every length computed up front.
    /// </summary>
    public static void Write(GraphBuilder graph, Stream stream)
    {
        var head = new ProtoWriter();
        head.Varint(1, IrVersion);
        head.String(2, "vlmservice-modelkit");
        head.String(3, "1");
        stream.Write(head.ToArray());

        var small = new ProtoWriter();
        foreach (GraphNode node in graph.Nodes)
        {
            small.Message(1, Node(node));
        }
        small.String(2, graph.Name);
        byte[] nodesAndName = small.ToArray();
        var tail = new ProtoWriter();
        foreach (ValueInfo input in graph.Inputs)
        {
            tail.Message(11, Value(input));
        }
        foreach (ValueInfo output in graph.Outputs)
        {
            tail.Message(12, Value(output));
        }
        byte[] inputsAndOutputs = tail.ToArray();
        var initializers = graph.Initializers.Select(init => (Init: init, Header: TensorHeader(init))).ToList();
        long graphSize = nodesAndName.Length + inputsAndOutputs.Length
            + initializers.Sum(i => ProtoWriter.FieldSize(5, TensorSize(i.Header, i.Init)));

        ProtoWriter.WriteFieldHeader(stream, 7, graphSize);
        stream.Write(nodesAndName);
        foreach ((Initializer init, byte[] header) in initializers)
        {
            ProtoWriter.WriteFieldHeader(stream, 5, TensorSize(header, init));
            stream.Write(header);
            ProtoWriter.WriteFieldHeader(stream, 9, init.RawLength);
            stream.Write(init.RawData);
        }
        stream.Write(inputsAndOutputs);

        var opsets = new ProtoWriter();
        opsets.Message(8, OpsetImport(string.Empty, GraphBuilder.Opset));
        opsets.Message(8, OpsetImport("com.microsoft", 1));
        stream.Write(opsets.ToArray());
    }

    private static long TensorSize(byte[] header, Initializer init) => header.Length + ProtoWriter.FieldSize(9, init.RawLength);

    private static ProtoWriter OpsetImport(string domain, long version)
    {
        var opset = new ProtoWriter();
        opset.String(1, domain);
        opset.Varint(2, version);
        return opset;
    }

    private static ProtoWriter Graph(GraphBuilder graph)
    {
        var g = new ProtoWriter();
        foreach (GraphNode node in graph.Nodes)
        {
            g.Message(1, Node(node));
        }
        g.String(2, graph.Name);
        foreach (Initializer init in graph.Initializers)
        {
            g.Message(5, Tensor(init));
        }
        foreach (ValueInfo input in graph.Inputs)
        {
            g.Message(11, Value(input));
        }
        foreach (ValueInfo output in graph.Outputs)
        {
            g.Message(12, Value(output));
        }
        return g;
    }

    private static ProtoWriter Node(GraphNode node)
    {
        var n = new ProtoWriter();
        foreach (string input in node.Inputs)
        {
            n.String(1, input);
        }
        foreach (string output in node.Outputs)
        {
            n.String(2, output);
        }
        n.String(3, node.Name);
        n.String(4, node.OpType);
        foreach ((string name, object value) in node.Attributes)
        {
            n.Message(5, Attribute(name, value));
        }
        if (node.Domain.Length > 0)
        {
            n.String(7, node.Domain);
        }
        return n;
    }

    private static ProtoWriter Attribute(string name, object value)
    {
        // AttributeType: FLOAT=1, INT=2, STRING=3, TENSOR=4, FLOATS=6, INTS=7
        var a = new ProtoWriter();
        a.String(1, name);
        switch (value)
        {
            case float f:
                a.Float(2, f);
                a.Varint(20, 1);
                break;
            case long i:
                a.Varint(3, i);
                a.Varint(20, 2);
                break;
            case int i:
                a.Varint(3, i);
                a.Varint(20, 2);
                break;
            case string s:
                a.String(4, s);
                a.Varint(20, 3);
                break;
            case Initializer t:
                a.Message(5, Tensor(t));
                a.Varint(20, 4);
                break;
            case long[] ints:
                foreach (long v in ints)
                {
                    a.Varint(8, v);
                }
                a.Varint(20, 7);
                break;
            default:
                throw new NotSupportedException($"Attribute {name} of type {value.GetType().Name}.");
        }
        return a;
    }

    /// <summary>TensorProto fields other than raw_data: dims, data_type, name.</summary>
    private static byte[] TensorHeader(Initializer init)
    {
        var t = new ProtoWriter();
        foreach (long d in init.Dims)
        {
            t.Varint(1, d);
        }
        t.Varint(2, (long)init.ElementType);
        t.String(8, init.Name);
        return t.ToArray();
    }


    /// <summary>A whole TensorProto in memory, for the small tensors held inside attributes.</summary>
    private static ProtoWriter Tensor(Initializer init)
    {
        var t = new ProtoWriter();
        foreach (long d in init.Dims)
        {
            t.Varint(1, d);
        }
        t.Varint(2, (long)init.ElementType);
        t.String(8, init.Name);
        t.Bytes(9, init.RawData);
        return t;
    }

    private static ProtoWriter Value(ValueInfo info)
    {
        var shape = new ProtoWriter();
        foreach (object dim in info.Dims)
        {
            var d = new ProtoWriter();
            if (dim is string symbol)
            {
                d.String(2, symbol);
            }
            else
            {
                d.Varint(1, Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture));
            }
            shape.Message(1, d);
        }
        var tensorType = new ProtoWriter();
        tensorType.Varint(1, (long)info.ElementType);
        tensorType.Message(2, shape);
        var type = new ProtoWriter();
        type.Message(1, tensorType);
        var v = new ProtoWriter();
        v.String(1, info.Name);
        v.Message(2, type);
        return v;
    }
}
