using VlmService.Engine.Models;

namespace VlmService.Engine.Pipelines;

/// <summary>One item to embed: an image's bytes or a text.</summary>
public sealed record EmbedInput(byte[]? Image, string? Text);

public sealed record EmbeddingVector(int Index, bool IsImage, float[] Values);

public sealed record EmbeddingResult(string Model, int Dimensions, IReadOnlyList<EmbeddingVector> Data, int Images, int TextTokens);

/// <summary>
/// Images and texts into one embedding space. Every item of a request is submitted at once, so they join the
/// stage batches together with other requests' items.
/// </summary>
public sealed class EmbeddingService(ModelRegistry registry, ImageDecoding decoding)
{
    public async Task<EmbeddingResult> EmbedAsync(string? modelId, IReadOnlyList<EmbedInput> inputs, bool normalize, CancellationToken cancellationToken)
    {
        var model = (DualEncoderModel)registry.Resolve(modelId, Capabilities.Embed);
        int images = inputs.Count(i => i.Image is not null);
        if (images > 0)
        {
            model.VisionStage.EnsureCapacity();
        }
        if (images < inputs.Count)
        {
            model.TextStage.EnsureCapacity();
        }
        // Every image's header is checked before any is decoded, so that a bad one fails the request at once. A lone
        // image needs no such pass (its decode opens it with the same checks), which saves reading its header twice.
        if (images > 1)
        {
            foreach (byte[] image in inputs.Select(i => i.Image).OfType<byte[]>())
            {
                decoding.Probe(image);
            }
        }
        int textTokens = 0;
        var work = new List<Task<float[]>>(inputs.Count);
        foreach (EmbedInput input in inputs)
        {
            if (input.Image is { } image)
            {
                work.Add(EmbedImageAsync(model, image, cancellationToken));
            }
            else
            {
                (int[] ids, int tokens) = model.EncoderInput(input.Text ?? string.Empty);
                textTokens += tokens;
                work.Add(model.TextStage.SubmitAsync(ids, cancellationToken));
            }
        }
        float[][] vectors = await Task.WhenAll(work).ConfigureAwait(false);
        var data = vectors.Select((v, i) => new EmbeddingVector(i, inputs[i].Image is not null, normalize ? Vectors.Normalized(v) : v)).ToList();
        return new EmbeddingResult(model.Id, model.Dimensions, data, images, textTokens);
    }

    internal async Task<float[]> EmbedImageAsync(DualEncoderModel model, byte[] image, CancellationToken cancellationToken)
    {
        float[] pixels = await decoding.DecodeAndProcessAsync(image, model.ImageProcessor, model.RentPixels, cancellationToken).ConfigureAwait(false);
        return await model.VisionStage.SubmitAsync(pixels, cancellationToken).ConfigureAwait(false);
    }
}
