using System.Diagnostics;
using System.Globalization;
using VlmService.Engine;
using VlmService.Engine.Generation;
using VlmService.Imaging;
using VlmService.Onnx;

namespace VlmService.Bench;

/// <summary>
/// The CUDA path against the CPU on the same folders, in one process, for a machine with an NVIDIA GPU:
/// CUDA registers; a CLIP or SigLIP vision model (--clip) gives the CPU's embeddings at several batch sizes; a
/// generative model (--generative) encodes the image as the CPU does, keeps its KV caches in GPU memory, and chooses
/// the same greedy tokens with them as with caches on the host, before and after rows leave the batch; and how fast
/// each runs on both. Every check prints one line; the exit code is 1 when any failed.
/// </summary>
internal static class GpuCheck
{
    /// <summary>
    /// CPU and GPU sum in different orders (and CUDA may use TF32 for matrix products), so outputs agree closely, not
    /// bit for bit; a wrong kernel, layout or row gives a cosine far below this.
    /// </summary>
    private const double MinCosine = 0.999;

    public static int Run(BenchOptions options)
    {
        int device = RawBaseline.Settings.CudaDeviceId; // --cuda-device, read with --provider
        Console.WriteLine($"gpu-check providers={string.Join(',', ExecutionProviders.Available())}");
        // --rehearse true runs every comparison with the CPU on both sides and the caches in ONNX Runtime's allocator
        // (the GPU's code path on the host): a try of the check itself where there is no GPU. Its provider checks fail.
        bool rehearse = options.Text("rehearse", "false") == "true";
        if (!rehearse && ExecutionProviders.CudaUnavailableReason(device) is { } reason)
        {
            Console.WriteLine($"gpu-check FAIL cuda does not register: {reason}");
            return 1;
        }
        var cpu = new SessionSettings { Provider = ExecutionProviderKind.Cpu };
        var cuda = rehearse ? cpu : new SessionSettings { Provider = ExecutionProviderKind.Cuda, CudaDeviceId = device };
        byte[] jpeg = File.ReadAllBytes(options.Required("image"));
        bool passed = true;
        if (options.Optional("clip") is { } clip)
        {
            passed &= CheckEmbeddings(clip, jpeg, cpu, cuda, options.Text("batches", "1,8,32"));
        }
        if (options.Optional("generative") is { } generative)
        {
            passed &= CheckGeneration(generative, options.Required("image"), cpu, cuda, rehearse, options.Int("width", 4), options.Int("max-tokens", 32));
        }
        Console.WriteLine($"gpu-check {(passed ? "PASS" : "FAIL")}");
        return passed ? 0 : 1;
    }

