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
        if (inputs.Any(i => i.Image is not null))
        {
            model.VisionStage.EnsureCapacity();
        }
        if (inputs.Any(i => i.Image is null))
        {
            model.TextStage.EnsureCapacity();
        }
        foreach (EmbedInput input in inputs)
        {
            if (input.Image is { } image)
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
        return new EmbeddingResult(model.Id, model.Dimensions, data, inputs.Count(i => i.Image is not null), textTokens);
    }

    internal async Task<float[]> EmbedImageAsync(DualEncoderModel model, byte[] image, CancellationToken cancellationToken)
    {
        float[] pixels = await decoding.DecodeAndProcessAsync(image, model.ImageProcessor, model.RentPixels, cancellationToken).ConfigureAwait(false);
        return await model.VisionStage.SubmitAsync(pixels, cancellationToken).ConfigureAwait(false);
    }
}
