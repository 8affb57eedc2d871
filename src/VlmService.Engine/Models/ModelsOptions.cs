using VlmService.Onnx;

namespace VlmService.Engine.Models;

/// <summary>Where models come from and how their sessions run.</summary>
public sealed record ModelsOptions
{
    public const string Section = "Models";

    /// <summary>Every folder (or link to one) under this directory is a model; unset = built-in demo models.</summary>
    public string? Root { get; set; }

    /// <summary>Where demo models are generated on first start.</summary>
    public string? DemoCache { get; set; }

    public ExecutionProviderKind Provider { get; set; } = ExecutionProviderKind.Auto;

    public int CudaDeviceId { get; set; }

    /// <summary>
    /// Threads of the one pool all model sessions share (0 = one per core). Stages that run at the same time split
    /// these threads rather than each bringing a pool of its own.
    /// </summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Label embeddings kept per process for zero-shot classification.</summary>
    public int LabelCacheEntries { get; set; } = 4096;
}

/// <summary>Limits on untrusted images, decided before decoding where possible.</summary>
public sealed record ImageOptions
{
    public const string Section = "Images";

    public long MaxPixels { get; set; } = 40_000_000;

    public int MaxSide { get; set; } = 16_384;

    /// <summary>
    /// 0 (default): JPEGs are decoded at full size, as the reference does. N ≥ 1: for embedding and zero-shot models a
    /// JPEG is decoded at 1/2, 1/4 or 1/8 scale while its short side stays ≥ N × the model's input side — several
    /// times faster for large photos; pixels then differ slightly from the reference's.
    /// </summary>
    public int JpegShrinkMargin { get; set; }

    /// <summary>Images decoded at once; decoding is CPU-bound and runs beside the model stages.</summary>
    public int MaxConcurrentDecodes { get; set; } = Environment.ProcessorCount;
}
