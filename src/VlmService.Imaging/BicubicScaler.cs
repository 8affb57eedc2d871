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

    private static readonly int[][] Weights = BuildWeights();

    private readonly int _sourceWidth;
    private readonly int _sourceHeight;
    private readonly int _bands;
    private readonly byte[][] _rows;
    private readonly byte[] _blackRow;
    private readonly int[] _columnStart;
    private readonly int[]?[] _columnWeights;
    private readonly (int LastRow, int[]? Weights)[] _outputRows;
    private int _received;
    private int _nextOutputRow;

    /// <summary>
    /// Scales to <paramref name="width"/>×<paramref name="height"/> as libvips' affine with the scales width / sourceWidth
    /// and height / sourceHeight. With <paramref name="centerCrop"/>, only that center crop of the output (as
    /// <see cref="Resampler.CenterCrop"/> cuts it) is computed and kept; a crop larger than the output is ignored,
    /// left to the caller.
    /// </summary>
    public BicubicScaler(int sourceWidth, int sourceHeight, int bands, int width, int height, (int Width, int Height)? centerCrop = null)
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
        int rowLength = (sourceWidth + (2 * Margin)) * bands;
        _rows = [new byte[rowLength], new byte[rowLength], new byte[rowLength], new byte[rowLength]];
        _blackRow = new byte[rowLength];
        Pixels = new byte[Width * Height * bands];

        // libvips inverts the matrix [a 0; 0 d] through its determinant, so the steps are (1 / (a·d))·d and
        // (1 / (a·d))·a rather than 1 / a and 1 / d; the last bits matter where a position lands on a 1/128 boundary.
        double inverse = 1.0 / (a * d);
        double stepX = inverse * d;
        double stepY = inverse * a;

        _columnStart = new int[Width];
        _columnWeights = new int[]?[Width];
        // Positions are in libvips' expanded input, whose pixel 0 is two pixels in: the stencil's one pixel left and
        // up, plus the one-pixel border the affine adds. The source's first column is therefore at 2.
        double x = 0.0;
        x -= -1.0;
        x += 1.0;
        for (int column = 0; column < left + Width; column++)
        {
            if (column >= left)
            {
                (_columnStart[column - left], _columnWeights[column - left]) = Sample(x, sourceWidth);
            }
            x += stepX;
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

    private unsafe void WriteRow(int outputRow)
    {
        Span<byte> target = Pixels.AsSpan(outputRow * Width * _bands, Width * _bands);
        (int lastRow, int[]? rowWeights) = _outputRows[outputRow];
        if (rowWeights is null)
        {
            target.Clear();
            return;
        }
        int w0 = rowWeights[0], w1 = rowWeights[1], w2 = rowWeights[2], w3 = rowWeights[3];
        int bands = _bands;
        fixed (byte* output = target, row0 = SourceRow(lastRow - 3), row1 = SourceRow(lastRow - 2), row2 = SourceRow(lastRow - 1), row3 = SourceRow(lastRow))
        {
            for (int column = 0; column < Width; column++)
            {
                byte* pixel = output + (column * bands);
                if (_columnWeights[column] is not { } c)
                {
                    new Span<byte>(pixel, bands).Clear();
                    continue;
                }
                int c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
                int first = (_columnStart[column] + Margin) * bands;
                for (int band = 0; band < bands; band++)
                {
                    int at = first + band;
                    int h0 = Horizontal(row0 + at, bands, c0, c1, c2, c3);
                    int h1 = Horizontal(row1 + at, bands, c0, c1, c2, c3);
                    int h2 = Horizontal(row2 + at, bands, c0, c1, c2, c3);
                    int h3 = Horizontal(row3 + at, bands, c0, c1, c2, c3);
                    int value = ((w0 * h0) + (w1 * h1) + (w2 * h2) + (w3 * h3) + WeightRound) >> WeightShift;
                    pixel[band] = (byte)Math.Clamp(value, 0, 255);
                }
            }
        }
    }

    private static unsafe int Horizontal(byte* p, int bands, int c0, int c1, int c2, int c3) =>
        ((c0 * p[0]) + (c1 * p[bands]) + (c2 * p[2 * bands]) + (c3 * p[3 * bands]) + WeightRound) >> WeightShift;

    /// <summary>A stored source row with its margins, or black above and below the source.</summary>
    private byte[] SourceRow(int index) =>
        index < 0 || index >= _sourceHeight ? _blackRow : _rows[index % 4];

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