    private static bool CheckEmbeddings(string folder, byte[] jpeg, SessionSettings cpu, SessionSettings cuda, string batches)
    {
        var processor = ClipFolder.ImageProcessor(folder);
        float[] pixels = processor.Process(ImageDecoder.Decode(jpeg, ImageLimits.Default));
        using InferenceSession onCpu = ClipFolder.OpenVision(folder, cpu);
        using InferenceSession onGpu = ClipFolder.OpenVision(folder, cuda);
        bool passed = Report("clip provider", onGpu.Provider == ExecutionProviders.Cuda, $"session runs on {onGpu.Provider}");
        string output = ClipFolder.VisionOutput(onGpu);
        foreach (int batch in batches.Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)))
        {
            // Each row a different image (the photo shifted by a few pixels per row), so rows that were mixed up or
            // read from the wrong place would not agree.
            KeyValuePair<string, ITensor>[] inputs = [new("pixel_values", new Tensor<float>(ShiftedRows(pixels, batch), batch, 3, processor.OutputSize.Height, processor.OutputSize.Width))];
            float[] expected = Output(onCpu, inputs, output);
            float[] actual = Output(onGpu, inputs, output);
            double cosine = MinRowCosine(expected, actual, batch);
            double gpuMs = MedianMs(() => onGpu.Run(inputs, [output]), runs: 20);
            double cpuMs = MedianMs(() => onCpu.Run(inputs, [output]), runs: 3);
            passed &= Report($"clip batch={batch}", cosine >= MinCosine, string.Create(CultureInfo.InvariantCulture,
                $"min row cosine {cosine:F6}, max |diff| {MaxDifference(expected, actual):G3}; gpu {gpuMs:F2} ms ({batch * 1000 / gpuMs:F0} images/s), cpu {cpuMs:F1} ms ({batch * 1000 / cpuMs:F1} images/s)"));
        }
        return passed;
    }

    private static bool CheckGeneration(string folder, string imagePath, SessionSettings cpu, SessionSettings cuda, bool rehearse, int width, int maxTokens)
    {
        using var models = new GenerativeBenchModels();
        GenerativeModel onCpu = models.Load(folder, cacheOnDevice: false, settings: cpu);
        GenerativeModel onGpu = models.Load(folder, cacheOnDevice: rehearse ? true : null, settings: cuda);
        GenerativeModel onGpuHostCache = models.Load(folder, cacheOnDevice: false, settings: cuda);
        string cacheMemory = onGpu.Sessions.CacheMemory ?? "the host";
        bool passed = Report("generative provider", onGpu.Sessions.Provider == ExecutionProviders.Cuda && cacheMemory.StartsWith("Cuda", StringComparison.Ordinal),
            $"decoder on {onGpu.Sessions.Provider}, KV caches in {cacheMemory}");

        (ProcessedImage image, int[] ids) = GenerativeBenchModels.Prompt(onCpu, imagePath, split: false);
        float[] cpuFeatures = onCpu.Sessions.EncodeImages([image], CancellationToken.None)[0];
        float[] gpuFeatures = onGpu.Sessions.EncodeImages([image], CancellationToken.None)[0];
        double visionGpuMs = MedianMs(() => onGpu.Sessions.EncodeImages([image], CancellationToken.None), runs: 10);
        double visionCosine = Vectors.Cosine(cpuFeatures, gpuFeatures);
        passed &= Report("vision features", visionCosine >= MinCosine, string.Create(CultureInfo.InvariantCulture,
            $"cosine {visionCosine:F6}, max |diff| {MaxDifference(cpuFeatures, gpuFeatures):G3}; gpu {visionGpuMs:F1} ms per image"));

        // Both GPU batches start from the same features, so the only difference between them is where the caches live.
        using var deviceBatch = new DecodingBatch(onGpu, ids, gpuFeatures, width);
        using var hostBatch = new DecodingBatch(onGpuHostCache, ids, gpuFeatures, width);
        using var cpuBatch = new DecodingBatch(onCpu, ids, cpuFeatures, width);
        int half = maxTokens / 2;
        var agreement = new TokenAgreement();
        double deviceMs = 0;
        double hostMs = 0;
        for (int step = 1; step < maxTokens; step++)
        {
            if (step == half && width > 1)
            {
                // Every other row leaves; the rest move into a narrower batch.
                int[] kept = Enumerable.Range(0, width).Where(r => r % 2 == 0).ToArray();
                deviceBatch.Keep(kept);
                hostBatch.Keep(kept);
                cpuBatch.Keep(kept);
            }
            deviceMs += deviceBatch.Step().TotalMilliseconds;
            hostMs += hostBatch.Step().TotalMilliseconds;
            cpuBatch.Step();
            agreement.Add(deviceBatch.Tokens, hostBatch.Tokens, cpuBatch.Tokens);
        }
        int steps = maxTokens - 1;
        passed &= Report("kv on device", agreement.DeviceEqualsHost == steps, string.Create(CultureInfo.InvariantCulture,
            $"{agreement.DeviceEqualsHost}/{steps} steps chose the same tokens with caches in GPU memory as on the host (width {width}, half the rows leaving at step {half}); " +
            $"{deviceMs / steps:F2} against {hostMs / steps:F2} ms per step"));
        // Not a pass/fail check: a random-weight model's logits can be close enough that rounding picks another token.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gpu-check info gpu against cpu: the same tokens at {agreement.GpuEqualsCpu}/{steps} steps; first step that differs: {agreement.FirstCpuDifference?.ToString(CultureInfo.InvariantCulture) ?? "none"}"));
        return passed;
    }

    private sealed class TokenAgreement
    {
        private int _step;

        public int DeviceEqualsHost { get; private set; }

        public int GpuEqualsCpu { get; private set; }

        public int? FirstCpuDifference { get; private set; }

        public void Add(IReadOnlyList<long> device, IReadOnlyList<long> host, IReadOnlyList<long> cpu)
        {
            _step++;
            DeviceEqualsHost += device.SequenceEqual(host) ? 1 : 0;
            if (device.SequenceEqual(cpu))
            {
                GpuEqualsCpu++;
            }
            else
            {
                FirstCpuDifference ??= _step;
            }
        }
    }

    private static bool Report(string check, bool passed, string detail)
    {
        Console.WriteLine($"gpu-check {(passed ? "ok  " : "FAIL")} {check}: {detail}");
        return passed;
    }

    private static float[] Output(InferenceSession session, KeyValuePair<string, ITensor>[] inputs, string output) =>
        ((Tensor<float>)session.Run(inputs, [output])[output]).Data;

    private static float[] ShiftedRows(float[] pixels, int batch)
    {
        var rows = new float[batch * pixels.Length];
        for (int b = 0; b < batch; b++)
        {
            int shift = 3 * b;
            pixels.AsSpan(shift).CopyTo(rows.AsSpan(b * pixels.Length));
            pixels.AsSpan(0, shift).CopyTo(rows.AsSpan((b * pixels.Length) + pixels.Length - shift));
        }
        return rows;
    }

    private static double MedianMs(Action run, int runs)
    {
        run();
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return times[runs / 2];
    }

    private static double MinRowCosine(float[] expected, float[] actual, int rows)
    {
        int width = expected.Length / rows;
        return Enumerable.Range(0, rows).Min(r => Vectors.Cosine(expected.AsSpan(r * width, width), actual.AsSpan(r * width, width)));
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
}
