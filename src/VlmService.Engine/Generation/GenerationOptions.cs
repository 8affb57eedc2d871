namespace VlmService.Engine.Generation;

/// <summary>Defaults and limits for /caption, /vqa and describe-then-classify.</summary>
public sealed record GenerationOptions
{
    public const string Section = "Generation";

    /// <summary>The instruction /caption sends when the request has no prompt.</summary>
    public string DefaultCaptionPrompt { get; set; } = "Describe this image in one sentence.";

    /// <summary>Per-model caption instructions, by model id, overriding <see cref="DefaultCaptionPrompt"/>.</summary>
    public Dictionary<string, string> CaptionPrompts { get; set; } = [];

    /// <summary>The instruction describe-then-classify uses to get the description.</summary>
    public string DescribePrompt { get; set; } = "Describe this image in detail.";

    public int DefaultMaxTokens { get; set; } = 64;

    public int MaxTokensLimit { get; set; } = 1024;

    /// <summary>Sequences decoded together per model in one batch; more wait to join.</summary>
    public int MaxConcurrentSequences { get; set; } = 16;

    /// <summary>Sequences waiting to join a model's batch before new requests get 503.</summary>
    public int MaxWaitingSequences { get; set; } = 64;

    /// <summary>
    /// KV-cache bytes per model that admitted sequences may reserve (prompt + max_tokens each); a sequence that
    /// does not fit waits, one that could never fit gets 422.
    /// </summary>
    public long MaxKvCacheBytes { get; set; } = 4L << 30;

    /// <summary>Prompt tokens per prefill pass; between passes the running batch decodes a token.</summary>
    public int PrefillChunkTokens { get; set; } = 512;

    /// <summary>
    /// How long the running batch may pause, between two of its steps, while requests for the same model are still
    /// having their images encoded and the batch is narrower than <see cref="JoinWaitUntilWidth"/>. On a CPU the
    /// vision encoder and the decoder share the cores, and a decode step for 8 sequences costs about twice one for a
    /// single sequence (the weights are read once per step): pausing lets the encoder finish the joiners sooner and
    /// the batch then decodes them together, for more tokens/s under load at the price of inter-token latency while
    /// images arrive. Zero never pauses.
    /// </summary>
    public TimeSpan MaxJoinWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The batch pauses for joiners (<see cref="MaxJoinWait"/>) only while fewer sequences than this are decoding,
    /// prefilling or waiting to join; 0 means <see cref="MaxConcurrentSequences"/>. Most of the width's gain comes
    /// early (a step's fixed cost is shared by all its rows) while each row holds a full-length KV cache and every
    /// pause holds back the tokens of the running sequences, so a middle width buys most of the tokens/s for a
    /// fraction of the memory and of the pauses: 10 decoded 8 sequences a step under 16 /vqa clients on two cores,
    /// against 5.6 at 6, for about 40 MiB more (bench/README.md).
    /// </summary>
    public int JoinWaitUntilWidth { get; set; } = 10;

    /// <summary>
    /// Where decoding keeps KV caches. Null (the default): in the decoder's device memory when it runs on CUDA, so a
    /// cache never crosses to the host between steps (a copy in and out of the whole cache per step otherwise), and on
    /// the C heap on CPU. False: on the host always, leaving the GPU's memory to the weights and activations. True: in
    /// memory from the decoder's ONNX Runtime allocator on CPU too, which runs the GPU's path on a CPU.
    /// </summary>
    public bool? KvCacheOnDevice { get; set; }

    /// <summary>
    /// Views (512² tiles for SmolVLM, one 336² image for LLaVA) a vision-encoder run may hold and still leave ONNX
    /// Runtime's CPU arena at its size afterwards; a run of more views gives back what the arena grew. 0 (default) gives
    /// it back after every run, so nothing stays resident between requests. 1 keeps a SmolVLM view's activations (about
    /// 120 MB per model, resident between requests too), which spares every run faulting them in afresh: served /vqa
    /// ran 1.17 times as fast under load on a virtual machine, where each 4 KB fault costs about 12 µs (bench/README.md).
    /// </summary>
    public int VisionArenaKeptViews { get; set; } = DefaultVisionArenaKeptViews;

    public const int DefaultVisionArenaKeptViews = 0;

    /// <summary>Bytes of vision features kept for follow-up questions about the same image; 0 turns the cache off.</summary>
    public long VisionFeatureCacheBytes { get; set; } = 256L << 20;

    public string CaptionPromptFor(string modelId) => CaptionPrompts.GetValueOrDefault(modelId) ?? DefaultCaptionPrompt;
}
