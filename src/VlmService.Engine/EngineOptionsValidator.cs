using Microsoft.Extensions.Options;
using VlmService.Engine.Batching;
using VlmService.Engine.Models;

namespace VlmService.Engine;

/// <summary>Refuses a bad configuration at start, naming the setting, instead of failing on the first request.</summary>
internal sealed class EngineOptionsValidator : IValidateOptions<ModelsOptions>, IValidateOptions<BatchingOptions>, IValidateOptions<ImageOptions>,
    IValidateOptions<Generation.GenerationOptions>, IValidateOptions<Memory.MemoryOptions>
{
    public ValidateOptionsResult Validate(string? name, Generation.GenerationOptions options)
    {
        var errors = new List<string>();
        if (options.MaxConcurrentSequences < 1 || options.MaxWaitingSequences < 1)
        {
            errors.Add("Generation:MaxConcurrentSequences and Generation:MaxWaitingSequences must be at least 1.");
        }
        if (options.MaxTokensLimit < 1 || options.DefaultMaxTokens < 1 || options.DefaultMaxTokens > options.MaxTokensLimit)
        {
            errors.Add("Generation:DefaultMaxTokens must be between 1 and Generation:MaxTokensLimit.");
        }
        if (options.MaxKvCacheBytes < 1)
        {
            errors.Add("Generation:MaxKvCacheBytes must be positive.");
        }
        if (options.PrefillChunkTokens < 16)
        {
            errors.Add("Generation:PrefillChunkTokens must be at least 16.");
        }
        if (options.MaxJoinWait < TimeSpan.Zero)
        {
            errors.Add("Generation:MaxJoinWait must be zero (never pause) or more.");
        }
        if (options.VisionArenaKeptViews < 0)
        {
            errors.Add("Generation:VisionArenaKeptViews must be 0 (give the arena back after every run) or more.");
        }
        if (options.JoinWaitUntilWidth < 0)
        {
            errors.Add("Generation:JoinWaitUntilWidth must be 0 (Generation:MaxConcurrentSequences) or more.");
        }
        if (options.VisionFeatureCacheBytes < 0)
        {
            errors.Add("Generation:VisionFeatureCacheBytes must be 0 (off) or more.");
        }
        if (string.IsNullOrWhiteSpace(options.DefaultCaptionPrompt) || string.IsNullOrWhiteSpace(options.DescribePrompt))
        {
            errors.Add("Generation:DefaultCaptionPrompt and Generation:DescribePrompt must not be empty.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, ModelsOptions options)
    {
        var errors = new List<string>();
        if (options.Root is { } root && !Directory.Exists(root))
        {
            errors.Add($"Models:Root '{root}' is not a directory.");
        }
        if (options.IntraOpThreads < 0)
        {
            errors.Add("Models:IntraOpThreads must be 0 (automatic) or more.");
        }
        if (options.LabelCacheEntries < 1)
        {
            errors.Add("Models:LabelCacheEntries must be at least 1.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, BatchingOptions options)
    {
        var errors = new List<string>();
        if (options.MaxBatchSize is < 1 or > 1024)
        {
            errors.Add("Batching:MaxBatchSize must be between 1 and 1024.");
        }
        if (options.MaxVisionBatchSize < 0)
        {
            errors.Add("Batching:MaxVisionBatchSize must be 0 (automatic) or more.");
        }
        if (options.MaxEncoderBatchSize < 0)
        {
            errors.Add("Batching:MaxEncoderBatchSize must be 0 (automatic) or more.");
        }
        if (options.EncoderLanes is < 1 or > 64)
        {
            errors.Add("Batching:EncoderLanes must be between 1 and 64.");
        }
        if (options.MaxQueueDelay < TimeSpan.Zero || options.MaxQueueDelay > TimeSpan.FromSeconds(10))
        {
            errors.Add("Batching:MaxQueueDelay must be between 0 and 10 seconds.");
        }
        if (options.QueueCapacity < options.MaxBatchSize)
        {
            errors.Add("Batching:QueueCapacity must be at least Batching:MaxBatchSize.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, ImageOptions options)
    {
        var errors = new List<string>();
        if (options.MaxPixels < 1 || options.MaxSide < 1)
        {
            errors.Add("Images:MaxPixels and Images:MaxSide must be positive.");
        }
        if (options.JpegShrinkMargin is < 0 or > 8)
        {
            errors.Add("Images:JpegShrinkMargin must be between 0 (off) and 8.");
        }
        if (options.MaxConcurrentDecodes < 1)
        {
            errors.Add("Images:MaxConcurrentDecodes must be at least 1.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, Memory.MemoryOptions options) =>
        options.TrimInterval < TimeSpan.Zero
            ? ValidateOptionsResult.Fail("Memory:TrimInterval must be zero (off) or more.")
            : ValidateOptionsResult.Success;
}
