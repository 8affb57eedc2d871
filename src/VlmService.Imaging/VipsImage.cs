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
        int rowBytes = Width * Bands;
        var pixels = new byte[(long)rowBytes * Height];
        int y = 0;
        ForEachRow(row => row.CopyTo(pixels.AsSpan(y++ * rowBytes, rowBytes)));
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
    /// Decodes an 8-bit image top to bottom and lends every row to <paramref name="action"/> in order, without ever
    /// holding the whole image. The pipeline runs on the calling thread, a strip at a time: libvips' own sinks hand
    /// each strip between a worker thread and a writer, and on a small image those wake-ups cost about as much as the
    /// decoding.
    /// </summary>
    public void ForEachRow(RowAction action)
    {
        if (Format != Vips.FormatUChar)
        {
            throw new InvalidOperationException("Rows are read from 8-bit images only.");
        }
        nint region = Vips.RegionNew(_handle);
        if (region == 0)
        {
            throw new ImageException(ImageErrorKind.Undecodable, $"decoding failed: {Vips.LastError()}");
        }
        try
        {
            int width = Width;
            int height = Height;
            int rowBytes = width * Bands;
            for (int top = 0; top < height; top += StripHeight)
            {
                var area = new Vips.Rect { Left = 0, Top = top, Width = width, Height = Math.Min(StripHeight, height - top) };
                if (Vips.RegionPrepare(region, &area) != 0)
                {
                    throw new ImageException(ImageErrorKind.Undecodable, $"decoding failed: {Vips.LastError()}");
                }
                byte* data = PreparedRows(region, area, out int lineBytes, out int validTop);
                for (int y = area.Top; y < area.Top + area.Height; y++)
                {
                    action(new ReadOnlySpan<byte>(data + ((long)(y - validTop) * lineBytes), rowBytes));
                }
            }
        }
        finally
        {
            Vips.Unref(region);
        }
    }

    /// <summary>Rows computed per call: a few JPEG block rows, a few hundred kilobytes for the widest accepted photos.</summary>
    private const int StripHeight = 16;

    // Offsets in struct _VipsRegion (x86-64) of the fields that libvips' public VIPS_REGION_ADDR macro reads, and so
    // compiles into every program that uses it: im, valid, data, bpl.
    private const int RegionImageOffset = 80;
    private const int RegionValidOffset = 88;
    private const int RegionDataOffset = 112;
    private const int RegionLineBytesOffset = 120;

    /// <summary>Where the region holds <paramref name="area"/>: its data, bytes per line and the first row it holds.</summary>
    private byte* PreparedRows(nint region, Vips.Rect area, out int lineBytes, out int validTop)
    {
        Vips.Rect valid = *(Vips.Rect*)(region + RegionValidOffset);
        if (*(nint*)(region + RegionImageOffset) != _handle || valid.Left != 0 || valid.Width < area.Width
            || valid.Top > area.Top || valid.Top + valid.Height < area.Top + area.Height)
        {
            throw new InvalidOperationException("libvips prepared a region this build does not understand (VipsRegion layout changed?).");
        }
        lineBytes = *(int*)(region + RegionLineBytesOffset);
        validTop = valid.Top;
        return *(byte**)(region + RegionDataOffset);
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
