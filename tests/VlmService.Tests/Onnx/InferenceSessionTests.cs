using VlmService.Onnx;

namespace VlmService.Tests.Onnx;

[Collection(ModelFoldersCollection.Name)]
public sealed class InferenceSessionTests(ModelFolders models)
{
    private static readonly SessionSettings Cpu = new() { Provider = ExecutionProviderKind.Cpu, IntraOpThreads = 1 };

    [Fact]
    public void Session_reports_names_element_types_and_symbolic_dimensions()
    {
        using var session = InferenceSession.Open(Path.Combine(models.Clip, "onnx", "model.onnx"), Cpu);
        TensorInfo ids = session.Input("input_ids");
        Assert.Equal(TensorElementType.Int64, ids.ElementType);
        Assert.Equal(["text_batch_size", "sequence_length"], ids.SymbolicDimensions);
        Assert.Equal([-1L, -1L], ids.Dimensions);
        TensorInfo pixels = session.Input("pixel_values");
        Assert.Equal(TensorElementType.Float, pixels.ElementType);
        Assert.Equal("image_batch_size", pixels.SymbolicDimensions[0]);
        Assert.Equal(["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"], session.Outputs.Select(o => o.Name));
        Assert.Equal(ExecutionProviders.Cpu, session.Provider);
    }

