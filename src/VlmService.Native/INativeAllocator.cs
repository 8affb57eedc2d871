namespace VlmService.Native;

/// <summary>An allocator whose memory a <see cref="NativeBuffer{T}"/> can hold: a GPU's, lent through ONNX Runtime.</summary>
public interface INativeAllocator
{
    /// <summary>Where the memory is, for messages ("Cuda:0").</summary>
    string Name { get; }

    /// <summary>
    /// Gives back memory this allocator lent. Called from a finalizer too, for a buffer its owner forgot: after the
    /// allocator itself is gone it must do nothing rather than fail.
    /// </summary>
    void Free(nint data);
}
