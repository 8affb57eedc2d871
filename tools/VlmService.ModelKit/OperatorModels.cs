using VlmService.ModelKit.Onnx;

namespace VlmService.ModelKit;

/// <summary>Single-operator ONNX models the service runs for preprocessing that the reference does with ONNX operators.</summary>
public static class OperatorModels
{
    /// <summary>
    /// <c>y = Resize(x, sizes)</c> with mode linear and the default half-pixel coordinates: bilinear resizing of
    /// [batch, channels, height, width] float tensors to the int64[4] <c>sizes</c>.
    /// </summary>
    public static byte[] BilinearResize()
    {
        var g = new GraphBuilder("bilinear_resize");
        string x = g.Input("x", DataType.Float, "b", "c", "h", "w");
        string sizes = g.Input("s", DataType.Int64, 4);
        g.Node("Resize", [x, string.Empty, string.Empty, sizes], ["y"], ("mode", "linear"));
        g.Outputs.Add(new ValueInfo("y", DataType.Float, ["b", "c", "H", "W"]));
        return g.Serialize();
    }
}
