namespace VlmService.Imaging;

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

    public void Dispose()
    {
        nint handle = Interlocked.Exchange(ref _handle, 0);
        if (handle != 0)
        {
            Vips.Unref(handle);
        }
    }
}
