using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VlmService.Imaging;

/// <summary>
/// libvips' bicubic (Catmull-Rom) affine scale of 8-bit pixels, reproduced bit for bit, fed with the source rows as
/// they are decoded: only four source rows are ever held, so a large photo is never materialised at full size.
/// What it reproduces, for <c>vips_affine(a, 0, 0, d)</c> with the bicubic interpolator and libvips' defaults:
/// output pixel (x, y) samples source position (x / a, y / d) — in double arithmetic, x's position accumulated
/// column by column from the left of the row as libvips does across a full-width strip; the fraction is rounded to
/// 1/64 and picks a row of integer weights (scaled by 4096); each of the four rows is filtered horizontally and
/// rounded, then the four results vertically; pixels beyond the source edge read as black, and an output pixel whose
/// sample point falls more than a pixel outside the source is black.
/// </summary>
internal sealed class BicubicScaler
{
    private const int PositionSteps = 64;
    private const int WeightShift = 12;
    private const int WeightRound = 1 << (WeightShift - 1);
    /// <summary>Zero pixels kept on each side of a stored row, so stencils at the edges read black without tests.</summary>
    private const int Margin = 3;
    /// <summary>
    /// Bytes past a stored row and ints past a filtered one: the vector pass reads an RGB stencil's 12 bytes as 16 and
    /// writes a column's 3 values as 4.
    /// </summary>
    private const int VectorSlack = 4;

    private static readonly int[][] Weights = BuildWeights();

    private readonly int _sourceWidth;
    private readonly int _sourceHeight;
    private readonly int _bands;
    private readonly byte[][] _rows;
    /// <summary>Source rows filtered horizontally, in the slots of <see cref="_rows"/>, and which source row each holds.</summary>
    private readonly int[][] _filtered;
    private readonly int[] _filteredIndex = [-1, -1, -1, -1];
    /// <summary>A row above or below the source, filtered: black reads as zero everywhere.</summary>
    private readonly int[] _blackFiltered;
    /// <summary>Each kept column's first source pixel (of four, counted in the stored row, margin included).</summary>
    private readonly int[] _columnStart;
    /// <summary>Each kept column's four weights, one after another; a black column has zero weights, which filter to zero.</summary>
    private readonly int[] _columnWeights;
    /// <summary>The same weights as 16-bit pairs for the vector pass, twice per column (c0 c1 c2 c3 c0 c1 c2 c3); null without it.</summary>
    private readonly short[]? _columnWeightPairs;
    private readonly (int LastRow, int[]? Weights)[] _outputRows;
    private int _received;
    private int _nextOutputRow;

