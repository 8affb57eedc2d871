using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace VlmService.Imaging;

/// <summary>Receives one row of 8-bit pixels (bands interleaved), lent for the duration of the call.</summary>
internal delegate void RowAction(ReadOnlySpan<byte> row);

/// <summary>Owns one VipsImage reference; each operation returns a new owner and leaves this one intact.</summary>
internal sealed unsafe class VipsImage : IDisposable
{
    private nint _handle;

    public VipsImage(nint handle, string operation)
    {
        if (handle == 0)
        {
            throw new ImageException(ImageErrorKind.Undecodable, $"{operation} failed: {Vips.LastError()}");
        }
        _handle = handle;
    }

    public nint Handle => _handle;

    public int Width => Vips.GetWidth(_handle);

    public int Height => Vips.GetHeight(_handle);

    public int Bands => Vips.GetBands(_handle);

    public int Format => Vips.GetFormat(_handle);

    public int Interpretation => Vips.GetInterpretation(_handle);

    public bool HasField(string name) => Vips.GetTypeOf(_handle, name) != 0;

    /// <summary>An integer field such as EXIF "orientation", or null where the image has none.</summary>
    public int? IntField(string name)
    {
        int value;
        return HasField(name) && Vips.GetInt(_handle, name, &value) == 0 ? value : null;
    }

    /// <summary>Runs an operation that writes one output image; libvips reports failure through its error buffer.</summary>
    public VipsImage Apply(string operation, Func<nint, nint, int> call)
    {
        nint output = 0;
        int status = call(_handle, (nint)(&output));
        if (status != 0)
        {
            if (output != 0)
            {
                Vips.Unref(output);
            }
            throw new ImageException(ImageErrorKind.Undecodable, $"{operation} failed: {Vips.LastError()}");
        }
        return new VipsImage(output, operation);
    }

    /// <summary>Decodes (this is where pixels are actually read) and copies them out.</summary>
    public byte[] ToBytes()
    {
        byte[] pixels = [];
        UsePixels(p => pixels = p.ToArray());
        return pixels;
    }

    /// <summary>Decodes into libvips' memory and lends the pixels to <paramref name="use"/>; they are freed after it returns.</summary>
    public void UsePixels(Action<ReadOnlySpan<byte>> use)
    {
        nuint size;
        nint memory = Vips.WriteToMemory(_handle, &size);
        if (memory == 0)
        {
            throw new ImageException(ImageErrorKind.Undecodable, $"decoding failed: {Vips.LastError()}");
        }
        try
        {
            use(new ReadOnlySpan<byte>((void*)memory, checked((int)size)));
        }
        finally
        {
            Vips.Free(memory);
        }
    }

    /// <summary>
    /// Decodes an 8-bit image top to bottom and lends every row to <paramref name="action"/> in order, from libvips'
    /// writer thread, without ever holding the whole image: libvips reuses two strip buffers as it goes.
    /// </summary>
    public void ForEachRow(RowAction action)
    {
        if (Format != Vips.FormatUChar)
        {
            throw new InvalidOperationException("Rows are read from 8-bit images only.");
        }
        var strips = new StripReader(_handle, action, Width * Bands);
        GCHandle handle = GCHandle.Alloc(strips);
        try
        {
            int status = Vips.SinkDisc(_handle, &StripReader.Write, GCHandle.ToIntPtr(handle));
            if (strips.Failure is { } failure)
            {
                ExceptionDispatchInfo.Throw(failure);
            }
            if (status != 0)
            {
                throw new ImageException(ImageErrorKind.Undecodable, $"decoding failed: {Vips.LastError()}");
            }
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>The state behind <see cref="ForEachRow"/>'s native callback.</summary>
    private sealed class StripReader(nint image, RowAction action, int rowBytes)
    {
        // Offsets in struct _VipsRegion (x86-64) of the fields that libvips' public VIPS_REGION_ADDR macro reads, and
        // so compiles into every program that uses it: im, valid, data, bpl.
        private const int ImageOffset = 80;
        private const int ValidOffset = 88;
        private const int DataOffset = 112;
        private const int LineBytesOffset = 120;

        public Exception? Failure { get; private set; }

        [UnmanagedCallersOnly]
        public static int Write(nint region, Vips.Rect* area, nint user)
        {
            var reader = (StripReader)GCHandle.FromIntPtr(user).Target!;
            try
            {
                reader.Read(region, *area);
                return 0;
            }
            catch (Exception ex)
            {
                // Nothing may unwind into libvips: the failure is rethrown on the caller's thread.
                reader.Failure = ex;
                return -1;
            }
        }

        private void Read(nint region, Vips.Rect area)
        {
            Vips.Rect valid = *(Vips.Rect*)(region + ValidOffset);
            if (*(nint*)(region + ImageOffset) != image || area.Left != 0 || area.Width != Vips.GetWidth(image)
                || valid.Left != 0 || valid.Top > area.Top || valid.Top + valid.Height < area.Top + area.Height)
            {
                throw new InvalidOperationException("libvips handed over a region this build does not understand (VipsRegion layout changed?).");
            }
            byte* data = *(byte**)(region + DataOffset);
            int lineBytes = *(int*)(region + LineBytesOffset);
            for (int y = area.Top; y < area.Top + area.Height; y++)
            {
                action(new ReadOnlySpan<byte>(data + ((long)(y - valid.Top) * lineBytes), rowBytes));
            }
        }
    }

    public void Dispose()
    {
        nint handle = Interlocked.Exchange(ref _handle, 0);
        if (handle != 0)
        {
            Vips.Unref(handle);
        }
    }
}
