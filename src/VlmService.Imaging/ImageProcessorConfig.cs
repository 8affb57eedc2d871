using System.Text.Json.Nodes;

namespace VlmService.Imaging;

/// <summary>The keys of preprocessor_config.json that CLIP- and SigLIP-style processors read, with the reference's defaults.</summary>
public sealed record ImageProcessorConfig
{
    public bool DoResize { get; init; } = true;

    public int? ShortestEdge { get; init; }

    public int? LongestEdge { get; init; }

    public int? Width { get; init; }

    public int? Height { get; init; }

    /// <summary>PIL resample code: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic.</summary>
    public int Resample { get; init; } = 2;

    public bool DoCenterCrop { get; init; }

    public int CropWidth { get; init; }

    public int CropHeight { get; init; }

    public bool DoRescale { get; init; } = true;

    public double RescaleFactor { get; init; } = 1.0 / 255;

    public bool DoNormalize { get; init; } = true;

    public double[] Mean { get; init; } = [0.5, 0.5, 0.5];

    public double[] Std { get; init; } = [0.5, 0.5, 0.5];

    /// <summary>Idefics3: tile size (<c>max_image_size.longest_edge</c>), 0 when not given.</summary>
    public int MaxImageSize { get; init; }

    /// <summary>Idefics3: split large images into tiles plus a global view.</summary>
    public bool DoImageSplitting { get; init; }

    public static ImageProcessorConfig FromFile(string path) => FromJson(JsonNode.Parse(File.ReadAllText(path))!);

    public static ImageProcessorConfig FromJson(JsonNode config)
    {
        JsonNode? size = config["size"];
        JsonNode? crop = config["crop_size"];
        int? sizeInt = size is JsonValue v ? v.GetValue<int>() : null;
        return new ImageProcessorConfig
        {
            DoResize = config["do_resize"]?.GetValue<bool>() ?? true,
            ShortestEdge = size?["shortest_edge"]?.GetValue<int>() ?? sizeInt,
            LongestEdge = size?["longest_edge"]?.GetValue<int>() ?? (sizeInt is null ? null : config["max_size"]?.GetValue<int>() ?? sizeInt),
            Width = size is JsonObject ? size["width"]?.GetValue<int>() : null,
            Height = size is JsonObject ? size["height"]?.GetValue<int>() : null,
            Resample = config["resample"]?.GetValue<int>() ?? 2,
            DoCenterCrop = config["do_center_crop"]?.GetValue<bool>() ?? false,
            CropWidth = crop is JsonValue c ? c.GetValue<int>() : crop?["width"]?.GetValue<int>() ?? 0,
            CropHeight = crop is JsonValue c2 ? c2.GetValue<int>() : crop?["height"]?.GetValue<int>() ?? 0,
            DoRescale = config["do_rescale"]?.GetValue<bool>() ?? true,
            RescaleFactor = config["rescale_factor"]?.GetValue<double>() ?? 1.0 / 255,
            DoNormalize = config["do_normalize"]?.GetValue<bool>() ?? true,
            Mean = Triple(config["image_mean"], 0.5),
            Std = Triple(config["image_std"], 0.5),
            MaxImageSize = config["max_image_size"]?["longest_edge"]?.GetValue<int>() ?? 0,
            DoImageSplitting = config["do_image_splitting"]?.GetValue<bool>() ?? true,
        };
    }

    private static double[] Triple(JsonNode? node, double fallback) => node switch
    {
        JsonArray array => array.Select(x => x!.GetValue<double>()).ToArray(),
        JsonValue value => Enumerable.Repeat(value.GetValue<double>(), 3).ToArray(),
        _ => Enumerable.Repeat(fallback, 3).ToArray(),
    };
}