    /// <summary>
    /// Scales to <paramref name="width"/>×<paramref name="height"/> as libvips' affine with the scales width / sourceWidth
    /// and height / sourceHeight. With <paramref name="centerCrop"/>, only that center crop of the output (as
    /// <see cref="Resampler.CenterCrop"/> cuts it) is computed and kept; a crop larger than the output is ignored,
    /// left to the caller. <paramref name="vectorised"/> false keeps to the scalar passes (tests compare the two).
    /// </summary>
    /// <param name="reusablePixels">Written over and kept as <see cref="Pixels"/> when it is exactly the kept size; otherwise ignored.</param>
    public BicubicScaler(int sourceWidth, int sourceHeight, int bands, int width, int height, (int Width, int Height)? centerCrop = null,
        bool vectorised = true, byte[]? reusablePixels = null)
    {
        _sourceWidth = sourceWidth;
        _sourceHeight = sourceHeight;
        _bands = bands;
        double a = (double)width / sourceWidth;
        double d = (double)height / sourceHeight;
        // libvips' output covers the source's transformed bounds, rounded half away from zero.
        width = (int)((a * sourceWidth) + 0.5);
        height = (int)((d * sourceHeight) + 0.5);
        (int left, int top) = (0, 0);
        (Width, Height) = (width, height);
        if (centerCrop is { } crop && crop.Width <= width && crop.Height <= height)
        {
            (left, top) = Resampler.CenterCropOffset(width, height, crop.Width, crop.Height);
            (Width, Height) = crop;
        }
        int rowLength = ((sourceWidth + (2 * Margin)) * bands) + VectorSlack;
        _rows = [new byte[rowLength], new byte[rowLength], new byte[rowLength], new byte[rowLength]];
        // Every kept pixel is written, so a new array need not be zeroed first.
        Pixels = reusablePixels?.Length == Width * Height * bands ? reusablePixels : GC.AllocateUninitializedArray<byte>(Width * Height * bands);
        int filteredLength = (Width * bands) + VectorSlack;
        _filtered = [new int[filteredLength], new int[filteredLength], new int[filteredLength], new int[filteredLength]];
        _blackFiltered = new int[Width * bands];

        // libvips inverts the matrix [a 0; 0 d] through its determinant, so the steps are (1 / (a·d))·d and
        // (1 / (a·d))·a rather than 1 / a and 1 / d; the last bits matter where a position lands on a 1/128 boundary.
        double inverse = 1.0 / (a * d);
        double stepX = inverse * d;
        double stepY = inverse * a;

        _columnStart = new int[Width];
        _columnWeights = new int[Width * 4];
        // Positions are in libvips' expanded input, whose pixel 0 is two pixels in: the stencil's one pixel left and
        // up, plus the one-pixel border the affine adds. The source's first column is therefore at 2.
        double x = 0.0;
        x -= -1.0;
        x += 1.0;
        for (int column = 0; column < left + Width; column++)
        {
            if (column >= left && Sample(x, sourceWidth) is (int start, { } weights))
            {
                _columnStart[column - left] = start + Margin;
                weights.CopyTo(_columnWeights, (column - left) * 4);
            }
            x += stepX;
        }
        if (vectorised && bands == 3 && Ssse3.IsSupported)
        {
            _columnWeightPairs = new short[Width * 8];
            for (int i = 0; i < _columnWeights.Length; i++)
            {
                // Catmull-Rom weights lie within [-0.08, 1] × 4096: 16 bits hold them exactly.
                _columnWeightPairs[((i / 4) * 8) + (i % 4)] = (short)_columnWeights[i];
                _columnWeightPairs[((i / 4) * 8) + 4 + (i % 4)] = (short)_columnWeights[i];
            }
        }
        _outputRows = new (int, int[]?)[Height];
        for (int row = 0; row < Height; row++)
        {
            double y = stepY * (top + row);
            y -= -1.0;
            y += 1.0;
            (int start, int[]? weights) = Sample(y, sourceHeight);
            _outputRows[row] = (start + 3, weights);
        }
    }

    /// <summary>The width of what is kept (the crop, or the whole output).</summary>
    public int Width { get; }

    /// <summary>The height of what is kept.</summary>
    public int Height { get; }

    /// <summary>The kept pixels, complete once <see cref="Finish"/> has run.</summary>
    public byte[] Pixels { get; }

    /// <summary>Takes the next source row (top to bottom) and writes every output row that needs no later one.</summary>
    public void Accept(ReadOnlySpan<byte> row)
    {
        if (_received >= _sourceHeight)
        {
            throw new InvalidOperationException("More rows than the source has.");
        }
        row[..(_sourceWidth * _bands)].CopyTo(_rows[_received % 4].AsSpan(Margin * _bands));
        _received++;
        WriteReadyRows(_received - 1);
    }

    /// <summary>Writes the output rows whose stencil reaches below the source (those read black there).</summary>
    public void Finish()
    {
        if (_received != _sourceHeight)
        {
            throw new InvalidOperationException($"The source has {_sourceHeight} rows; {_received} arrived.");
        }
        WriteReadyRows(int.MaxValue);
    }

    /// <summary>
    /// The stencil's first source index (of four) and the weights for a position in the expanded input, or null
    /// weights where libvips paints the pixel black (its floor outside [1, size + 1]).
    /// </summary>
    private static (int Start, int[]? Weights) Sample(double position, int size)
    {
        int floor = (int)Math.Floor(position);
        if (floor < 1 || floor > size + 1)
        {
            return (0, null);
        }
        // Round the fraction to the nearest 1/64: truncate at 1/128, then halve rounding up.
        int fraction = ((((int)(position * PositionSteps * 2)) & ((PositionSteps * 2) - 1)) + 1) >> 1;
        // The stencil starts one pixel left of the sample's pixel; the expanded input starts two pixels early.
        return ((int)position - 1 - 2, Weights[fraction]);
    }

