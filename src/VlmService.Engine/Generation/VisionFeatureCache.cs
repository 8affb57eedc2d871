using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using VlmService.Engine.Caching;
using VlmService.Engine.Diagnostics;

namespace VlmService.Engine.Generation;

/// <summary>
/// Vision-encoder outputs by image content and model, bounded in bytes (least recently used leaves first):
/// a follow-up question about the same image skips decoding, resizing and the vision encoder.
/// </summary>
public sealed class VisionFeatureCache(IOptions<GenerationOptions> options, EngineMetrics metrics)
{
    public const string CacheName = "vision_features";

    private readonly LruCache<string, EncodedImage> _entries = new(options.Value.VisionFeatureCacheBytes, e => e.Bytes);

    /// <summary>False when configured to 0 bytes: callers skip hashing the image and the lookup.</summary>
    public bool Enabled { get; } = options.Value.VisionFeatureCacheBytes > 0;

    /// <summary>Bytes of features held now.</summary>
    public long Bytes => _entries.TotalCost;

    public int Count => _entries.Count;

    /// <summary>The model and the splitting choice are part of the key: both change the features.</summary>
    public static string Key(string modelId, bool splitsImage, byte[] image) =>
        $"{modelId}\n{(splitsImage ? "split" : "whole")}\n{Convert.ToHexString(SHA256.HashData(image))}";

    public bool TryGet(string key, out EncodedImage image)
    {
        bool hit = _entries.TryGet(key, out image);
        metrics.CacheLookup(CacheName, hit);
        return hit;
    }

    public void Add(string key, EncodedImage image) => _entries.Set(key, image);
}
