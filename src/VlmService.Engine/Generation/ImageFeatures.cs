using VlmService.Onnx;

namespace VlmService.Engine.Generation;

/// <summary>What a prompt needs to know about its image: the tile grid (0×0 = one view) and the feature rows it yields.</summary>
public sealed record ImageLayout(int Rows, int Cols, int Views, int FeatureRows);

/// <summary>One image's pixels as the vision encoder takes them: <see cref="Views"/> planes of 3×height×width.</summary>
public sealed record ProcessedImage(float[] Pixels, int Views, int Height, int Width, ImageLayout Layout);

/// <summary>The vision encoder's output for one image: <see cref="ImageLayout.FeatureRows"/> rows of the LLM's width.</summary>
public sealed record EncodedImage(ImageLayout Layout, float[] Features)
{
    public long Bytes => (long)Features.Length * sizeof(float);
}

internal static class ImageFeatures
{
    /// <summary>Refuses a prompt whose image-token count differs from the encoder's feature rows (the reference throws too).</summary>
    public static void EnsureMatches(int imageTokenId, int[] ids, EncodedImage image)
    {
        int tokens = ids.Count(id => id == imageTokenId);
        if (tokens != image.Layout.FeatureRows)
        {
            throw new InvalidOperationException($"The prompt has {tokens} image tokens but the vision encoder gave {image.Layout.FeatureRows} features.");
        }
    }

    /// <summary>
    /// Overwrites the embeddings of prompt positions [start, start + chunk) that hold the image token with the
    /// image's feature rows, in order (the reference's merge, done one prefill chunk at a time).
    /// </summary>
    public static void Merge(int imageTokenId, int[] ids, int start, Tensor<float> embeds, float[] features)
    {
        int hidden = (int)embeds.Shape[2];
        int length = (int)embeds.Shape[1];
        int row = ids.AsSpan(0, start).Count(imageTokenId);
        for (int i = 0; i < length; i++)
        {
            if (ids[start + i] == imageTokenId)
            {
                Array.Copy(features, row * hidden, embeds.Data, i * hidden, hidden);
                row++;
            }
        }
    }
}
