using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace VlmService.ModelKit.Onnx;

/// <summary>Protocol-buffers wire format, just what ONNX's ModelProto needs (varints, length-delimited fields).</summary>
internal sealed class ProtoWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public void Varint(int field, long value)
    {
        Tag(field, 0);
        WriteVarint((ulong)value);
    }

    public void Float(int field, float value)
    {
        Tag(field, 5);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        _buffer.Write(bytes);
    }

    public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        WriteVarint((ulong)value.Length);
        _buffer.Write(value);
    }

    public void Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public void PackedVarints(int field, IEnumerable<long> values)
    {
        var inner = new ProtoWriter();
        foreach (long v in values)
        {
            inner.WriteVarint((ulong)v);
        }
        Bytes(field, inner.ToArray());
    }

    private void WriteByte(byte value) => _buffer.Write([value]);

    private void Tag(int field, int wireType) => WriteVarint((ulong)((field << 3) | wireType));

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        WriteByte((byte)value);
    }
}
