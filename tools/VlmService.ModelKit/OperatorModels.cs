using VlmService.ModelKit.Onnx;

namespace VlmService.ModelKit;

/// <summary>Small ONNX models the service runs: preprocessing the reference does with ONNX operators, and moving KV caches that live on a device.</summary>
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

    /// <summary>
    /// Rows of a KV-cache tensor x [batch, heads, length, headDim] moved into a new left-padded layout, for caches that
    /// stay in a device's memory: <c>y</c> holds the rows listed in <c>rows</c> (int64[r]) with their positions from
    /// <c>start</c> (int64[1]) on, widened on the left by the int64[8] <c>pads</c> (Pad's layout: begins of the four
    /// axes, then ends); in row i only the last <c>lengths</c>[i] positions keep their entries and the rest are zeros,
    /// whatever the source held there.
    /// </summary>
    public static byte[] CacheRows()
    {
        var g = new GraphBuilder("cache_rows");
        string x = g.Input("x", DataType.Float, "b", "h", "l", "d");
        string rows = g.Input("rows", DataType.Int64, "r");
        string lengths = g.Input("lengths", DataType.Int64, "r");
        string start = g.Input("start", DataType.Int64, 1);
        string pads = g.Input("pads", DataType.Int64, 8);
        string picked = g.Node("Gather", [x, rows], ("axis", 0L));
        string kept = g.Node("Slice", [picked, start, g.Int64s(long.MaxValue), g.Int64s(2)]);
        string padded = g.Node("Pad", [kept, pads], ("mode", "constant"));
        string length = g.Node("Gather", [g.Node("Shape", [padded]), g.Int64Scalar(2)], ("axis", 0L));
        string positions = g.Node("Range", [g.Int64Scalar(0), length, g.Int64Scalar(1)]);
        // Row i keeps positions from length − lengths[i] on: [1, L] ≥ [r, 1] gives [r, L], then [r, 1, L, 1].
        string firstKept = g.Node("Unsqueeze", [g.Node("Sub", [length, lengths]), g.Int64s(1)]);
        string keep = g.Node("GreaterOrEqual", [g.Node("Unsqueeze", [positions, g.Int64s(0)]), firstKept]);
        g.Node("Where", [g.Node("Unsqueeze", [keep, g.Int64s(1, 3)]), padded, g.Constant(0f)], ["y"]);
        g.Outputs.Add(new ValueInfo("y", DataType.Float, ["r", "h", "L", "d"]));
        return g.Serialize();
    }
}
