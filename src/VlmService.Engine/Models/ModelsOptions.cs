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

    /// <summary>Images decoded at once; decoding is CPU-bound and runs beside the model stages.</summary>
    public int MaxConcurrentDecodes { get; set; } = Environment.ProcessorCount;
}
