using VlmService.Engine.Models;
using VlmService.Imaging;
using VlmService.Onnx;

namespace VlmService.Bench;

/// <summary>What the in-process modes open from a CLIP or SigLIP model folder (--model-dir), in the service's layout.</summary>
internal static class ClipFolder
{
    public static DualEncoderImageProcessor ImageProcessor(string folder) =>
        new(ImageProcessorConfig.FromFile(Path.Combine(folder, "preprocessor_config.json")));

    public static InferenceSession OpenVision(string folder, SessionSettings settings) =>
        InferenceSession.Open(Path.Combine(folder, "onnx", "vision_model.onnx"), settings);

    /// <summary>The output the service reads image embeddings from.</summary>
    public static string VisionOutput(InferenceSession vision) => DualEncoderModel.EmbeddingOutput(vision, "image_embeds");
}