    [Fact]
    public void Run_returns_outputs_with_their_shapes_and_is_deterministic()
    {
        using var session = InferenceSession.Open(Path.Combine(models.Clip, "onnx", "text_model.onnx"), Cpu);
        long[] ids = [49406, 320, 1125, 539, 320, 2368, 49407, 49406, 2368, 49407, 49407, 49407, 49407, 49407];
        long[] mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0];
        KeyValuePair<string, ITensor>[] inputs =
        [
            new("input_ids", new Tensor<long>(ids, 2, 7)),
            new("attention_mask", new Tensor<long>(mask, 2, 7)),
        ];
        var first = (Tensor<float>)session.Run(inputs, ["text_embeds"])["text_embeds"];
        var second = (Tensor<float>)session.Run(inputs, ["text_embeds"])["text_embeds"];
        Assert.Equal([2L, 24L], first.Shape);
        Assert.Equal(first.Data, second.Data);
        Assert.NotEqual(first.Row(0), first.Row(1));
    }

    [Fact]
    public void Sessions_on_the_shared_pool_run_concurrently_and_equal_a_session_with_its_own_thread()
    {
        string path = Path.Combine(models.Clip, "onnx", "vision_model.onnx");
        using var shared = InferenceSession.Open(path, new SessionSettings { Provider = ExecutionProviderKind.Cpu });
        using var own = InferenceSession.Open(path, Cpu);
        Assert.InRange(InferenceSession.SharedThreads, 1, Environment.ProcessorCount);
        Assert.False(InferenceSession.ConfigureSharedThreads(InferenceSession.SharedThreads + 1));
        var random = new Random(3);
        float[] pixels = Enumerable.Range(0, 2 * 3 * 224 * 224).Select(_ => (float)random.NextDouble()).ToArray();
        KeyValuePair<string, ITensor>[] inputs = [new("pixel_values", new Tensor<float>(pixels, 2, 3, 224, 224))];
        float[] expected = ((Tensor<float>)own.Run(inputs, ["image_embeds"])["image_embeds"]).Data;
        float[][] results = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4)
            .Select(_ => ((Tensor<float>)shared.Run(inputs, ["image_embeds"])["image_embeds"]).Data).ToArray();
        Assert.All(results, r => Assert.Equal(expected, r, (a, b) => Math.Abs(a - b) < 1e-5f));
    }

    [Fact]
    public void Outputs_can_be_written_straight_into_caller_buffers()
    {
        using var session = InferenceSession.Open(Path.Combine(models.Clip, "onnx", "text_model.onnx"), Cpu);
        KeyValuePair<string, ITensor>[] inputs =
        [
            new("input_ids", new Tensor<long>([49406, 320, 2368, 49407], 1, 4)),
            new("attention_mask", new Tensor<long>([1, 1, 1, 1], 1, 4)),
        ];
        var expected = (Tensor<float>)session.Run(inputs, ["text_embeds"])["text_embeds"];
        var buffer = new Tensor<float>(new float[24], 1, 24);
        ITensor written = session.Run(inputs, ["text_embeds"], [buffer])["text_embeds"];
        Assert.Same(buffer, written);
        Assert.Equal(expected.Data, buffer.Data);
        Assert.Contains(buffer.Data, v => v != 0);
    }

    [Fact]
    public void Tensors_over_the_front_of_larger_arrays_read_and_write_only_that_front_also_with_arena_shrinking()
    {
        string path = Path.Combine(models.Clip, "onnx", "text_model.onnx");
        using var session = InferenceSession.Open(path, Cpu);

        KeyValuePair<string, ITensor>[] exact =
        [
            new("input_ids", new Tensor<long>([49406, 320, 2368, 49407], 1, 4)),
            new("attention_mask", new Tensor<long>([1, 1, 1, 1], 1, 4)),
        ];
        KeyValuePair<string, ITensor>[] prefixed =
        [
            new("input_ids", Tensor.OverPrefix<long>([49406, 320, 2368, 49407, 99999, 99999], 1, 4)),
            new("attention_mask", Tensor.OverPrefix<long>([1, 1, 1, 1, 7, 7], 1, 4)),
        ];
        float[] expected = ((Tensor<float>)session.Run(exact, ["text_embeds"])["text_embeds"]).Data;
        float[] larger = Enumerable.Repeat(float.NaN, 30).ToArray();
        session.Run(prefixed, ["text_embeds"], [Tensor.OverPrefix(larger, 1, 24)], shrinkCpuArena: true, CancellationToken.None);
        Assert.Equal(expected, larger.Take(24));
        Assert.All(larger.Skip(24), v => Assert.True(float.IsNaN(v)));
        Assert.Throws<ArgumentException>(() => Tensor.OverPrefix(new float[23], 1, 24));
    }

    [Fact]
    public void Without_the_memory_pattern_runs_of_changing_shapes_give_the_same_outputs()
    {
        string path = Path.Combine(models.Clip, "onnx", "text_model.onnx");
        using var planned = InferenceSession.Open(path, Cpu);
        using var unplanned = InferenceSession.Open(path, Cpu with { MemoryPattern = false });
        foreach (long[] ids in new[] { new long[] { 49406, 320, 49407 }, [49406, 320, 2368, 539, 49407], [49406, 49407] })
        {
            KeyValuePair<string, ITensor>[] inputs =
            [
                new("input_ids", new Tensor<long>(ids, 1, ids.Length)),
                new("attention_mask", new Tensor<long>(Enumerable.Repeat(1L, ids.Length).ToArray(), 1, ids.Length)),
            ];
            float[] expected = ((Tensor<float>)planned.Run(inputs, ["text_embeds"])["text_embeds"]).Data;
            Assert.Equal(expected, ((Tensor<float>)unplanned.Run(inputs, ["text_embeds"])["text_embeds"]).Data);
            Assert.Contains(expected, v => v != 0);
        }
    }

    [Fact]
    public void A_cancelled_run_throws_operation_cancelled_and_the_session_keeps_working()
    {
        using var session = InferenceSession.Open(Path.Combine(models.Siglip, "onnx", "vision_model.onnx"), Cpu);
        KeyValuePair<string, ITensor>[] inputs = [new("pixel_values", new Tensor<float>(new float[3 * 224 * 224], 1, 3, 224, 224))];
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => session.Run(inputs, ["pooler_output"], cancelled.Token));
        Assert.Equal([1L, 32L], session.Run(inputs, ["pooler_output"])["pooler_output"].Shape);
    }

    [Fact]
    public void Bad_inputs_are_reported_as_ort_errors_not_crashes()
    {
        using var session = InferenceSession.Open(Path.Combine(models.Siglip, "onnx", "vision_model.onnx"), Cpu);
        KeyValuePair<string, ITensor>[] wrongRank = [new("pixel_values", new Tensor<float>(new float[12], 3, 4))];
        Assert.Throws<OrtException>(() => session.Run(wrongRank, ["pooler_output"]));
        Assert.Throws<FileNotFoundException>(() => InferenceSession.Open(Path.Combine(models.Root, "missing.onnx"), Cpu));
    }

    [Fact]
    public void Cuda_is_used_when_it_registers_and_otherwise_auto_falls_back_to_cpu_with_the_reason()
    {
        // Exercises CreateCUDAProviderOptions, UpdateCUDAProviderOptions, SessionOptionsAppendExecutionProvider_CUDA_V2
        // and ReleaseCUDAProviderOptions: on a machine without CUDA libraries they must answer with a status, not crash.
        string? reason = ExecutionProviders.CudaUnavailableReason(0);
        string path = Path.Combine(models.Siglip, "onnx", "text_model.onnx");
        using var auto = InferenceSession.Open(path, Cpu with { Provider = ExecutionProviderKind.Auto });
        if (reason is null)
        {
            Assert.Equal(ExecutionProviders.Cuda, auto.Provider);
            return;
        }
        Assert.Equal(ExecutionProviders.Cpu, auto.Provider);
        Assert.DoesNotContain("DefaultLogger", reason, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(auto.ProviderFallbackReason));
        Assert.Throws<OrtException>(() => InferenceSession.Open(path, Cpu with { Provider = ExecutionProviderKind.Cuda }));
    }
}

