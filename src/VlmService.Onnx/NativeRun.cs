using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace VlmService.Onnx;

/// <summary>The native side of one run: pinned inputs wrapped as OrtValues, UTF-8 names, output slots.</summary>
internal sealed unsafe class NativeRun : IDisposable
{
    private readonly List<GCHandle> _pins = [];
    private readonly List<MemoryHandle> _tensors = [];

    /// <param name="outputBuffers">Where given, the output is written straight into that tensor's array.</param>
    public NativeRun(IReadOnlyList<KeyValuePair<string, ITensor>> inputs, IReadOnlyList<string> outputNames, IReadOnlyList<ITensor?>? outputBuffers = null)
    {
        InputNames = new nint[inputs.Count];
        InputValues = new nint[inputs.Count];
        OutputNames = new nint[outputNames.Count];
        OutputValues = new nint[outputNames.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            InputNames[i] = Utf8(inputs[i].Key);
            InputValues[i] = Wrap(inputs[i].Value);
        }
        for (int i = 0; i < outputNames.Count; i++)
        {
            OutputNames[i] = Utf8(outputNames[i]);
            if (outputBuffers?[i] is { } buffer)
            {
                OutputValues[i] = Wrap(buffer);
            }
        }
    }

    public nint[] InputNames { get; }

    public nint[] InputValues { get; }

    public nint[] OutputNames { get; }

    public nint[] OutputValues { get; }

    private nint Utf8(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text + "\0");
        GCHandle pin = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        _pins.Add(pin);
        return pin.AddrOfPinnedObject();
    }

    private nint Wrap(ITensor tensor)
    {
        MemoryHandle pin = tensor.Pin();
        _tensors.Add(pin);
        long[] shape = tensor.Shape;
        nuint byteLength = (nuint)(Shapes.ElementCount(shape) * ElementSize(tensor.ElementType));
        nint value;
        fixed (long* s = shape)
        {
            // A tensor over a session allocator's memory is that device's tensor: a CUDA run reads or writes it in place.
            nint memoryInfo = tensor is IDeviceTensor { Allocator: SessionAllocator device } ? device.MemoryInfo : OrtEnvironment.CpuMemoryInfo;
            OrtApi.Check(OrtApi.CreateTensorWithDataAsOrtValue(
                memoryInfo, pin.Pointer, byteLength, s, (nuint)shape.Length, (int)tensor.ElementType, &value));
        }
        return value;
    }

    internal static int ElementSize(TensorElementType type) => type switch
    {
        TensorElementType.Float or TensorElementType.Int32 => 4,
        TensorElementType.Int64 or TensorElementType.Double => 8,
        TensorElementType.Float16 => 2,
        TensorElementType.Bool or TensorElementType.UInt8 or TensorElementType.Int8 => 1,
        _ => throw new NotSupportedException($"Element type {type} is not supported."),
    };

    public void Dispose()
    {
        foreach (nint value in InputValues)
        {
            if (value != 0)
            {
                OrtApi.ReleaseValue(value);
            }
        }
        foreach (nint value in OutputValues)
        {
            if (value != 0)
            {
                OrtApi.ReleaseValue(value);
            }
        }
        foreach (GCHandle pin in _pins)
        {
            pin.Free();
        }
        foreach (MemoryHandle tensor in _tensors)
        {
            tensor.Dispose();
        }
    }
}