    private void WriteReadyRows(int lastReceived)
    {
        while (_nextOutputRow < Height && _outputRows[_nextOutputRow].LastRow <= lastReceived)
        {
            WriteRow(_nextOutputRow);
            _nextOutputRow++;
        }
    }

    private void WriteRow(int outputRow)
    {
        Span<byte> target = Pixels.AsSpan(outputRow * Width * _bands, Width * _bands);
        (int lastRow, int[]? rowWeights) = _outputRows[outputRow];
        if (rowWeights is null)
        {
            target.Clear();
            return;
        }
        Vertical(target, rowWeights, Filtered(lastRow - 3), Filtered(lastRow - 2), Filtered(lastRow - 1), Filtered(lastRow));
    }

    /// <summary>
    /// Source row <paramref name="index"/> filtered horizontally at every kept column (rounded, as libvips rounds it
    /// before the vertical pass). Consecutive output rows share up to three source rows, so each is filtered once and
    /// kept while a later output row may still read it: the rows an output row reads only ever move down.
    /// </summary>
    private int[] Filtered(int index)
    {
        if (index < 0 || index >= _sourceHeight)
        {
            return _blackFiltered;
        }
        int slot = index % 4;
        if (_filteredIndex[slot] != index)
        {
            Horizontal(_rows[slot], _filtered[slot]);
            _filteredIndex[slot] = index;
        }
        return _filtered[slot];
    }

    private unsafe void Horizontal(byte[] source, int[] filtered)
    {
        int bands = _bands;
        fixed (byte* row = source)
        fixed (int* weights = _columnWeights)
        fixed (int* starts = _columnStart)
        fixed (int* output = filtered)
        {
            if (_columnWeightPairs is not null)
            {
                HorizontalRgbVector(row, starts, output);
                return;
            }
            if (bands == 3)
            {
                // RGB, the common case, written out: no loop over the bands, no bounds checks, one weight row per column.
                for (int column = 0; column < Width; column++)
                {
                    int* c = weights + (column * 4);
                    byte* p = row + (starts[column] * 3);
                    int* o = output + (column * 3);
                    o[0] = ((c[0] * p[0]) + (c[1] * p[3]) + (c[2] * p[6]) + (c[3] * p[9]) + WeightRound) >> WeightShift;
                    o[1] = ((c[0] * p[1]) + (c[1] * p[4]) + (c[2] * p[7]) + (c[3] * p[10]) + WeightRound) >> WeightShift;
                    o[2] = ((c[0] * p[2]) + (c[1] * p[5]) + (c[2] * p[8]) + (c[3] * p[11]) + WeightRound) >> WeightShift;
                }
                return;
            }
            for (int column = 0; column < Width; column++)
            {
                int* c = weights + (column * 4);
                byte* p = row + (starts[column] * bands);
                for (int band = 0; band < bands; band++, p++)
                {
                    output[(column * bands) + band] = ((c[0] * p[0]) + (c[1] * p[bands]) + (c[2] * p[2 * bands]) + (c[3] * p[3 * bands]) + WeightRound) >> WeightShift;
                }
            }
        }
    }

