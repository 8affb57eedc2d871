using VlmService.Onnx;

namespace VlmService.Engine.Generation;

internal static class ImageFeatures
{
    /// <summary>Overwrites the embeddings at image-token positions with the image features, in order (the reference's merge).</summary>
    public static void Merge(int imageTokenId, int[] ids, Tensor<float> embeds, Tensor<float> features)
    {
        int hidden = (int)embeds.Shape[2];
        int rows = features.Data.Length / hidden;
        int[] positions = ids.Select((id, index) => (id, index)).Where(p => p.id == imageTokenId).Select(p => p.index).ToArray();
        if (positions.Length != rows)
        {
            throw new InvalidOperationException($"The prompt has {positions.Length} image tokens but the vision encoder gave {rows} features.");
        }
        for (int r = 0; r < rows; r++)
        {
            Array.Copy(features.Data, r * hidden, embeds.Data, positions[r] * hidden, hidden);
        }
    }
}
