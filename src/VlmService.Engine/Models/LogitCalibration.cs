using System.Text.Json.Nodes;
using VlmService.Imaging;
using VlmService.Onnx;
using VlmService.Text;

namespace VlmService.Engine.Models;

/// <summary>
/// Zero-shot logits are <c>scale · cos(image, text) + bias</c>. The learned scale and bias live inside
/// onnx/model.onnx (not in config.json), so they are measured once at load: run model.onnx on one probe image
/// and several texts, and fit its logits against the cosines of its own normalized embeddings.
/// </summary>
public sealed record LogitCalibration(double Scale, double Bias)
{
    private static readonly string[] ProbeTexts = ["a", "a photo of a dog", "zebra crossing at night", "two red apples on a wooden table", "xq"];

    public double Logit(double cosine) => (Scale * cosine) + Bias;

    public static LogitCalibration FromConfig(JsonNode config) =>
        new(Math.Exp(config["logit_scale_init_value"]?.GetValue<double>() ?? Math.Log(100)), 0);

    public static LogitCalibration Measure(string modelPath, SessionSettings settings, Tokenizer tokenizer, DualEncoderImageProcessor processor, Padding padding)
    {
        using InferenceSession session = InferenceSession.Open(modelPath, settings with { IntraOpThreads = 1 });
        (int height, int width) = processor.OutputSize;
        var probe = new byte[width * height * 3];
        for (int i = 0; i < probe.Length; i++)
        {
            probe[i] = (byte)((i * 37) % 251);
        }
        float[] pixels = processor.Process(new RgbImage(width, height, probe));
        TokenBatch texts = tokenizer.EncodeBatch(ProbeTexts, padding);
        var inputs = new List<KeyValuePair<string, ITensor>>
        {
            new("input_ids", new Tensor<long>(texts.Ids, texts.BatchSize, texts.Length)),
            new("pixel_values", new Tensor<float>(pixels, 1, 3, height, width)),
        };
        if (session.HasInput("attention_mask"))
        {
            inputs.Add(new("attention_mask", new Tensor<long>(texts.AttentionMask, texts.BatchSize, texts.Length)));
        }
        var outputs = session.Run(inputs, ["logits_per_image", "image_embeds", "text_embeds"]);
        float[] logits = ((Tensor<float>)outputs["logits_per_image"]).Data;
        float[] image = ((Tensor<float>)outputs["image_embeds"]).Data;
        var text = (Tensor<float>)outputs["text_embeds"];
        double[] cosines = Enumerable.Range(0, texts.BatchSize).Select(j => Vectors.Cosine(image, text.Row(j))).ToArray();
        return Fit(cosines, logits.Select(l => (double)l).ToArray());
    }

    /// <summary>Least-squares line through (cosine, logit).</summary>
    internal static LogitCalibration Fit(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        double meanX = x.Average();
        double meanY = y.Average();
        double covariance = 0;
        double variance = 0;
        for (int i = 0; i < x.Count; i++)
        {
            covariance += (x[i] - meanX) * (y[i] - meanY);
            variance += (x[i] - meanX) * (x[i] - meanX);
        }
        if (variance < 1e-12)
        {
            throw new InvalidDataException("model.onnx gave the same similarity for every probe text; its logit scale cannot be measured.");
        }
        double scale = covariance / variance;
        return new LogitCalibration(scale, meanY - (scale * meanX));
    }
}