public sealed class TensorTypeTests
{
    [Fact]
    public void Float16_bool_int64_and_float32_tensors_round_trip_through_a_session()
    {
        var graph = new VlmService.ModelKit.Onnx.GraphBuilder("types");
        string half = graph.Input("half", VlmService.ModelKit.Onnx.DataType.Float16, 3);
        string flags = graph.Input("flags", VlmService.ModelKit.Onnx.DataType.Bool, 3);
        string counts = graph.Input("counts", VlmService.ModelKit.Onnx.DataType.Int64, 3);
        graph.Output(graph.Node("Add", [half, half]), "half_doubled", VlmService.ModelKit.Onnx.DataType.Float16, 3);
        graph.Output(graph.Node("Cast", [flags], ("to", 1L)), "flags_as_float", VlmService.ModelKit.Onnx.DataType.Float, 3);
        graph.Output(graph.Node("Not", [flags]), "flags_negated", VlmService.ModelKit.Onnx.DataType.Bool, 3);
        graph.Output(graph.Node("Mul", [counts, counts]), "counts_squared", VlmService.ModelKit.Onnx.DataType.Int64, 3);
        string path = Path.Combine(Path.GetTempPath(), $"vlm-types-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, graph.Serialize());
        try
        {
            using var session = InferenceSession.Open(path, new SessionSettings { Provider = ExecutionProviderKind.Cpu, IntraOpThreads = 1 });
            Assert.Equal(TensorElementType.Float16, session.Input("half").ElementType);
            Assert.Equal(TensorElementType.Bool, session.Input("flags").ElementType);
            var outputs = session.Run(
            [
                new("half", new Tensor<Half>([(Half)0.5f, (Half)(-1.25f), (Half)1000f], 3)),
                new("flags", new Tensor<bool>([true, false, true], 3)),
                new("counts", new Tensor<long>([3, -4, 5_000_000_000], 3)),
            ], ["half_doubled", "flags_as_float", "flags_negated", "counts_squared"]);
            Assert.Equal([(Half)1f, (Half)(-2.5f), (Half)2000f], ((Tensor<Half>)outputs["half_doubled"]).Data);
            Assert.Equal([1f, 0f, 1f], ((Tensor<float>)outputs["flags_as_float"]).Data);
            Assert.Equal([false, true, false], ((Tensor<bool>)outputs["flags_negated"]).Data);
            Assert.Equal([9L, 16L, unchecked(5_000_000_000L * 5_000_000_000L)], ((Tensor<long>)outputs["counts_squared"]).Data);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