    /// <summary>
    /// The RGB horizontal pass a column at a time in 128-bit registers, with the scalar pass's integer sums (exact, so
    /// the same pixels): the stencil's four pixels are spread into 16-bit R and G lanes and B lanes, multiplied by the
    /// weights and summed in pairs, and the pairs summed again into R, G, B.
    /// </summary>
    private unsafe void HorizontalRgbVector(byte* row, int* starts, int* output)
    {
        // Byte k of the stencil to 16-bit lane: R0 R1 R2 R3 G0 G1 G2 G3, then B0 B1 B2 B3; 0x80 gives zero.
        Vector128<byte> redGreen = Vector128.Create((byte)0, 0x80, 3, 0x80, 6, 0x80, 9, 0x80, 1, 0x80, 4, 0x80, 7, 0x80, 10, 0x80);
        Vector128<byte> blue = Vector128.Create((byte)2, 0x80, 5, 0x80, 8, 0x80, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80);
        Vector128<int> round = Vector128.Create(WeightRound);
        fixed (short* pairs = _columnWeightPairs)
        {
            for (int column = 0; column < Width; column++)
            {
                Vector128<byte> stencil = Sse2.LoadVector128(row + (starts[column] * 3));
                Vector128<short> weights = Sse2.LoadVector128(pairs + (column * 8));
                Vector128<int> redGreenSums = Sse2.MultiplyAddAdjacent(Ssse3.Shuffle(stencil, redGreen).AsInt16(), weights);
                Vector128<int> blueSums = Sse2.MultiplyAddAdjacent(Ssse3.Shuffle(stencil, blue).AsInt16(), weights);
                Vector128<int> rgb = Ssse3.HorizontalAdd(redGreenSums, blueSums);
                // Four values stored, the fourth (zero) overwritten by the next column or left in the slack.
                Sse2.Store(output + (column * 3), Sse2.ShiftRightArithmetic(Sse2.Add(rgb, round), WeightShift));
            }
        }
    }

    /// <summary>The vertical pass over four filtered rows, rounded and clamped to 8 bits, several values at a time.</summary>
    private static void Vertical(Span<byte> target, int[] weights, int[] row0, int[] row1, int[] row2, int[] row3)
    {
        int w0 = weights[0], w1 = weights[1], w2 = weights[2], w3 = weights[3];
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var v0 = new Vector<int>(w0);
            var v1 = new Vector<int>(w1);
            var v2 = new Vector<int>(w2);
            var v3 = new Vector<int>(w3);
            var round = new Vector<int>(WeightRound);
            var max = new Vector<int>(byte.MaxValue);
            int lanes = Vector<int>.Count;
            // Four vectors of ints narrow to one of bytes.
            for (; i + (4 * lanes) <= target.Length; i += 4 * lanes)
            {
                Vector<short> low = Vector.Narrow(Sum(i), Sum(i + lanes));
                Vector<short> high = Vector.Narrow(Sum(i + (2 * lanes)), Sum(i + (3 * lanes)));
                Vector.AsVectorByte(Vector.Narrow(low, high)).CopyTo(target[i..]);
            }

            Vector<int> Sum(int at)
            {
                Vector<int> sum = (v0 * new Vector<int>(row0.AsSpan(at))) + (v1 * new Vector<int>(row1.AsSpan(at)))
                    + (v2 * new Vector<int>(row2.AsSpan(at))) + (v3 * new Vector<int>(row3.AsSpan(at))) + round;
                return Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(sum, WeightShift), Vector<int>.Zero), max);
            }
        }
        for (; i < target.Length; i++)
        {
            int value = ((w0 * row0[i]) + (w1 * row1[i]) + (w2 * row2[i]) + (w3 * row3[i]) + WeightRound) >> WeightShift;
            target[i] = (byte)Math.Clamp(value, 0, 255);
        }
    }

    /// <summary>Catmull-Rom weights at the 65 positions 0, 1/64 … 1, computed as libvips does and truncated to 1/4096.</summary>
    private static int[][] BuildWeights()
    {
        var table = new int[PositionSteps + 1][];
        for (int step = 0; step <= PositionSteps; step++)
        {
            double x = (float)step / PositionSteps;
            // The same operations in the same order as libvips, so that every rounding matches.
            double cr1 = 1.0 - x;
            double cr2 = -0.5 * x;
            double cr3 = cr1 * cr2;
            double cone = cr1 * cr3;
            double cfou = x * cr3;
            double cr4 = cfou - cone;
            double ctwo = cr1 - cone + cr4;
            double cthr = x - cfou - cr4;
            table[step] = [(int)(cone * (1 << WeightShift)), (int)(ctwo * (1 << WeightShift)), (int)(cthr * (1 << WeightShift)), (int)(cfou * (1 << WeightShift))];
        }
        return table;
    }
}
